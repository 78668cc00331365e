// Reads a scenario document (../shared/scenario-format.md, version 1) into engine inputs,
// rejecting anything malformed with an InputError that names the step and field.
import { CapSet } from "../capabilities/set.js";
import { kernelProfile, ProfileError, type KernelProfile } from "../kernel/profiles.js";
import { CAPABILITY_VERSION, PRCTL, AMBIENT_SUBOP, SECUREBITS, ERRNO_NUMBERS } from "../kernel/constants.js";
import { capabilityNumber } from "../capabilities/table.js";
import { InputError, pathText, preview } from "../parse/errors.js";
import { argProfile } from "../args.js";
import { parseSetInput } from "../parse/sets.js";
import { checkDepth, jsonDepth, MAX_JSON_DEPTH } from "../parse/json.js";
import { threadState, StateError, type ThreadState } from "../state.js";
import { STATE_FORMS, type StateFieldForm, type StateFieldName, type StateFields } from "../state-fields.js";
import { ID_CALL_ARGS, isIdCallName, type Op, type FileCaps, type ExecFile, type TaskSets } from "../ops.js";
import {
  ID_UNMAPPED,
  NS_EXTENTS_MAX,
  NS_LEVELS_MAX,
  childNamespace,
  fromShown,
  mapDown,
  type IdExtent,
  type UserNamespace,
} from "../userns.js";
import { ruleById } from "../rules/catalog.js";

/** A step's expected state: any credential but the namespace (ids as the thread sees them). */
export type StateExpectation = {
  -readonly [K in ExpectedField]?: StateFields[K];
};
type ExpectedField = Exclude<StateFieldName, "ns" | "kernelIds" | "tid">;
export interface Expectation {
  readonly ok?: boolean;
  readonly errno?: string | null;
  readonly ret?: number;
  readonly rule?: string;
  readonly secureExec?: boolean;
  readonly state?: StateExpectation;
}
export interface ScenarioStep {
  readonly op: Op;
  readonly expect?: Expectation;
  readonly note?: string;
}
/** Another task of the caller's pid namespace (the document's `tasks`). */
export interface Task extends TaskSets {
  readonly tid: number;
  /** A thread of the caller's own process. */
  readonly thread: boolean;
}
export interface Scenario {
  readonly profile: KernelProfile;
  readonly state: ThreadState;
  /** The document's `tasks`, when given: then they and the caller are the whole pid namespace. */
  readonly tasks?: readonly Task[];
  readonly steps: readonly ScenarioStep[];
  readonly description?: string;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function only(obj: Json, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key))
      throw new InputError(path ? `${path}.${key}` : key, `unknown field (expected one of: ${allowed.join(", ")})`);
  }
}
function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InputError(path, `expected an integer from ${min} to ${max}, got ${preview(v)}`);
  }
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw new InputError(path, `expected true or false, got ${preview(v)}`);
  return v;
}
/** A uid argument: 0..4294967294, or -1 ("unchanged", passed as (uid_t)-1). */
function uidArg(v: unknown, path: string): number {
  const n = int(v, path, -1, 0xffffffff);
  return n === -1 ? 0xffffffff : n;
}

/** The keys of a scenario's state: every field's, the ids by their group ("uid", "gid"). */
const STATE_KEYS = [...new Set(STATE_FORMS.map((f) => f.group ?? f.key))];
/** Whether a step's expected state may name the field: a credential, not the namespace. */
const expectable = (f: StateFieldForm) => f.credential && f.form !== "userns";
/** The keys of a step's expected state: the ids by their group or one by one. */
const EXPECTED_KEYS = [
  ...new Set(STATE_FORMS.filter(expectable).flatMap((f) => (f.group ? [f.group, f.key] : [f.key]))),
];

