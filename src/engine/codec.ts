// The one codec of the engine's records (layout: contract/engine.json, via the generated
// src/engine/contract.ts): every read and write of a state, op, result, check, sequence or
// runner-step record in TypeScript goes through here, whether the words live in wasm memory or
// in a buffer for the kernel runner. Offsets are in 32-bit words.
import { CapSet } from "../capabilities/set.js";
import { CAPABILITY_VERSION } from "../kernel/constants.js";
import { OP_NAMES, type Op } from "../ops.js";
import type { IdExtent } from "../userns.js";
import { CapgateInputError } from "../errors.js";
import { isList } from "../args.js";
import type { ThreadState } from "../state.js";
import {
  OUTCOME_NOT_MODELLED,
  OUTCOME_SUCCEEDED,
  OP,
  RS,
  CK,
  SQ,
  SP,
  OPK,
  OPF_DATA,
  FILE_SETUID,
  FILE_SETGID,
  FILE_PTRACED,
  OPF_TASK_FOUND,
  OPF_TASK_THREAD,
  OPF_TASKS_KNOWN,
  OPF_MULTITHREADED,
  OPF_SETGROUPS_DENY,
  OPF_UID_MAP,
  OPF_GID_MAP,
  GROUPS_MAX,
  NS_EXTENTS_MAX,
  FILE_NOSUID,
  FILE_SCRIPT,
  FILE_HAS_CAPS,
  FILE_EFFECTIVE,
  STEPF_SECURE,
} from "./contract.js";

const U64_MASK = 0xffffffffffffffffn;
/** The op record's words before its list, which only setgroups and unshare use (and write). */
const OP_HEAD_WORDS = OP.list;

function putSet(w: Uint32Array, at: number, set: CapSet): void {
  w[at] = set.lo;
  w[at + 1] = set.hi;
}

// The state record's codec is generated from the contract with its fields (state-codec.ts).
import { getSet, readState, writeState } from "./state-codec.js";
import { writeOpMaps } from "./userns-codec.js";
export { getSet, readState, writeState };

/** A uid argument as the kernel takes it (uid_t): 0..4294967295, -1 meaning "unchanged" (0xffffffff). */
function id(v: unknown, what: string): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= -1 && v <= 0xffffffff) return v >>> 0;
  throw new CapgateInputError(`${what} must be an integer from 0 to 4294967295 (or -1), got ${String(v)}`);
}

/** An integer argument within [min, max] (a header version, a pid, a prctl option), else bad input naming it. */
function int(v: unknown, min: number, max: number, what: string): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new CapgateInputError(`${what} must be an integer from ${min} to ${max}, got ${shown(v)}`);
}
/** A capability set argument: a CapSet (whose halves are always 32-bit words), else bad input. */
function caps(v: unknown, what: string): CapSet {
  if (v instanceof CapSet) return v;
  throw new CapgateInputError(`${what} must be a CapSet, got ${shown(v)}`);
}
/** A value in an error message: short, and never recursing into something deep. */
function shown(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "a list" : "an object";
  return String(v);
}

/** An unsigned long argument: an integer number, or a bigint for 64 bits (a negative C long wraps). */
function putArg(w: Uint32Array, at: number, value: number | bigint | undefined, what: string): void {
  if (value === undefined) {
    w[at] = 0;
    w[at + 1] = 0;
    return;
  }
  if (typeof value === "number") {
    if (value >= 0 && value <= 0xffffffff && value === value >>> 0) {
      w[at] = value;
      w[at + 1] = 0;
      return;
    }
    if (!Number.isSafeInteger(value))
      throw new CapgateInputError(`${what} must be an integer (or a bigint for 64 bits), got ${shown(value)}`);
    value = BigInt(value);
  } else if (typeof value !== "bigint")
    throw new CapgateInputError(`${what} must be an integer (or a bigint for 64 bits), got ${shown(value)}`);
  const v = value & U64_MASK;
  w[at] = Number(v & 0xffffffffn);
  w[at + 1] = Number(v >> 32n);
}

/** A map's extents, each three ids, at most NS_EXTENTS_MAX of them (else bad input naming the map). */
function extents(map: readonly IdExtent[] | undefined, what: string): readonly IdExtent[] {
  if (map === undefined) return [];
  if (!isList(map) || map.length > NS_EXTENTS_MAX)
    throw new CapgateInputError(`${what} must be a list of at most ${NS_EXTENTS_MAX} [inside, outside, count] extents`);
  for (const e of map)
    if (!Array.isArray(e) || e.length !== 3 || !e.every((x) => typeof x === "number" && x === x >>> 0))
      throw new CapgateInputError(`${what} must hold [inside, outside, count] extents of 32-bit ids, got ${shown(e)}`);
  return map;
}

