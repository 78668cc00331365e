// The codec of the id list and user namespace parts of the state record (their layout:
// contract/engine.json, records.state.groups and records.userns). Offsets in 32-bit words.
import {
  NS,
  NS_EXTENTS_MAX,
  NS_LEVELS_MAX,
  NSF_SETGROUPS_DENY,
  GROUPS_MAX,
  USERNS_SIZE,
  ID_UNMAPPED,
} from "./contract.js";
import { sameNamespace, type IdExtent, type UserNamespace } from "../userns.js";

const NS_WORDS = USERNS_SIZE >>> 2;

/** A count, then up to GROUPS_MAX ids. Keeps `prev` when nothing changed. */
export function readIds(w: Uint32Array, at: number, prev?: readonly number[]): readonly number[] {
  const n = Math.min(w[at]!, GROUPS_MAX);
  if (prev && prev.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) if (prev[i] !== w[at + 1 + i]) same = false;
    if (same) return prev;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(w[at + 1 + i]!);
  return out;
}

export function writeIds(w: Uint32Array, at: number, ids: readonly number[]): void {
  w[at] = ids.length;
  for (let i = 0; i < GROUPS_MAX; i++) w[at + 1 + i] = i < ids.length ? ids[i]! : 0;
}

function readMap(w: Uint32Array, at: number, count: number): IdExtent[] {
  const out: IdExtent[] = [];
  for (let i = 0; i < Math.min(count, NS_EXTENTS_MAX); i++)
    out.push([w[at + 3 * i]!, w[at + 3 * i + 1]!, w[at + 3 * i + 2]!]);
  return out;
}
function writeMap(w: Uint32Array, at: number, map: readonly IdExtent[]): void {
  for (let i = 0; i < NS_EXTENTS_MAX; i++) {
    const e = map[i];
    w[at + 3 * i] = e ? e[0] : 0;
    w[at + 3 * i + 1] = e ? e[1] : 0;
    w[at + 3 * i + 2] = e ? e[2] : 0;
  }
}

/** Writes the (unshare) map list of an op record: uid map count and extents, then gid map's. */
export function writeOpMaps(
  w: Uint32Array,
  at: number,
  uidMap: readonly IdExtent[],
  gidMap: readonly IdExtent[],
): void {
  w[at] = uidMap.length;
  writeMap(w, at + 1, uidMap);
  const g = at + 1 + 3 * NS_EXTENTS_MAX;
  w[g] = gidMap.length;
  writeMap(w, g + 1, gidMap);
}

export function readUserns(w: Uint32Array, at: number, prev?: UserNamespace | null): UserNamespace | null {
  const level = w[at + NS.level]!;
  if (level === 0) return null;
  const roots: number[] = [];
  for (let i = 0; i < Math.min(level, NS_LEVELS_MAX); i++) roots.push(w[at + NS.roots + i]!);
  const ns: UserNamespace = {
    level,
    uidMap: readMap(w, at + NS.uidMap, w[at + NS.uidCount]!),
    gidMap: readMap(w, at + NS.gidMap, w[at + NS.gidCount]!),
    setgroups: (w[at + NS.flags]! & NSF_SETGROUPS_DENY) !== 0 ? "deny" : "allow",
    owner: w[at + NS.owner]!,
    roots,
  };
  return prev && sameNamespace(prev, ns) ? prev : ns;
}

export function writeUserns(w: Uint32Array, at: number, ns: UserNamespace | null): void {
  for (let i = 0; i < NS_WORDS; i++) w[at + i] = 0;
  if (!ns) return;
  w[at + NS.level] = ns.level;
  w[at + NS.flags] = ns.setgroups === "deny" ? NSF_SETGROUPS_DENY : 0;
  w[at + NS.owner] = ns.owner;
  w[at + NS.uidCount] = ns.uidMap.length;
  writeMap(w, at + NS.uidMap, ns.uidMap);
  w[at + NS.gidCount] = ns.gidMap.length;
  writeMap(w, at + NS.gidMap, ns.gidMap);
  for (let i = 0; i < NS_LEVELS_MAX; i++) w[at + NS.roots + i] = ns.roots[i] ?? ID_UNMAPPED;
}
