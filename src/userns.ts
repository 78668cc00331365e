// The user namespace part of a thread's state (kernel/user_namespace.c): the maps from ids
// seen inside to ids of the initial namespace, the setgroups switch, the owner, and the chain
// of root ids the v3 file capability rule walks. Ids inside a state are as the thread sees them;
// ID_UNMAPPED stands for one with no mapping (the kernel shows it as OVERFLOW_ID, 65534).
import { ID_UNMAPPED, NS_EXTENTS_MAX, NS_LEVELS_MAX, OVERFLOW_ID } from "./engine/contract.js";

export { ID_UNMAPPED, OVERFLOW_ID, NS_EXTENTS_MAX };

/** `count` ids from `inside` map to `outside`, `outside + 1`, ... (ids of the parent namespace). */
export type IdExtent = readonly [inside: number, outside: number, count: number];

export interface UserNamespace {
  /** How deep: 1 is a child of the initial namespace; each unshare adds one. */
  readonly level: number;
  /** uid_map, outside ids as ids of the initial namespace. Empty: never written. */
  readonly uidMap: readonly IdExtent[];
  readonly gidMap: readonly IdExtent[];
  /** /proc/PID/setgroups. */
  readonly setgroups: "allow" | "deny";
  /** The initial-namespace uid of its creator. */
  readonly owner: number;
  /**
   * The initial-namespace uid that is uid 0 of this namespace, then of its parent, and so on up
   * to the child of the initial namespace (ID_UNMAPPED where uid 0 has no mapping): the root
   * ids a v3 file capability may name.
   */
  readonly roots: readonly number[];
}

/** The inside id of `outside` through `map`, or ID_UNMAPPED. */
export function mapUp(map: readonly IdExtent[], outside: number): number {
  for (const [inside, lower, count] of map)
    if (outside >= lower && outside < lower + count) return inside + outside - lower;
  return ID_UNMAPPED;
}
/** The outside id of `inside` through `map`, or ID_UNMAPPED. */
export function mapDown(map: readonly IdExtent[], inside: number): number {
  for (const [first, lower, count] of map) if (inside >= first && inside < first + count) return lower + inside - first;
  return ID_UNMAPPED;
}

/** How an id reads inside the namespace: unmapped ids read as the overflow id. */
export function shownId(id: number): number {
  return id === ID_UNMAPPED ? OVERFLOW_ID : id;
}

/**
 * The other way: an id as the thread sees it (a scenario, a /proc status file) as a state holds
 * it. The overflow id that `map` does not cover is the kernel's "no mapping" (ID_UNMAPPED);
 * without a map (the initial namespace) every id is itself.
 */
export function fromShown(id: number, map: readonly IdExtent[] | undefined): number {
  return map && id === OVERFLOW_ID && mapDown(map, id) === ID_UNMAPPED ? ID_UNMAPPED : id;
}

/** Why a map cannot be written (as map_write would refuse it), or null. */
export function mapProblem(map: readonly IdExtent[]): string | null {
  if (map.length > NS_EXTENTS_MAX)
    return `${map.length} extents; capgate models up to ${NS_EXTENTS_MAX} (the kernel's inline extents)`;
  for (let i = 0; i < map.length; i++) {
    const [inside, outside, count] = map[i]!;
    if (count < 1) return `extent ${i} has count ${count} (the kernel refuses an empty extent)`;
    if (inside + count > 0xffffffff || outside + count > 0xffffffff) return `extent ${i} runs past 4294967294`;
    for (let j = 0; j < i; j++) {
      const [i2, o2, c2] = map[j]!;
      if (inside < i2 + c2 && i2 < inside + count) return `extents ${j} and ${i} overlap inside`;
      if (outside < o2 + c2 && o2 < outside + count) return `extents ${j} and ${i} overlap outside`;
    }
  }
  return null;
}

/** A namespace one level below the initial one, as a scenario's `userns` describes it. */
export function childNamespace(init: {
  uidMap?: readonly IdExtent[];
  gidMap?: readonly IdExtent[];
  setgroups?: "allow" | "deny";
  owner?: number;
}): UserNamespace {
  const uidMap = init.uidMap ?? [];
  return {
    level: 1,
    uidMap,
    gidMap: init.gidMap ?? [],
    setgroups: init.setgroups ?? "allow",
    owner: init.owner ?? 0,
    roots: [mapDown(uidMap, 0)],
  };
}

export { NS_LEVELS_MAX };

/** The same namespace (by content). */
export function sameNamespace(a: UserNamespace | null, b: UserNamespace | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
