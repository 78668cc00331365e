import { argProfile } from "./args.js";
import { CapSet } from "./capabilities/set.js";
import { KernelProfile, kernelProfile, knownSecurebits } from "./kernel/profiles.js";
import {
  STATE_FORMS,
  SET_FIELDS,
  UID_FIELDS,
  GID_FIELDS,
  type StateFields,
  type StateFieldForm,
  type StateFieldName,
  stateLiteral,
} from "./state-fields.js";
import { GROUPS_MAX } from "./engine/contract.js";
import { ID_UNMAPPED, mapDown, mapProblem, sameNamespace, shownId, type UserNamespace } from "./userns.js";
import { CapgateInputError } from "./errors.js";
import { stateFieldsOk } from "./state-fields.js";

/**
 * The capability state of one thread, as the kernel keeps it (struct cred plus no_new_privs):
 * the five sets, securebits (SECBIT_*), the four uids, no_new_privs, and the thread's own id
 * (capget/capset accept it as well as 0). Its fields are declared in contract/engine.json.
 */
export type ThreadState = StateFields;

export type ThreadStateInit = Partial<ThreadState> & { uid?: number; gid?: number };

/** The thread id a state has when none is given (capget and capset accept it as well as 0). */
export const DEFAULT_TID = defaultNumber("tid");

function defaultNumber(field: StateFieldName): number {
  const d = STATE_FORMS.find((f) => f.field === field)?.default;
  if (typeof d !== "number") throw new Error(`contract: state.forms.${field} has no number default`);
  return d;
}

/** A field's default (see contract/engine.json state.forms): `values` holds the fields before it. */
function defaultOf(
  f: StateFieldForm,
  values: Record<string, unknown>,
  init: Record<string, unknown>,
  ns: UserNamespace | null,
  profile: KernelProfile,
): unknown {
  switch (f.default) {
    case "full":
      return profile.fullSet;
    case "permitted":
      return values["permitted"];
    case "empty":
      return f.form === "set" ? CapSet.EMPTY : [];
    case "root": {
      // threadState({ uid: 1000 }) gives all four uids; in a namespace without a 0, unmapped
      const all = f.group === null ? undefined : init[f.group];
      if (all !== undefined) return all;
      const map = f.group === "gid" ? ns?.gidMap : ns?.uidMap;
      return map && mapDown(map, 0) === ID_UNMAPPED ? ID_UNMAPPED : 0;
    }
    default:
      return f.default;
  }
}

/** A state no thread can be in (or a value that is no state field): bad input, exit status 2. */
export class StateError extends CapgateInputError {
  override name = "StateError";
}

/**
 * A thread state; unspecified fields default to a root shell with every capability of the
 * profile (P = E = B = CAP_FULL_SET: every capability, and before 3.16 all 64 bits; I = A = none,
 * uids and gids 0, no groups, securebits 0, tid 1000, the initial user namespace). Given
 * `permitted` and not `effective`, effective is permitted (as capsh and setpriv read "these
 * capabilities"). In a user namespace an id left out is 0 when 0 is mapped there, else unmapped
 * (as after an unshare without maps). A state no thread can be in throws StateError, which names
 * the fields at fault and, when a default was the cause, that default.
 */
export function threadState(init: ThreadStateInit = {}, profile: KernelProfile = kernelProfile()): ThreadState {
  if (typeof init !== "object" || init === null) throw new StateError("a thread state's fields must be an object");
  profile = argProfile(profile, "threadState: the profile") ?? kernelProfile();
  const ns = init.ns ?? null;
  if (ns !== null && (typeof ns !== "object" || !Array.isArray(ns.uidMap) || !Array.isArray(ns.gidMap)))
    throw new StateError("ns must be a user namespace (see childNamespace) or null");
  // every field from the table: the value given, or its default (contract/engine.json state.forms)
  const values: Record<string, unknown> = { kernelIds: init.kernelIds ?? null };
  const fields = init as Record<string, unknown>;
  for (const f of STATE_FORMS) {
    const v = f.field === "ns" ? ns : fields[f.field];
    values[f.field] = v !== undefined ? v : defaultOf(f, values, fields, ns, profile);
  }
  const state = stateLiteral(values as unknown as StateFields);
  const given = new Set(Object.keys(init).filter((k) => (init as Record<string, unknown>)[k] !== undefined));
  const problem = stateFieldsOk(state) ? stateProblem(state, profile, given) : stateFieldProblem(state);
  if (problem) throw new StateError(`impossible state: ${problem}`);
  return state;
}

