// The codec of the ids, the group list and the user namespace of the state record (their
// layout: contract/engine.json, records.state and records.userns). Offsets in 32-bit words.
// The record holds kernel ids, as struct cred does; the API shows ids as the thread's namespace
// does, ID_UNMAPPED for one without a mapping there. Ids the API gives as unmapped are all taken
// to be one kernel id that no extent covers (the first from UNMAPPED_BASE), as a process that
// unshared with its ids unmapped has them all at its creator's.
import {
  NS,
  NS_EXTENTS_MAX,
  NS_LEVELS_MAX,
  NSF_SETGROUPS_DENY,
  GROUPS_MAX,
  USERNS_SIZE,
  ID_UNMAPPED,
} from "./contract.js";
import { mapUp, mapDown, type IdExtent, type UserNamespace } from "../userns.js";
import { StateError } from "../state.js";

/** Where the kernel ids of ids given as unmapped start (an arbitrary, rarely mapped range). */
const UNMAPPED_BASE = 3000000000;

/** A kernel id no extent of `map` covers. */
export function unmappedKernelId(map: readonly IdExtent[]): number {
  let k = UNMAPPED_BASE;
  for (;;) {
    const hit = map.find(([, lower, count]) => k >= lower && k < lower + count);
    if (!hit) return k;
    k = hit[1] + hit[2];
  }
}

/**
 * The kernel id of an id seen inside `ns` (null: the initial namespace, where they are the same).
 * An unmapped one is `hidden[index]` when the state carries the kernel ids it was read with.
 */
export function kernelId(
  ns: UserNamespace | null,
  inside: number,
  gid: boolean,
  hidden?: readonly number[] | null,
  index = 0,
): number {
  if (!ns) return inside;
  const map = gid ? ns.gidMap : ns.uidMap;
  if (inside === ID_UNMAPPED) return hidden?.[index] ?? unmappedKernelId(map);
  const k = mapDown(map, inside);
  return k === ID_UNMAPPED ? unmappedKernelId(map) : k;
}

/** How a kernel id is seen inside `ns`: ID_UNMAPPED when it has no mapping there. */
export function insideId(ns: UserNamespace | null, kernel: number, gid: boolean): number {
  return ns ? mapUp(gid ? ns.gidMap : ns.uidMap, kernel) : kernel;
}

const NS_WORDS = USERNS_SIZE >>> 2;

const NO_GROUPS: readonly number[] = Object.freeze([]);