export function parseSecurebits(v: unknown, path: string = "securebits"): number {
  path = pathText(path, "securebits");
  checkDepth(v, path);
  if (typeof v === "number") return int(v, path, 0, 0xffffffff);
  const names = Array.isArray(v) ? v : typeof v === "string" ? (v.trim() === "" ? [] : v.split(/[,|]/)) : null;
  if (!names) throw new InputError(path, `expected securebit names or a number, got ${preview(v)}`);
  let bits = 0;
  names.forEach((name, i) => {
    if (typeof name !== "string")
      throw new InputError(`${path}[${i}]`, `expected a securebit name, got ${preview(name)}`);
    const upper = ascii(name).trim().toUpperCase();
    const key = (upper.startsWith("SECBIT_") ? upper : `SECBIT_${upper}`) as keyof typeof SECUREBITS;
    const bit = SECUREBITS[key];
    if (bit === undefined)
      throw new InputError(path, `unknown securebit ${preview(name)} (known: ${Object.keys(SECUREBITS).join(", ")})`);
    bits |= bit;
  });
  return bits >>> 0;
}

/**
 * A state's uids or gids: one number for all four, or an object of them (those left out are 0,
 * and the fs id follows the effective one), as in `"uid": {"ruid": 1000, "euid": 0}`.
 */
function parseIdGroup(v: unknown, path: string, group: "uid" | "gid", unmapped = false): Record<string, number> {
  const forms = STATE_FORMS.filter((f) => f.group === group);
  const names = forms.map((f) => f.key);
  // in a user namespace, -1 is an id it does not map (where 65534 is one it maps)
  const one = (x: unknown, at: string) => {
    const n = int(x, at, unmapped ? -1 : 0, 0xfffffffe);
    return n === -1 ? ID_UNMAPPED : n;
  };
  if (typeof v === "number") {
    const id = one(v, path);
    return Object.fromEntries(forms.map((f) => [f.field, id]));
  }
  if (!isObject(v))
    throw new InputError(
      path,
      `expected a ${group} number or {${names.map((n) => `"${n}"`).join(",")}}, got ${preview(v)}`,
    );
  only(v, names, path);
  const out: Record<string, number> = {};
  for (const f of forms) {
    const from = v[f.key] === undefined && f.follows ? f.follows : f.field;
    const key = STATE_FORMS.find((x) => x.field === from)?.key ?? from;
    out[f.field] = v[key] === undefined ? 0 : one(v[key], `${path}.${key}`);
  }
  return out;
}

function idList(v: unknown, path: string, max: number, unmapped = false): number[] {
  if (!Array.isArray(v)) throw new InputError(path, `expected a list of ids, got ${preview(v)}`);
  if (v.length > max) throw new InputError(path, `${v.length} entries; at most ${max}`);
  return v.map((g, i) => {
    const n = int(g, `${path}[${i}]`, unmapped ? -1 : 0, 0xfffffffe);
    return n === -1 ? ID_UNMAPPED : n;
  });
}

function parseMap(v: unknown, path: string): IdExtent[] {
  if (!Array.isArray(v)) throw new InputError(path, "expected a list of [inside, outside, count] extents");
  if (v.length > NS_EXTENTS_MAX)
    throw new InputError(
      path,
      `${v.length} extents; capgate models up to ${NS_EXTENTS_MAX} (the kernel's inline extents)`,
    );
  return v.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 3) throw new InputError(`${path}[${i}]`, "expected [inside, outside, count]");
    return [
      int(e[0], `${path}[${i}][0]`, 0, 0xfffffffe),
      int(e[1], `${path}[${i}][1]`, 0, 0xfffffffe),
      int(e[2], `${path}[${i}][2]`, 1, 0xffffffff),
    ] as const;
  });
}

function parseSetgroupsMode(v: unknown, path: string): "allow" | "deny" {
  if (v !== "allow" && v !== "deny") throw new InputError(path, `expected "allow" or "deny", got ${preview(v)}`);
  return v;
}

