import type { CapSet } from "./capabilities/set.js";
import { ArgumentError } from "./errors.js";
import type { ExecFile } from "./capabilities/xattr.js";
import type { IdExtent } from "./userns.js";

export type { FileCaps, ExecFile } from "./capabilities/xattr.js";

/** The sets capget reads from another task. */
export interface TaskSets {
  readonly effective: CapSet;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  /** A thread of the caller's own process (else another process). */
  readonly thread?: boolean;
}
/**
 * capget(2). `data: false` passes a NULL data pointer (the version probe). `target` says what
 * the engine knows of another pid: its sets, or null when the pid namespace is known to have no
 * such task (ESRCH); left out, another pid is outside the model.
 */
export interface CapgetOp {
  readonly op: "capget";
  readonly version?: number;
  readonly pid?: number;
  readonly data?: boolean;
  readonly target?: TaskSets | null;
}
/** capset(2). Omitted sets keep their current value; `data: false` passes a NULL data pointer. */
export interface CapsetOp {
  readonly op: "capset";
  readonly version?: number;
  readonly pid?: number;
  readonly data?: boolean;
  readonly effective?: CapSet;
  readonly permitted?: CapSet;
  readonly inheritable?: CapSet;
}
/** prctl(2) with all five arguments (unsigned long: a number, or a bigint for 64 bits). */
export interface PrctlOp {
  readonly op: "prctl";
  readonly option: number;
  readonly arg2?: number | bigint;
  readonly arg3?: number | bigint;
  readonly arg4?: number | bigint;
  readonly arg5?: number | bigint;
}
/** uid arguments: -1 means "unchanged" where the call allows it. */
export interface SetuidOp {
  readonly op: "setuid";
  readonly uid: number;
}
export interface SeteuidOp {
  readonly op: "seteuid";
  readonly euid: number;
}
export interface SetreuidOp {
  readonly op: "setreuid";
  readonly ruid: number;
  readonly euid: number;
}
export interface SetresuidOp {
  readonly op: "setresuid";
  readonly ruid: number;
  readonly euid: number;
  readonly suid: number;
}
export interface SetfsuidOp {
  readonly op: "setfsuid";
  readonly fsuid: number;
}

/** gid arguments: -1 means "unchanged" where the call allows it. */
export interface SetgidOp {
  readonly op: "setgid";
  readonly gid: number;
}
export interface SetegidOp {
  readonly op: "setegid";
  readonly egid: number;
}
export interface SetregidOp {
  readonly op: "setregid";
  readonly rgid: number;
  readonly egid: number;
}
export interface SetresgidOp {
  readonly op: "setresgid";
  readonly rgid: number;
  readonly egid: number;
  readonly sgid: number;
}
export interface SetfsgidOp {
  readonly op: "setfsgid";
  readonly fsgid: number;
}
/** setgroups(2): the new supplementary groups (the kernel sorts them). */
export interface SetgroupsOp {
  readonly op: "setgroups";
  readonly groups: readonly number[];
}
/**
 * unshare(CLONE_NEWUSER), then the maps a privileged helper (newuidmap) writes from the parent
 * namespace: outside ids are ids of the caller's namespace. `multithreaded`: the process has
 * other threads (EINVAL).
 */
export interface UnshareOp {
  readonly op: "unshare";
  readonly uidMap?: readonly IdExtent[];
  readonly gidMap?: readonly IdExtent[];
  readonly setgroups?: "allow" | "deny";
  readonly multithreaded?: boolean;
}

/** execve(2). `ptraced`: traced by a tracer without CAP_SYS_PTRACE over the new credentials. */
export interface ExecveOp {
  readonly op: "execve";
  readonly file: ExecFile;
  readonly ptraced?: boolean;
}

/** The set*id calls. */
export type IdCallOp =
  | SetuidOp
  | SeteuidOp
  | SetreuidOp
  | SetresuidOp
  | SetfsuidOp
  | SetgidOp
  | SetegidOp
  | SetregidOp
  | SetresgidOp
  | SetfsgidOp;