/**
 * Refuses (StateError, naming `where` and the field) a value that is no thread state: what every
 * exported function that reads a state does before it reads one.
 */
export function requireState(s: unknown, where: string): asserts s is ThreadState {
  if (!stateFieldsOk(s as ThreadState))
    throw new StateError(`${where}: not a thread state: ${stateFieldProblem(s as ThreadState)}`);
}

/** Refuses a value whose named sets are not all CapSets (the formats read only those). */
export function requireSets(s: unknown, sets: readonly SetName[], where: string): void {
  if (typeof s !== "object" || s === null) throw new StateError(`${where}: expected a thread state, got ${typeof s}`);
  for (const k of sets)
    if (!((s as Record<string, unknown>)[k] instanceof CapSet)) throw new StateError(`${where}: ${k} must be a CapSet`);
}

/** The first field that holds no value of its kind, in words (see stateFieldsOk in the codec). */
export function stateFieldProblem(s: ThreadState): string {
  if (typeof s !== "object" || s === null) return "a thread state must be an object";
  const anyState = s as unknown as Record<string, unknown>;
  const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : String(v));
  for (const set of SET_NAMES)
    if (!(anyState[set] instanceof CapSet)) return `${set} must be a CapSet, got ${show(anyState[set])}`;
  for (const id of [...UID_NAMES, ...GID_NAMES]) {
    const v = anyState[id];
    if (typeof v !== "number" || v !== v >>> 0) return `${id} must be an integer from 0 to 4294967294, got ${show(v)}`;
  }
  for (const k of ["securebits", "tid"] as const) {
    const v = anyState[k];
    if (typeof v !== "number" || v !== v >>> 0) return `${k} must be a 32-bit unsigned integer, got ${show(v)}`;
  }
  if (!Array.isArray(s.groups)) return `groups must be a list of gids, got ${show(anyState["groups"])}`;
  if (s.groups.length > GROUPS_MAX)
    return `${s.groups.length} supplementary groups; capgate models up to ${GROUPS_MAX}`;
  for (const g of s.groups)
    if (typeof g !== "number" || g !== g >>> 0) return `groups must hold gids from 0 to 4294967294, got ${show(g)}`;
  if (typeof s.noNewPrivs !== "boolean") return `noNewPrivs must be true or false, got ${show(anyState["noNewPrivs"])}`;
  if (typeof s.ns !== "object") return `ns must be a user namespace or null, got ${show(anyState["ns"])}`;
  return "not a thread state";
}

/** Names, the first two and how many more ("CAP_CHOWN, CAP_KILL (+38 more)"): a message leads with its cause, not a list. */
function few(set: CapSet): string {
  const names = set.names();
  return names.length <= 3 ? names.join(", ") : `${names.slice(0, 2).join(", ")} (+${names.length - 2} more)`;
}

/** "every capability" when a set is a default, for the part of a message that names what was not given. */
function defaulted(field: string, given: ReadonlySet<string> | undefined): string {
  if (!given || given.has(field)) return "";
  const what: Record<string, string> = {
    permitted: "every capability",
    effective: "permitted (or every capability)",
    bounding: "every capability",
    inheritable: "none",
    ambient: "none",
  };
  return ` (${field} was not given: its default is ${what[field] ?? "its default"})`;
}

/**
 * Why a state cannot exist in the kernel, or null when it can. Each reason leads with the rule
 * and the fix; `given`, the fields a caller gave, lets it say when a default was the cause.
 */