/** A state's `userns`: one level below the initial namespace unless `level` and `roots` say more. */
function parseUserns(v: unknown, path: string): UserNamespace {
  if (!isObject(v)) throw new InputError(path, "expected an object");
  only(v, ["uidMap", "gidMap", "setgroups", "owner", "level", "roots"], path);
  const ns = childNamespace({
    uidMap: v["uidMap"] === undefined ? [] : parseMap(v["uidMap"], `${path}.uidMap`),
    gidMap: v["gidMap"] === undefined ? [] : parseMap(v["gidMap"], `${path}.gidMap`),
    setgroups: v["setgroups"] === undefined ? "allow" : parseSetgroupsMode(v["setgroups"], `${path}.setgroups`),
    owner: v["owner"] === undefined ? 0 : int(v["owner"], `${path}.owner`, 0, 0xfffffffe),
  });
  if (v["level"] === undefined && v["roots"] === undefined) return ns;
  const level = v["level"] === undefined ? 1 : int(v["level"], `${path}.level`, 1, NS_LEVELS_MAX);
  const roots = v["roots"] === undefined ? [] : (v["roots"] as unknown[]);
  if (!Array.isArray(roots) || roots.length !== level)
    throw new InputError(`${path}.roots`, `expected ${level} root ids (this namespace's first, -1 for none)`);
  const r = roots.map((x, i) => {
    const n = int(x, `${path}.roots[${i}]`, -1, 0xfffffffe);
    return n === -1 ? ID_UNMAPPED : n;
  });
  if (r[0] !== mapDown(ns.uidMap, 0))
    throw new InputError(`${path}.roots[0]`, "must be the outside id of uid 0 in uidMap (-1 when 0 is unmapped)");
  return { ...ns, level, roots: r };
}

/** One field's value by its form (a set, securebits, a count, a flag, one id); ids lists and namespaces have their own. */
function parseField(f: StateFieldForm, v: unknown, path: string, profile: KernelProfile, rawMask: boolean): unknown {
  switch (f.form) {
    case "set":
      return parseSetInput(v, profile, path, { rawMask });
    case "securebits":
      return parseSecurebits(v, path);
    case "count":
      return int(v, path, f.min, f.max);
    case "flag":
      return bool(v, path);
    case "id":
      return int(v, path, 0, 0xfffffffe);
    case "ids":
      return idList(v, path, 0xffff);
    case "userns":
      return parseUserns(v, path);
  }
}

export function parseState(v: unknown, profile: KernelProfile = kernelProfile(), path = "state"): ThreadState {
  path = pathText(path, "state");
  profile = argProfile(profile, "parseState: the profile") ?? kernelProfile();
  if (v === undefined) return threadState({}, profile);
  checkDepth(v, path);
  if (!isObject(v)) throw new InputError(path, "expected an object");
  only(v, STATE_KEYS, path);
  const nsForm = STATE_FORMS.find((f) => f.form === "userns");
  const nsValue = nsForm ? v[nsForm.key] : undefined;
  const ns = nsValue === undefined ? null : parseUserns(nsValue, `${path}.${nsForm?.key ?? "userns"}`);
  const init: Record<string, unknown> = { ns };
  for (const f of STATE_FORMS) {
    if (f.form === "userns") continue;
    const key = f.group ?? f.key;
    if (v[key] === undefined || (f.group && f.field in init)) continue;
    const at = `${path}.${key}`;
    if (f.group) {
      // the group's ids as the thread sees them, as the state holds them (fromShown)
      const map = f.group === "gid" ? ns?.gidMap : ns?.uidMap;
      for (const [field, id] of Object.entries(parseIdGroup(v[key], at, f.group, ns !== null)))
        init[field] = fromShown(id, map);
    } else if (f.form === "ids") {
      init[f.field] = idList(v[key], at, 0xffff, ns !== null)
        .map((g) => fromShown(g, ns?.gidMap))
        .sort((a, b) => (ns ? mapDown(ns.gidMap, a) - mapDown(ns.gidMap, b) : a - b));
    } else init[f.field] = parseField(f, v[key], at, profile, false);
  }
  let state: ThreadState;
  try {
    state = threadState(init, profile);
  } catch (e) {
    // the state's fields are checked above; what is left is how they go together
    if (e instanceof StateError) throw new InputError(path, e.message);
    throw e;
  }
  return state;
}

