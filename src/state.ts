import { CapSet } from "./capabilities/set.js";
import { KernelProfile, kernelProfile, knownSecurebits } from "./kernel/profiles.js";
import type { StateFields } from "./state-fields.js";
import { GROUPS_MAX } from "./engine/contract.js";
import { ID_UNMAPPED, mapDown, mapProblem, sameNamespace, shownId, type UserNamespace } from "./userns.js";

/**
 * The capability state of one thread, as the kernel keeps it (struct cred plus no_new_privs):
 * the five sets, securebits (SECBIT_*), the four uids, no_new_privs, and the thread's own id
 * (capget/capset accept it as well as 0). Its fields are declared in contract/engine.json.
 */
export type ThreadState = StateFields;

export type ThreadStateInit = Partial<ThreadState> & { uid?: number; gid?: number };

export const DEFAULT_TID = 1000;

/**
 * A thread state; unspecified fields default to a root shell with every capability of the
 * profile (P = E = B = CAP_FULL_SET: every capability, and before 3.16 all 64 bits; I = A = none, uids and gids 0, no groups, securebits 0, tid 1000,
 * the initial user namespace). In a user namespace an id left out is 0 when 0 is mapped there,
 * else unmapped (as after an unshare without maps).
 */
export function threadState(init: ThreadStateInit = {}, profile: KernelProfile = kernelProfile()): ThreadState {
  const ns = init.ns ?? null;
  const uid = init.uid ?? (ns && mapDown(ns.uidMap, 0) === ID_UNMAPPED ? ID_UNMAPPED : 0);
  const gid = init.gid ?? (ns && mapDown(ns.gidMap, 0) === ID_UNMAPPED ? ID_UNMAPPED : 0);
  return {
    permitted: init.permitted ?? profile.fullSet,
    effective: init.effective ?? profile.fullSet,
    inheritable: init.inheritable ?? CapSet.EMPTY,
    bounding: init.bounding ?? profile.fullSet,
    ambient: init.ambient ?? CapSet.EMPTY,
    securebits: init.securebits ?? 0,
    tid: init.tid ?? DEFAULT_TID,
    ruid: init.ruid ?? uid,
    euid: init.euid ?? uid,
    suid: init.suid ?? uid,
    fsuid: init.fsuid ?? uid,
    rgid: init.rgid ?? gid,
    egid: init.egid ?? gid,
    sgid: init.sgid ?? gid,
    fsgid: init.fsgid ?? gid,
    groups: init.groups ?? [],
    ns,
    kernelIds: init.kernelIds ?? null,
    noNewPrivs: init.noNewPrivs ?? false,
  };
}

/** Why a state cannot exist in the kernel, or null when it can. */
export function stateProblem(state: ThreadState, profile: KernelProfile): string | null {
  // before 3.16 a thread could hold bits above CAP_LAST_CAP (the full set was all 64 bits)
  for (const set of SET_NAMES) {
    const beyond = state[set].difference(profile.fullSet);
    if (!beyond.isEmpty)
      return `${set} holds ${beyond.names().join(", ")}, beyond CAP_LAST_CAP (${profile.lastCap}) of kernel ${profile.version}`;
  }
  if (!state.effective.isSubsetOf(state.permitted)) {
    return `effective holds ${state.effective.difference(state.permitted).names().join(", ")}, not in permitted (the kernel keeps effective within permitted)`;
  }
  const pi = state.permitted.intersect(state.inheritable);
  if (!state.ambient.isSubsetOf(pi)) {
    return `ambient holds ${state.ambient.difference(pi).names().join(", ")}, not in both permitted and inheritable (the kernel keeps ambient within permitted ∩ inheritable)`;
  }
  if (!profile.features.ambient && !state.ambient.isEmpty) return `kernel ${profile.version} has no ambient set (4.3+)`;
  const ns = state.ns;
  for (const id of [...UID_NAMES, ...GID_NAMES, "tid"] as const) {
    const v = state[id];
    if (ns && id !== "tid" && v === ID_UNMAPPED) continue; // an id the namespace does not map
    if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)
      return `${id} must be an integer from 0 to 4294967294, got ${v}`;
    if (ns && id !== "tid" && mapDown(id.endsWith("gid") ? ns.gidMap : ns.uidMap, v) === ID_UNMAPPED)
      return `${id} ${v} has no mapping in the user namespace (an unmapped id reads as 65534: give 65534)`;
  }
  if (state.groups.length > GROUPS_MAX)
    return `${state.groups.length} supplementary groups; capgate models up to ${GROUPS_MAX}`;
  for (const g of state.groups) {
    if (ns && g === ID_UNMAPPED) continue;
    if (!Number.isInteger(g) || g < 0 || g > 0xfffffffe) return `groups must hold gids from 0 to 4294967294, got ${g}`;
    if (ns && mapDown(ns.gidMap, g) === ID_UNMAPPED) return `group ${g} has no mapping in the user namespace`;
  }
  if (ns) {
    const bad = mapProblem(ns.uidMap) ?? mapProblem(ns.gidMap);
    if (bad) return `userns: ${bad}`;
  }
  if (!Number.isInteger(state.securebits) || state.securebits < 0 || state.securebits > 0xffffffff) {
    return `securebits must be a 32-bit unsigned integer, got ${state.securebits}`;
  }
  const unknown = (state.securebits & ~knownSecurebits(profile)) >>> 0;
  if (unknown)
    return `securebits 0x${state.securebits.toString(16)} holds 0x${unknown.toString(16)}, bits kernel ${profile.version} does not have (a thread there can never hold them)`;
  return null;
}