/** A count, then up to GROUPS_MAX kernel gids, shown inside `ns`. Keeps `prev` when nothing changed. */
export function readIds(
  w: Uint32Array,
  at: number,
  ns: UserNamespace | null,
  prev?: readonly number[],
): readonly number[] {
  // (w[...]!: every offset read lies inside the ids list of the record: a count and GROUPS_MAX ids)
  const n = Math.min(w[at]!, GROUPS_MAX);
  if (n === 0) return prev?.length === 0 ? prev : NO_GROUPS; // the common case allocates nothing
  if (prev && prev.length === n) {
    let same = true;
    for (let i = 0; i < n && same; i++) same = prev[i] === insideId(ns, w[at + 1 + i]!, true); // (i < GROUPS_MAX)
    if (same) return prev;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(insideId(ns, w[at + 1 + i]!, true)); // (i < GROUPS_MAX)
  return out;
}

/** Groups seen inside `ns`, written as the kernel keeps them: kernel gids, sorted. */
export function writeIds(
  w: Uint32Array,
  at: number,
  ns: UserNamespace | null,
  ids: readonly number[],
  hidden?: readonly number[] | null,
  first = 0,
): void {
  const n = Math.min(ids.length, GROUPS_MAX);
  w[at] = ids.length;
  if (!ns) {
    // the initial namespace: each gid checked as it is written (ID_UNMAPPED is no gid there)
    for (let i = 0; i < n; i++) {
      const g = ids[i]!; // (i < n <= ids.length)
      if (g !== g >>> 0 || g === ID_UNMAPPED) badGroup(g);
      w[at + 1 + i] = g;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const g = ids[i]!; // (as above)
    if (g !== g >>> 0) badGroup(g);
  }
  // the hidden kernel gids line up with the groups only when the list is the one read
  const h = hidden && hidden.length === first + ids.length ? hidden : null;
  const k = ids.map((g, i) => kernelId(ns, g, true, h, first + i)).sort((a, b) => a - b);
  // only the count and the groups: the engine reads no further
  for (let i = 0; i < n; i++) w[at + 1 + i] = k[i]!; // (n <= k.length)
}

/** A group that is no gid (kept out of writeIds, so that it stays small enough to inline). */
function badGroup(g: unknown): never {
  throw new StateError(`impossible state: groups must hold gids from 0 to 4294967294, got ${String(g)}`);
}

function readMap(w: Uint32Array, at: number, count: number): IdExtent[] {
  const out: IdExtent[] = [];
  // (inside the record's NS_EXTENTS_MAX extents)
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
  // (w[at + NS.x]!: every NS offset lies inside the userns record)
  const level = w[at + NS.level]!;
  if (level === 0) return null;
  if (prev && matches(w, at, prev)) return prev; // unchanged: no new object
  const roots: number[] = [];
  for (let i = 0; i < Math.min(level, NS_LEVELS_MAX); i++) roots.push(w[at + NS.roots + i]!);
  return {
    level,
    uidMap: readMap(w, at + NS.uidMap, w[at + NS.uidCount]!), // (inside the record, as above)
    gidMap: readMap(w, at + NS.gidMap, w[at + NS.gidCount]!),
    setgroups: (w[at + NS.flags]! & NSF_SETGROUPS_DENY) !== 0 ? "deny" : "allow",
    owner: w[at + NS.owner]!,
    roots,
  };
}

/** Whether the record at `at` holds `ns`, word by word. */
function matches(w: Uint32Array, at: number, ns: UserNamespace): boolean {
  if (w[at + NS.level] !== ns.level || w[at + NS.owner] !== ns.owner) return false;
  if (((w[at + NS.flags]! & NSF_SETGROUPS_DENY) !== 0) !== (ns.setgroups === "deny")) return false;
  const sameMap = (count: number, map: number, m: readonly IdExtent[]) =>
    w[at + count] === m.length && m.every((e, i) => e.every((x, k) => w[at + map + 3 * i + k] === x));
  if (!sameMap(NS.uidCount, NS.uidMap, ns.uidMap) || !sameMap(NS.gidCount, NS.gidMap, ns.gidMap)) return false;
  return ns.roots.every((r, i) => w[at + NS.roots + i] === r);
}

export function writeUserns(w: Uint32Array, at: number, ns: UserNamespace | null): void {
  // level 0, the initial namespace: the engine reads nothing else of the record
  if (!ns) {
    w[at + NS.level] = 0;
    return;
  }
  for (let i = 0; i < NS_WORDS; i++) w[at + i] = 0;
  w[at + NS.level] = ns.level;
  w[at + NS.flags] = ns.setgroups === "deny" ? NSF_SETGROUPS_DENY : 0;
  w[at + NS.owner] = ns.owner;
  w[at + NS.uidCount] = ns.uidMap.length;
  writeMap(w, at + NS.uidMap, ns.uidMap);
  w[at + NS.gidCount] = ns.gidMap.length;
  writeMap(w, at + NS.gidMap, ns.gidMap);
  for (let i = 0; i < NS_LEVELS_MAX; i++) w[at + NS.roots + i] = ns.roots[i] ?? ID_UNMAPPED;
}

/**
 * The kernel ids of a state record's ids and groups (at the word offsets given), when one of
 * them has no mapping in `ns`: what the API's ids cannot show. null when all are mapped.
 */
export function hiddenIds(
  w: Uint32Array,
  at: number,
  ids: readonly number[],
  groups: number,
  ns: UserNamespace,
): readonly number[] | null {
  const out: number[] = [];
  let unmapped = false;
  ids.forEach((off, i) => {
    const k = w[at + off]!; // (a state record's id offsets)
    out.push(k);
    if (mapUp(i < 4 ? ns.uidMap : ns.gidMap, k) === ID_UNMAPPED) unmapped = true;
  });
  // (the groups list of the state record: a count and GROUPS_MAX gids)
  const n = Math.min(w[at + groups]!, GROUPS_MAX);
  for (let i = 0; i < n; i++) {
    const k = w[at + groups + 1 + i]!; // (i < GROUPS_MAX)
    out.push(k);
    if (mapUp(ns.gidMap, k) === ID_UNMAPPED) unmapped = true;
  }
  return unmapped ? out : null;
}