/** Names are ASCII: a non-ASCII one becomes one that matches nothing (toUpperCase folds "ı" into "I"). */
function ascii(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) ? name : "\u0000";
}

function parseVersion(v: unknown, path: string): number {
  if (v === undefined) return CAPABILITY_VERSION.v3;
  if (typeof v === "string") {
    const key = v.trim().toLowerCase();
    if (key === "v1" || key === "v2" || key === "v3") return CAPABILITY_VERSION[key];
    if (/^0x[0-9a-f]{1,8}$/.test(key)) return parseInt(key, 16);
    throw new InputError(path, `expected "v1", "v2", "v3" or a number, got ${preview(v)}`);
  }
  return int(v, path, 0, 0xffffffff);
}

function parseOption(v: unknown, path: string): number {
  if (typeof v === "number") return int(v, path, -0x80000000, 0x7fffffff);
  if (typeof v === "string") {
    const key = ascii(v).trim().toUpperCase();
    const option = PRCTL[(key.startsWith("PR_") ? key : `PR_${key}`) as keyof typeof PRCTL];
    if (option !== undefined) return option;
  }
  throw new InputError(
    path,
    `unknown prctl option ${preview(v)} (names: ${Object.keys(PRCTL).join(", ")}, or a number)`,
  );
}

/** A prctl argument: a number (negative ones as C would pass them), a hex string, or a name. */
function parseArg(v: unknown, path: string, option: number): number | bigint {
  if (v === undefined) return 0;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new InputError(path, `expected an integer, got ${v}`);
    return v;
  }
  if (Array.isArray(v) && option === PRCTL.PR_SET_SECUREBITS) return parseSecurebits(v, path);
  if (typeof v === "string") {
    const text = v.trim();
    if (/^0x[0-9a-f]{1,16}$/i.test(text)) return BigInt(text);
    const upper = ascii(text).toUpperCase();
    const sub =
      AMBIENT_SUBOP[
        (upper.startsWith("PR_CAP_AMBIENT_") ? upper : `PR_CAP_AMBIENT_${upper}`) as keyof typeof AMBIENT_SUBOP
      ];
    if (option === PRCTL.PR_CAP_AMBIENT && sub !== undefined && path.endsWith("arg2")) return sub;
    if (option === PRCTL.PR_SET_SECUREBITS) return parseSecurebits(text, path);
    const cap = capabilityNumber(text);
    if (cap !== undefined) return cap; // the kernel itself rejects a capability it lacks (EINVAL)
  }
  throw new InputError(path, `expected a number or a capability / sub-operation name, got ${preview(v)}`);
}

function parseFileCaps(v: unknown, profile: KernelProfile, path: string): FileCaps {
  if (!isObject(v)) throw new InputError(path, "expected an object");
  only(v, ["permitted", "inheritable", "effective", "version", "rootid"], path);
  // a rootid is a v3 field: given alone it means version 3, with version 1 or 2 it is an error
  const version =
    v["version"] === undefined ? (v["rootid"] === undefined ? 2 : 3) : int(v["version"], `${path}.version`, 1, 3);
  if (v["rootid"] !== undefined && version !== 3)
    throw new InputError(
      `${path}.rootid`,
      `only version 3 file capabilities have a rootid (this is version ${version})`,
    );
  return {
    permitted:
      v["permitted"] === undefined
        ? CapSet.EMPTY
        : parseSetInput(v["permitted"], profile, `${path}.permitted`, { rawMask: true }),
    inheritable:
      v["inheritable"] === undefined
        ? CapSet.EMPTY
        : parseSetInput(v["inheritable"], profile, `${path}.inheritable`, { rawMask: true }),
    effective: v["effective"] === undefined ? false : bool(v["effective"], `${path}.effective`),
    version: version as 1 | 2 | 3,
    rootid: v["rootid"] === undefined ? 0 : int(v["rootid"], `${path}.rootid`, 0, 0xfffffffe),
  };
}

