import { CapSet } from "./capabilities/set.js";
import { KernelProfile, kernelProfile, knownSecurebits } from "./kernel/profiles.js";
import type { StateFields } from "./state-fields.js";

/**
 * The capability state of one thread, as the kernel keeps it (struct cred plus no_new_privs):
 * the five sets, securebits (SECBIT_*), the four uids, no_new_privs, and the thread's own id
 * (capget/capset accept it as well as 0). Its fields are declared in contract/engine.json.
 */
export type ThreadState = StateFields;

export type ThreadStateInit = Partial<ThreadState> & { uid?: number };

export const DEFAULT_TID = 1000;

/**
 * A thread state; unspecified fields default to a root shell with every capability of the
 * profile (P = E = B = all, I = A = none, uids 0, securebits 0, tid 1000).
 */
export function threadState(init: ThreadStateInit = {}, profile: KernelProfile = kernelProfile()): ThreadState {
  const uid = init.uid ?? 0;
  return {
    permitted: init.permitted ?? profile.all,
    effective: init.effective ?? profile.all,
    inheritable: init.inheritable ?? CapSet.EMPTY,
    bounding: init.bounding ?? profile.all,
    ambient: init.ambient ?? CapSet.EMPTY,
    securebits: init.securebits ?? 0,
    ruid: init.ruid ?? uid,
    euid: init.euid ?? uid,
    suid: init.suid ?? uid,
    fsuid: init.fsuid ?? uid,
    noNewPrivs: init.noNewPrivs ?? false,
    tid: init.tid ?? DEFAULT_TID,
  };
}

/** Why a state cannot exist in the kernel, or null when it can. */
export function stateProblem(state: ThreadState, profile: KernelProfile): string | null {
  for (const set of SET_NAMES) {
    const beyond = state[set].difference(profile.all);
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
  for (const id of [...UID_NAMES, "tid"] as const) {
    const v = state[id];
    if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe)
      return `${id} must be an integer from 0 to 4294967294, got ${v}`;
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
/** The other credential fields a state (or an observation of one) may carry. */
const SCALAR_NAMES = ["securebits", ...UID_NAMES, "rgid", "egid", "sgid", "fsgid", "noNewPrivs", "userns"] as const;
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
};

export type StateChange =
  | { readonly field: SetName; readonly before: CapSet; readonly after: CapSet }
  | {
      readonly field: Exclude<StateField, SetName>;
      readonly before: number | boolean;
      readonly after: number | boolean;
    };

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
  return out;
}

/** The same thread in the same state: no credential differs, and the same tid. */
export function statesEqual(a: ThreadState, b: ThreadState): boolean {
  return a.tid === b.tid && diffStates(a, b).length === 0;
}
