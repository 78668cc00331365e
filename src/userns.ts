// The user namespace part of a thread's state (kernel/user_namespace.c): the maps from ids
// seen inside to ids of the initial namespace, the setgroups switch, the owner, and the chain
// of root ids the v3 file capability rule walks. Ids inside a state are as the thread sees them;
// ID_UNMAPPED stands for one with no mapping (the kernel shows it as OVERFLOW_ID, 65534).
import { ID_UNMAPPED, NS_EXTENTS_MAX, NS_LEVELS_MAX, OVERFLOW_ID } from "./engine/contract.js";
import { ArgumentError } from "./errors.js";

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
  if (!Array.isArray(map) || typeof outside !== "number") throw badMap("mapUp");
  for (const extent of map) {
    if (!isExtent(extent)) throw badMap("mapUp");
    const [inside, lower, count] = extent;
    if (outside >= lower && outside < lower + count) return inside + outside - lower;
  }
  return ID_UNMAPPED;
}
/** The outside id of `inside` through `map`, or ID_UNMAPPED. */
export function mapDown(map: readonly IdExtent[], inside: number): number {
  if (!Array.isArray(map) || typeof inside !== "number") throw badMap("mapDown");
  for (const extent of map) {
    if (!isExtent(extent)) throw badMap("mapDown");
    const [first, lower, count] = extent;
    if (inside >= first && inside < first + count) return lower + inside - first;
  }
  return ID_UNMAPPED;
}

/** An extent's shape (its ranges are checked where a namespace is made). */
function isExtent(e: unknown): e is IdExtent {
  return (
    Array.isArray(e) &&
    e.length === 3 &&
    typeof e[0] === "number" &&
    typeof e[1] === "number" &&
    typeof e[2] === "number"
  );
}

/** A map or an id of the wrong kind. */
function badMap(where: string): ArgumentError {
  return new ArgumentError(
    `${where}: expected a map (a list of [inside, outside, count] extents) and an id (a number)`,
  );
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
  for (const [i, [inside, outside, count]] of map.entries()) {
    if (count < 1) return `extent ${i} has count ${count} (the kernel refuses an empty extent)`;
    if (inside + count > 0xffffffff || outside + count > 0xffffffff) return `extent ${i} runs past 4294967294`;
    for (const [j, [i2, o2, c2]] of map.slice(0, i).entries()) {
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
  if (typeof init !== "object" || init === null) throw new ArgumentError("childNamespace: expected an object of maps");
  const uidMap = init.uidMap ?? [];
  for (const [name, map] of [
    ["uidMap", uidMap],
    ["gidMap", init.gidMap ?? []],
  ] as const) {
    if (!Array.isArray(map)) throw new ArgumentError(`childNamespace: ${name} must be a list of extents`);
    const bad = mapProblem(map.map((e) => (Array.isArray(e) ? e : [NaN, NaN, NaN]) as unknown as IdExtent));
    if (
      bad ||
      map.some((e) => !Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === "number" && x === x >>> 0))
    )
      throw new ArgumentError(
        `childNamespace: ${name}: ${bad ?? "each extent is [inside, outside, count], 32-bit ids"}`,
      );
  }
  if (init.setgroups !== undefined && init.setgroups !== "allow" && init.setgroups !== "deny")
    throw new ArgumentError('childNamespace: setgroups is "allow" or "deny"');
  if (init.owner !== undefined && (typeof init.owner !== "number" || init.owner !== init.owner >>> 0))
    throw new ArgumentError("childNamespace: owner must be a uid");
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