export function parseOp(v: Json, profile: KernelProfile, path: string): Op {
  const common = ["op", "expect", "note"];
  const get = (k: string) => v[k];
  if (typeof v["op"] === "string" && isIdCallName(v["op"])) {
    // a call of one id needs it; in one of several, a missing id is -1 ("unchanged")
    const name = v["op"];
    const fields: readonly string[] = ID_CALL_ARGS[name];
    only(v, [...common, ...fields], path);
    const ids = fields.map((f) => [
      f,
      uidArg(fields.length === 1 ? required(v, f, path) : (get(f) ?? -1), `${path}.${f}`),
    ]);
    return { op: name, ...(Object.fromEntries(ids) as Record<string, number>) } as unknown as Op;
  }
  switch (v["op"]) {
    case "capget":
      only(v, [...common, "version", "pid", "data"], path);
      return {
        op: "capget",
        version: parseVersion(get("version"), `${path}.version`),
        pid: get("pid") === undefined ? 0 : int(get("pid"), `${path}.pid`, -0x80000000, 0x7fffffff),
        data: get("data") === undefined ? true : bool(get("data"), `${path}.data`),
      };
    case "capset": {
      only(v, [...common, "version", "pid", "data", "effective", "permitted", "inheritable"], path);
      const set = (k: string) =>
        get(k) === undefined ? undefined : parseSetInput(get(k), profile, `${path}.${k}`, { rawMask: true });
      const op: Op = {
        op: "capset",
        version: parseVersion(get("version"), `${path}.version`),
        pid: get("pid") === undefined ? 0 : int(get("pid"), `${path}.pid`, -0x80000000, 0x7fffffff),
        data: get("data") === undefined ? true : bool(get("data"), `${path}.data`),
        ...(get("effective") !== undefined && { effective: set("effective") }),
        ...(get("permitted") !== undefined && { permitted: set("permitted") }),
        ...(get("inheritable") !== undefined && { inheritable: set("inheritable") }),
      };
      return op;
    }
    case "prctl": {
      only(v, [...common, "option", "arg2", "arg3", "arg4", "arg5"], path);
      if (get("option") === undefined)
        throw new InputError(`${path}.option`, 'missing (a name such as "PR_CAP_AMBIENT" or a number)');
      const option = parseOption(get("option"), `${path}.option`);
      return {
        op: "prctl",
        option,
        arg2: parseArg(get("arg2"), `${path}.arg2`, option),
        arg3: parseArg(get("arg3"), `${path}.arg3`, option),
        arg4: parseArg(get("arg4"), `${path}.arg4`, option),
        arg5: parseArg(get("arg5"), `${path}.arg5`, option),
      };
    }
    case "setgroups": {
      only(v, [...common, "groups"], path);
      const groups = required(v, "groups", path);
      if (!Array.isArray(groups)) throw new InputError(`${path}.groups`, "expected a list of gids");
      // any length: the kernel refuses more than NGROUPS_MAX itself
      return { op: "setgroups", groups: groups.map((g, i) => int(g, `${path}.groups[${i}]`, 0, 0xffffffff)) };
    }
    case "unshare": {
      only(v, [...common, "user", "uidMap", "gidMap", "setgroups", "multithreaded"], path);
      if (get("user") !== true)
        throw new InputError(`${path}.user`, "expected true (capgate models unshare(CLONE_NEWUSER) only)");
      return {
        op: "unshare",
        ...(get("uidMap") !== undefined && { uidMap: parseMap(get("uidMap"), `${path}.uidMap`) }),
        ...(get("gidMap") !== undefined && { gidMap: parseMap(get("gidMap"), `${path}.gidMap`) }),
        ...(get("setgroups") !== undefined && { setgroups: parseSetgroupsMode(get("setgroups"), `${path}.setgroups`) }),
        ...(get("multithreaded") !== undefined && {
          multithreaded: bool(get("multithreaded"), `${path}.multithreaded`),
        }),
      };
    }
    case "execve": {
      only(v, [...common, "file", "ptraced"], path);
      return {
        op: "execve",
        file: parseExecFile(get("file") ?? {}, profile, `${path}.file`, true),
        ...(get("ptraced") !== undefined && { ptraced: bool(get("ptraced"), `${path}.ptraced`) }),
      };
    }
    default:
      throw new InputError(
        `${path}.op`,
        `${v["op"] === undefined ? "missing" : `unknown op ${typeof v["op"] === "string" ? preview(v["op"]) : `(${typeof v["op"]})`}`} (expected one of: ${OP_LIST})`,
      );
  }
}