/** Writes the op record at word `at`; capset's omitted sets come from `current`. */
export function encodeOp(
  w: Uint32Array,
  at: number,
  op: Op,
  current: { effective: CapSet; permitted: CapSet; inheritable: CapSet },
): void {
  if (typeof op !== "object" || op === null) throw new CapgateInputError(`an op must be an object, got ${shown(op)}`);
  for (let k = 0; k < OP_HEAD_WORDS; k++) w[at + k] = 0; // (a loop: fill() is a slower call for 14 words)
  switch (op.op) {
    case "capget":
      w[at + OP.kind] = OPK.capget;
      w[at + OP.a] =
        op.version === undefined ? CAPABILITY_VERSION.v3 : int(op.version, 0, 0xffffffff, "capget: version");
      w[at + OP.b] = op.pid === undefined ? 0 : int(op.pid, -0x80000000, 0x7fffffff, "capget: pid");
      w[at + OP.c] =
        (op.data === false ? 0 : OPF_DATA) |
        (op.target === undefined ? 0 : OPF_TASKS_KNOWN) |
        (op.target ? OPF_TASK_FOUND : 0) |
        (op.target?.thread ? OPF_TASK_THREAD : 0);
      if (op.target) {
        putSet(w, at + OP.x0, caps(op.target.effective, "capget: target.effective"));
        putSet(w, at + OP.x1, caps(op.target.permitted, "capget: target.permitted"));
        putSet(w, at + OP.x2, caps(op.target.inheritable, "capget: target.inheritable"));
      }
      return;
    case "capset":
      w[at + OP.kind] = OPK.capset;
      w[at + OP.a] =
        op.version === undefined ? CAPABILITY_VERSION.v3 : int(op.version, 0, 0xffffffff, "capset: version");
      w[at + OP.b] = op.pid === undefined ? 0 : int(op.pid, -0x80000000, 0x7fffffff, "capset: pid");
      w[at + OP.c] = op.data === false ? 0 : OPF_DATA;
      putSet(w, at + OP.x0, caps(op.effective ?? current.effective, "capset: effective"));
      putSet(w, at + OP.x1, caps(op.permitted ?? current.permitted, "capset: permitted"));
      putSet(w, at + OP.x2, caps(op.inheritable ?? current.inheritable, "capset: inheritable"));
      return;
    case "prctl":
      w[at + OP.kind] = OPK.prctl;
      w[at + OP.a] = int(op.option, -0x80000000, 0x7fffffff, "prctl: option");
      putArg(w, at + OP.x0, op.arg2, "prctl: arg2");
      putArg(w, at + OP.x1, op.arg3, "prctl: arg3");
      putArg(w, at + OP.x2, op.arg4, "prctl: arg4");
      putArg(w, at + OP.x3, op.arg5, "prctl: arg5");
      return;
    // The set*id calls, case by case on purpose: a loop over ID_CALL_ARGS (src/ops.ts) made
    // simulate() of these calls 24 ns (19%) slower; test/abi.test.ts holds these slots to the
    // declaration's order.
    case "setuid":
      w[at + OP.kind] = OPK.setuid;
      w[at + OP.a] = id(op.uid, "setuid: uid");
      return;
    case "seteuid":
      w[at + OP.kind] = OPK.seteuid;
      w[at + OP.a] = id(op.euid, "seteuid: euid");
      return;
    case "setreuid":
      w[at + OP.kind] = OPK.setreuid;
      w[at + OP.a] = id(op.ruid, "setreuid: ruid");
      w[at + OP.b] = id(op.euid, "setreuid: euid");
      return;
    case "setresuid":
      w[at + OP.kind] = OPK.setresuid;
      w[at + OP.a] = id(op.ruid, "setresuid: ruid");
      w[at + OP.b] = id(op.euid, "setresuid: euid");
      w[at + OP.c] = id(op.suid, "setresuid: suid");
      return;
    case "setfsuid":
      w[at + OP.kind] = OPK.setfsuid;
      w[at + OP.a] = id(op.fsuid, "setfsuid: fsuid");
      return;
    case "setgid":
      w[at + OP.kind] = OPK.setgid;
      w[at + OP.a] = id(op.gid, "setgid: gid");
      return;
    case "setegid":
      w[at + OP.kind] = OPK.setegid;
      w[at + OP.a] = id(op.egid, "setegid: egid");
      return;
    case "setregid":
      w[at + OP.kind] = OPK.setregid;
      w[at + OP.a] = id(op.rgid, "setregid: rgid");
      w[at + OP.b] = id(op.egid, "setregid: egid");
      return;
    case "setresgid":
      w[at + OP.kind] = OPK.setresgid;
      w[at + OP.a] = id(op.rgid, "setresgid: rgid");
      w[at + OP.b] = id(op.egid, "setresgid: egid");
      w[at + OP.c] = id(op.sgid, "setresgid: sgid");
      return;
    case "setfsgid":
      w[at + OP.kind] = OPK.setfsgid;
      w[at + OP.a] = id(op.fsgid, "setfsgid: fsgid");
      return;
    case "setgroups":
      w[at + OP.kind] = OPK.setgroups;
      if (!isList(op.groups))
        throw new CapgateInputError(`setgroups: groups must be a list of gids, got ${shown(op.groups)}`);
      // the real count (the engine answers "not modelled" above GROUPS_MAX), the first ids
      w[at + OP.a] = op.groups.length;
      for (let i = 0; i < Math.min(op.groups.length, GROUPS_MAX); i++)
        w[at + OP.list + i] = id(op.groups[i], "setgroups: gid");
      return;
    case "unshare":
      w[at + OP.kind] = OPK.unshare;
      w[at + OP.c] =
        (op.multithreaded ? OPF_MULTITHREADED : 0) |
        (op.setgroups === "deny" ? OPF_SETGROUPS_DENY : 0) |
        (op.uidMap ? OPF_UID_MAP : 0) |
        (op.gidMap ? OPF_GID_MAP : 0);
      writeOpMaps(w, at + OP.list, extents(op.uidMap, "unshare: uidMap"), extents(op.gidMap, "unshare: gidMap"));
      return;
    case "execve": {
      if (typeof op.file !== "object" || op.file === null)
        throw new CapgateInputError(`execve: file must be an object, got ${shown(op.file)}`);
      // a script is encoded as its interpreter (what the kernel computes the credentials from)
      const file = op.file.interpreter ?? op.file;
      w[at + OP.kind] = OPK.execve;
      w[at + OP.a] = id(file.owner ?? 0, "execve: file owner");
      w[at + OP.e] = id(file.group ?? 0, "execve: file group");
      let flags =
        (file.setuid ? FILE_SETUID : 0) |
        (file.setgid ? FILE_SETGID : 0) |
        (op.ptraced ? FILE_PTRACED : 0) |
        (file.nosuid ? FILE_NOSUID : 0) |
        (op.file.interpreter ? FILE_SCRIPT : 0);
      if (file.caps) {
        flags |= FILE_HAS_CAPS | (file.caps.effective ? FILE_EFFECTIVE : 0);
        w[at + OP.b] =
          file.caps.version === undefined
            ? file.caps.rootid !== undefined
              ? 3
              : 2
            : int(file.caps.version, 0, 0xffffffff, "execve: caps.version");
        putSet(w, at + OP.x0, caps(file.caps.permitted, "execve: caps.permitted"));
        putSet(w, at + OP.x1, caps(file.caps.inheritable, "execve: caps.inheritable"));
        w[at + OP.d] = id(file.caps.rootid ?? 0, "execve: file rootid");
      }
      w[at + OP.c] = flags;
      return;
    }
    default:
      throw new CapgateInputError(
        `unknown op ${shown((op as { op: unknown }).op)} (the ops are ${OP_NAMES.join(", ")})`,
      );
  }
}