/** The five capability sets of a thread, in the kernel's order. */
export const SET_NAMES = ["permitted", "effective", "inheritable", "bounding", "ambient"] as const;
export type SetName = (typeof SET_NAMES)[number];
/** The four uids, in the order /proc status lists them. */
export const UID_NAMES = ["ruid", "euid", "suid", "fsuid"] as const;
/** The four gids, likewise. */
export const GID_NAMES = ["rgid", "egid", "sgid", "fsgid"] as const;
/** The other credential fields a state (or an observation of one) may carry. */
const SCALAR_NAMES = ["securebits", ...UID_NAMES, ...GID_NAMES, "noNewPrivs", "userns"] as const;
export type StateField = SetName | (typeof SCALAR_NAMES)[number];

/**
 * A thread's credentials as seen from outside the engine (a /proc status file, a Tracee event):
 * the five sets and the uids always; securebits, gids, no_new_privs and the user namespace when
 * the source shows them.
 */
export interface Credentials {
  readonly permitted: CapSet;
  readonly effective: CapSet;
  readonly inheritable: CapSet;
  readonly bounding: CapSet;
  readonly ambient: CapSet;
  readonly ruid: number;
  readonly euid: number;
  readonly suid: number;
  readonly fsuid: number;
  readonly securebits?: number;
  readonly noNewPrivs?: boolean;
  readonly rgid?: number;
  readonly egid?: number;
  readonly sgid?: number;
  readonly fsgid?: number;
  /** The user namespace (the inode of /proc/PID/ns/user; Tracee's UserNamespace). */
  readonly userns?: number;
}

/** Anything with the five sets and some of the other fields: a ThreadState, a /proc status, a Tracee credential. */
export type ComparableState = { readonly [K in SetName]: CapSet } & {
  readonly [K in (typeof SCALAR_NAMES)[number]]?: number | boolean;
} & { readonly groups?: readonly number[]; readonly ns?: UserNamespace | null };

export type StateChange =
  | { readonly field: SetName; readonly before: CapSet; readonly after: CapSet }
  | {
      readonly field: Exclude<StateField, SetName>;
      readonly before: number | boolean;
      readonly after: number | boolean;
    }
  | { readonly field: "groups"; readonly before: readonly number[]; readonly after: readonly number[] }
  | { readonly field: "ns"; readonly before: UserNamespace | null; readonly after: UserNamespace | null };

/**
 * Every credential field that differs between two states, in a fixed order (the sets, then
 * securebits, uids, gids, no_new_privs, user namespace). A field one side lacks is not compared.
 * The thread id is identity, not a credential, and is not compared.
 */
export function diffStates(a: ComparableState, b: ComparableState): StateChange[] {
  const out: StateChange[] = [];
  for (const field of SET_NAMES) if (!a[field].equals(b[field])) out.push({ field, before: a[field], after: b[field] });
  for (const field of SCALAR_NAMES) {
    const x = a[field],
      y = b[field];
    if (x !== undefined && y !== undefined && x !== y) out.push({ field, before: x, after: y });
  }
  if (a.groups && b.groups && a.groups.join() !== b.groups.join())
    out.push({ field: "groups", before: a.groups, after: b.groups });
  if (a.ns !== undefined && b.ns !== undefined && !sameNamespace(a.ns, b.ns))
    out.push({ field: "ns", before: a.ns, after: b.ns });
  return out;
}

/** The same thread in the same state: no credential differs, and the same tid. */
export function statesEqual(a: ThreadState, b: ThreadState): boolean {
  return a.tid === b.tid && diffStates(a, b).length === 0;
}

/** The ids and groups as the thread itself sees them (and /proc shows them): 65534 for an unmapped one. */
export function shownIds(
  s: ThreadState,
): Pick<ThreadState, (typeof UID_NAMES)[number] | (typeof GID_NAMES)[number] | "groups"> {
  return {
    ruid: shownId(s.ruid),
    euid: shownId(s.euid),
    suid: shownId(s.suid),
    fsuid: shownId(s.fsuid),
    rgid: shownId(s.rgid),
    egid: shownId(s.egid),
    sgid: shownId(s.sgid),
    fsgid: shownId(s.fsgid),
    groups: s.groups.map(shownId),
  };
}