const OP_LIST =
  "capget, capset, prctl, setuid, seteuid, setreuid, setresuid, setfsuid, setgid, setegid, setregid, setresgid, setfsgid, setgroups, unshare, execve";

function required(v: Json, key: string, path: string): unknown {
  if (v[key] === undefined) throw new InputError(`${path}.${key}`, "missing");
  return v[key];
}

function parseExpectation(v: unknown, profile: KernelProfile, path: string): Expectation {
  if (!isObject(v)) throw new InputError(path, "expected an object");
  only(v, ["ok", "errno", "ret", "rule", "state", "secureExec"], path);
  const out: { -readonly [K in keyof Expectation]: Expectation[K] } = {};
  if (v["ok"] !== undefined) out.ok = bool(v["ok"], `${path}.ok`);
  if (v["errno"] !== undefined) {
    const e = v["errno"];
    if (e !== null && (typeof e !== "string" || ERRNO_NUMBERS[e] === undefined)) {
      throw new InputError(
        `${path}.errno`,
        `expected null or one of ${Object.keys(ERRNO_NUMBERS).join(", ")}, got ${preview(e)}`,
      );
    }
    out.errno = e;
  }
  if (v["ret"] !== undefined) out.ret = int(v["ret"], `${path}.ret`, -0x80000000, 0xffffffff) | 0;
  if (v["rule"] !== undefined) {
    if (typeof v["rule"] !== "string" || !ruleById(v["rule"]))
      throw new InputError(`${path}.rule`, `unknown rule id ${preview(v["rule"])} (see "capgate rules")`);
    out.rule = v["rule"];
  }
  if (v["secureExec"] !== undefined) out.secureExec = bool(v["secureExec"], `${path}.secureExec`);
  if (v["state"] !== undefined) {
    const s = v["state"];
    if (!isObject(s)) throw new InputError(`${path}.state`, "expected an object");
    only(s, EXPECTED_KEYS, `${path}.state`);
    const st: Record<string, unknown> = {};
    for (const f of STATE_FORMS.filter(expectable)) {
      if (f.group && s[f.group] !== undefined && !(f.field in st))
        Object.assign(st, parseIdGroup(s[f.group], `${path}.state.${f.group}`, f.group));
      if (s[f.key] !== undefined) st[f.field] = parseField(f, s[f.key], `${path}.state.${f.key}`, profile, true);
    }
    out.state = st;
  }
  return out;
}

/** An execve file spec; a script's `interpreter` is one too (without an interpreter of its own). */
function parseExecFile(file: unknown, profile: KernelProfile, path: string, script: boolean): ExecFile {
  if (!isObject(file)) throw new InputError(path, "expected an object");
  only(
    file,
    ["setuid", "owner", "setgid", "group", "caps", "path", "nosuid", ...(script ? ["interpreter"] : [])],
    path,
  );
  return {
    setuid: file["setuid"] === undefined ? false : bool(file["setuid"], `${path}.setuid`),
    owner: file["owner"] === undefined ? 0 : int(file["owner"], `${path}.owner`, 0, 0xfffffffe),
    ...(file["setgid"] !== undefined && { setgid: bool(file["setgid"], `${path}.setgid`) }),
    ...(file["group"] !== undefined && { group: int(file["group"], `${path}.group`, 0, 0xfffffffe) }),
    ...(file["caps"] !== undefined && { caps: parseFileCaps(file["caps"], profile, `${path}.caps`) }),
    ...(file["nosuid"] !== undefined && { nosuid: bool(file["nosuid"], `${path}.nosuid`) }),
    ...(file["interpreter"] !== undefined && {
      interpreter: parseExecFile(file["interpreter"], profile, `${path}.interpreter`, false),
    }),
  };
}