/**
 * The engine's raw answer for one op (the result record), before it is explained. Sets stay u32
 * halves, so that nothing is allocated on the hot path until someone asks for them.
 */
export interface RawResult {
  ok: boolean;
  /** false: the engine cannot decide this call (ok, ret and errno mean nothing). */
  modelled: boolean;
  ret: number;
  /** errno number, 0 on success. */
  errno: number;
  /** The rule code (contract/engine.json). */
  rule: number;
  faultLo: number;
  faultHi: number;
  auxLo: number;
  auxHi: number;
  version: number;
  notes: number;
}

export function emptyResult(): RawResult {
  return {
    ok: false,
    modelled: true,
    ret: 0,
    errno: 0,
    rule: 0,
    faultLo: 0,
    faultHi: 0,
    auxLo: 0,
    auxHi: 0,
    version: 0,
    notes: 0,
  };
}

/** Reads a result record into `into` (a caller may reuse one object: readers copy what they keep). */
export function readResult(w: Uint32Array, at: number, into: RawResult = emptyResult()): RawResult {
  const outcome = w[at + RS.ok];
  into.ok = outcome === OUTCOME_SUCCEEDED;
  into.modelled = outcome !== OUTCOME_NOT_MODELLED;
  // (w[at + RS.x]!: every field offset lies inside the RS_SIZE record the caller's buffer holds)
  into.ret = w[at + RS.ret]! | 0;
  into.errno = w[at + RS.errno]!;
  into.rule = w[at + RS.rule]!;
  // (as above: inside the record)
  into.faultLo = w[at + RS.fault]!;
  into.faultHi = w[at + RS.fault + 1]!;
  into.auxLo = w[at + RS.aux]!;
  into.auxHi = w[at + RS.aux + 1]!;
  into.version = w[at + RS.version]!;
  into.notes = w[at + RS.notes]!;
  return into;
}