export function stateProblem(state: ThreadState, profile: KernelProfile, given?: ReadonlySet<string>): string | null {
  if (!stateFieldsOk(state)) return stateFieldProblem(state);
  // before 3.16 a thread could hold bits above CAP_LAST_CAP (the full set was all 64 bits)
  for (const set of SET_NAMES) {
    const beyond = state[set].difference(profile.fullSet);
    if (!beyond.isEmpty)
      return `${set} holds ${few(beyond)}, beyond CAP_LAST_CAP (${profile.lastCap}) of kernel ${profile.version}`;
  }
  if (!state.effective.isSubsetOf(state.permitted)) {
    const extra = state.effective.difference(state.permitted);
    const fix =
      given && !given.has("effective")
        ? `give "effective" too${defaulted("effective", given)}`
        : `take ${extra.size === 1 ? "it" : "them"} out of effective or add ${extra.size === 1 ? "it" : "them"} to permitted${defaulted("permitted", given)}`;
    return `effective may not exceed permitted: ${few(extra)} ${extra.size === 1 ? "is" : "are"} effective but not permitted; ${fix}`;
  }
  const pi = state.permitted.intersect(state.inheritable);
  if (!state.ambient.isSubsetOf(pi)) {
    const extra = state.ambient.difference(pi);
    return `ambient may not exceed permitted ∩ inheritable: ${few(extra)} ${extra.size === 1 ? "is" : "are"} ambient but not both permitted and inheritable; add ${extra.size === 1 ? "it" : "them"} to both${defaulted("inheritable", given) || defaulted("permitted", given)}`;
  }
  if (!profile.features.ambient && !state.ambient.isEmpty)
    return `kernel ${profile.version} has no ambient set (4.3+): give no ambient capabilities`;
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
export const SET_NAMES = SET_FIELDS;
export type SetName = (typeof SET_NAMES)[number];
/** The four uids, in the order /proc status lists them. */
export const UID_NAMES = UID_FIELDS;
/** The four gids, likewise. */
export const GID_NAMES = GID_FIELDS;
/**
 * The other credential fields a state (or an observation of one) may carry: the state's own
 * numbers and booleans, and `userns`, an observation's user namespace inode (a /proc link, a
 * Tracee event), which a state holds as `ns`.
 */
type ScalarField = Exclude<StateFieldName, SetName | "groups" | "ns" | "kernelIds" | "tid"> | "userns";
export type StateField = SetName | ScalarField;

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
  readonly [K in ScalarField]?: number | boolean;
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
  requireSets(a, SET_NAMES, "diffStates");
  requireSets(b, SET_NAMES, "diffStates");
  const out: StateChange[] = [];
  const x = a as Record<string, unknown>,
    y = b as Record<string, unknown>;
  for (const f of STATE_FORMS) {
    if (!f.credential) continue;
    const before = x[f.field],
      after = y[f.field];
    if (before === undefined || after === undefined) continue; // a field one side lacks
    if (!sameValue(f, before, after)) out.push({ field: f.field, before, after } as StateChange);
  }
  // an observation's namespace inode
  if (typeof a.userns === "number" && typeof b.userns === "number" && a.userns !== b.userns)
    out.push({ field: "userns", before: a.userns, after: b.userns });
  return out;
}

/** Whether two values of one field are the same, by the field's form. */
function sameValue(f: StateFieldForm, a: unknown, b: unknown): boolean {
  switch (f.form) {
    case "set":
      return (a as CapSet).equals(b as CapSet);
    case "ids":
      return (a as readonly number[]).join() === (b as readonly number[]).join();
    case "userns":
      return sameNamespace(a as UserNamespace | null, b as UserNamespace | null);
    default:
      return a === b;
  }
}

/** The same thread in the same state: no credential differs, and the same tid. */
export function statesEqual(a: ThreadState, b: ThreadState): boolean {
  requireSets(a, SET_NAMES, "statesEqual");
  requireSets(b, SET_NAMES, "statesEqual");
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