/** Parses a scenario document (already JSON-decoded). */
export function parseScenario(doc: unknown): Scenario {
  if (!isObject(doc)) throw new InputError("", 'a scenario must be a JSON object with "steps"');
  if (jsonDepth(doc) > MAX_JSON_DEPTH) throw new InputError("", `nested deeper than ${MAX_JSON_DEPTH} levels`);
  only(doc, ["kernel", "state", "tasks", "steps", "description", "$schema"], "");
  let profile: KernelProfile;
  try {
    const kernel = doc["kernel"];
    if (kernel !== undefined && typeof kernel !== "string")
      throw new InputError(
        "kernel",
        `expected a version string such as "6.18", got ${typeof kernel === "object" ? (Array.isArray(kernel) ? "a list" : "an object") : preview(kernel)}`,
      );
    profile = kernelProfile(kernel);
  } catch (e) {
    if (e instanceof ProfileError) throw new InputError("kernel", e.message);
    throw e;
  }
  if (doc["kernel"] !== undefined && typeof doc["kernel"] !== "string")
    throw new InputError("kernel", 'expected a string such as "6.18"');
  const state = parseState(doc["state"], profile);
  const tasks = doc["tasks"] === undefined ? undefined : parseTasks(doc["tasks"], profile, state);
  const steps = doc["steps"];
  if (!Array.isArray(steps)) throw new InputError("steps", "expected a list of steps");
  return {
    profile,
    state,
    ...(tasks && { tasks }),
    ...(typeof doc["description"] === "string" && { description: doc["description"] }),
    steps: steps.map((step, i) => {
      const path = `steps[${i}]`;
      if (!isObject(step)) throw new InputError(path, 'expected an object with "op"');
      const op = withTasks(parseOp(step, profile, path), tasks);
      return {
        op,
        ...(step["expect"] !== undefined && { expect: parseExpectation(step["expect"], profile, `${path}.expect`) }),
        ...(typeof step["note"] === "string" && { note: step["note"] }),
      };
    }),
  };
}

/** The document's `tasks`: each a state of its own (its sets are what capget reads). */
function parseTasks(v: unknown, profile: KernelProfile, caller: ThreadState): Task[] {
  if (!Array.isArray(v)) throw new InputError("tasks", "expected a list of tasks");
  const seen = new Set<number>([caller.tid]);
  return v.map((t, i) => {
    const path = `tasks[${i}]`;
    if (!isObject(t)) throw new InputError(path, 'expected an object with "tid"');
    const tid = int(required(t, "tid", path), `${path}.tid`, 1, 0x3fffffff);
    if (seen.has(tid)) throw new InputError(`${path}.tid`, `tid ${tid} is taken (the caller's or another task's)`);
    seen.add(tid);
    const thread = t["thread"] === undefined ? false : bool(t["thread"], `${path}.thread`);
    const rest: Json = { ...t };
    delete rest["tid"];
    delete rest["thread"];
    const s = parseState({ ...rest, tid }, profile, path);
    return { tid, thread, effective: s.effective, permitted: s.permitted, inheritable: s.inheritable };
  });
}

/** What `tasks` tells an op: capget's target sets (or that there is no such task), unshare's threads. */
function withTasks(op: Op, tasks: readonly Task[] | undefined): Op {
  if (!tasks) return op;
  if (op.op === "capget") {
    const t = tasks.find((x) => x.tid === op.pid);
    return {
      ...op,
      target: t
        ? { effective: t.effective, permitted: t.permitted, inheritable: t.inheritable, thread: t.thread }
        : null,
    };
  }
  // a thread of the caller's own makes its process multithreaded, unless the step says how it is
  if (op.op === "unshare" && op.multithreaded === undefined && tasks.some((t) => t.thread))
    return { ...op, multithreaded: true };
  return op;
}