/** Only the fault and aux halves of a result record (the pre-flight's failure and notes paths). */
export function readFaultAux(w: Uint32Array, at: number, into: RawResult): void {
  // (every field offset lies inside the RS_SIZE record)
  into.faultLo = w[at + RS.fault]!;
  into.faultHi = w[at + RS.fault + 1]!;
  into.auxLo = w[at + RS.aux]!;
  into.auxHi = w[at + RS.aux + 1]!;
}

/** capget's data as the result record holds it (meaningful after a successful capget with data). */
export function readResultData(
  w: Uint32Array,
  at: number,
): { effective: CapSet; permitted: CapSet; inheritable: CapSet } {
  return {
    effective: getSet(w, at + RS.dataEffective),
    permitted: getSet(w, at + RS.dataPermitted),
    inheritable: getSet(w, at + RS.dataInheritable),
  };
}

/** A capsetCheckBatch record: the thread's P, E, I, B and the requested E, P, I. */
export function writeCheck(
  w: Uint32Array,
  at: number,
  state: { permitted: CapSet; effective: CapSet; inheritable: CapSet; bounding: CapSet },
  request: { effective: CapSet; permitted: CapSet; inheritable: CapSet },
): void {
  putSet(w, at + CK.permitted, state.permitted);
  putSet(w, at + CK.effective, state.effective);
  putSet(w, at + CK.inheritable, state.inheritable);
  putSet(w, at + CK.bounding, state.bounding);
  putSet(w, at + CK.newEffective, request.effective);
  putSet(w, at + CK.newPermitted, request.permitted);
  putSet(w, at + CK.newInheritable, request.inheritable);
}

/** A descriptor of evaluateSequences' table (byte addresses in engine memory). */
export function writeSequence(
  w: Uint32Array,
  at: number,
  d: { start: number; ops: number; count: number; results: number; states: number },
): void {
  w[at + SQ.start] = d.start;
  w[at + SQ.ops] = d.ops;
  w[at + SQ.count] = d.count;
  w[at + SQ.results] = d.results;
  w[at + SQ.states] = d.states;
}

/** What the kernel runner read back for one op. */
export interface KernelStep {
  readonly ret: number;
  /** errno number, 0 on success. */
  readonly errno: number;
  /** The header version after capget/capset. */
  readonly version: number;
  readonly data: { effective: CapSet; permitted: CapSet; inheritable: CapSet } | undefined;
  /** execve: the new program's AT_SECURE. */
  readonly secure: boolean | undefined;
  readonly state: ThreadState;
}

/** Decodes the runner's step record for `op`. */
export function readStep(w: Uint32Array, at: number, op: Op): KernelStep {
  const ret = w[at + SP.ret]! | 0; // (every SP offset lies inside the SP_SIZE record the runner wrote)
  const data =
    op.op === "capget" && ret === 0 && op.data !== false
      ? {
          effective: getSet(w, at + SP.dataEffective),
          permitted: getSet(w, at + SP.dataPermitted),
          inheritable: getSet(w, at + SP.dataInheritable),
        }
      : undefined;
  const secure = op.op === "execve" && ret === 0 ? (w[at + SP.flags]! & STEPF_SECURE) !== 0 : undefined; // (inside)
  return {
    ret,
    // (inside the record, as above)
    errno: w[at + SP.errno]!,
    version: w[at + SP.version]!,
    data,
    secure,
    state: readState(w, at + SP.state),
  };
}