/**
 * The id arguments of each set*id call, in the order the system call takes them: one
 * declaration for the parser, the codec, the shim, descriptions and emitted scenarios.
 */
export const ID_CALL_ARGS: {
  readonly [K in IdCallOp["op"]]: readonly Exclude<keyof Extract<IdCallOp, { op: K }>, "op">[];
} = {
  setuid: ["uid"],
  seteuid: ["euid"],
  setreuid: ["ruid", "euid"],
  setresuid: ["ruid", "euid", "suid"],
  setfsuid: ["fsuid"],
  setgid: ["gid"],
  setegid: ["egid"],
  setregid: ["rgid", "egid"],
  setresgid: ["rgid", "egid", "sgid"],
  setfsgid: ["fsgid"],
};

/** Whether `name` is a set*id call. */
export function isIdCallName(name: string): name is IdCallOp["op"] {
  return Object.prototype.hasOwnProperty.call(ID_CALL_ARGS, name);
}

/** Whether `op` is a set*id call. */
export function isIdCall(op: Op): op is IdCallOp {
  return isIdCallName(op.op);
}

/** A set*id call's id arguments, in the system call's order. */
export function idCallArgs(op: IdCallOp): number[] {
  return ID_CALL_ARGS[op.op].map((field) => idArg(op, field));
}

/** One id argument of a set*id op by its field name (one of ID_CALL_ARGS[op.op]). */
export function idArg(op: IdCallOp, field: string): number {
  const v = (op as unknown as Record<string, unknown>)[field];
  if (typeof v !== "number") throw new ArgumentError(`${op.op}: ${field} must be a number`);
  return v;
}

export type Op =
  | CapgetOp
  | CapsetOp
  | PrctlOp
  | SetuidOp
  | SeteuidOp
  | SetreuidOp
  | SetresuidOp
  | SetfsuidOp
  | ExecveOp
  | SetgidOp
  | SetegidOp
  | SetregidOp
  | SetresgidOp
  | SetfsgidOp
  | SetgroupsOp
  | UnshareOp;
export type OpName = Op["op"];
export const OP_NAMES: readonly OpName[] = [
  "capget",
  "capset",
  "prctl",
  "setuid",
  "seteuid",
  "setreuid",
  "setresuid",
  "setfsuid",
  "execve",
  "setgid",
  "setegid",
  "setregid",
  "setresgid",
  "setfsgid",
  "setgroups",
  "unshare",
];

/**
 * Refuses (ArgumentError, naming `where`) a value that is no op: an object whose `op` is one of
 * OP_NAMES, with a file object for execve and lists where lists belong. What each argument
 * means is checked where an op is encoded for the engine; this is for the functions that only
 * describe or write an op.
 */
export function requireOp(op: unknown, where: string): asserts op is Op {
  const o = op as Record<string, unknown> | null;
  const bad = (why: string) => new ArgumentError(`${where}: ${why}`);
  if (typeof o !== "object" || o === null) throw bad("an op must be an object");
  if (typeof o["op"] !== "string" || !(OP_NAMES as readonly string[]).includes(o["op"]))
    throw bad(`unknown op (the ops are ${OP_NAMES.join(", ")})`);
  if (o["op"] === "execve") {
    const f = o["file"] as Record<string, unknown> | null;
    if (typeof f !== "object" || f === null) throw bad("execve's file must be an object");
    if (f["interpreter"] !== undefined && (typeof f["interpreter"] !== "object" || f["interpreter"] === null))
      throw bad("execve's interpreter must be an object");
  }
  if (o["op"] === "setgroups" && !Array.isArray(o["groups"])) throw bad("setgroups' groups must be a list");
  for (const k of ["uidMap", "gidMap"])
    if (o[k] !== undefined && (!Array.isArray(o[k]) || !(o[k] as unknown[]).every((e) => Array.isArray(e))))
      throw bad(`${k} must be a list of extents`);
  if (isIdCallName(o["op"]))
    for (const k of ID_CALL_ARGS[o["op"]]) if (typeof o[k] !== "number") throw bad(`${o["op"]}: ${k} must be a number`);
}
