import type { CapSet } from "./capabilities/set.js";
import type { ExecFile } from "./capabilities/xattr.js";

export type { FileCaps, ExecFile } from "./capabilities/xattr.js";

/** capget(2). `data: false` passes a NULL data pointer (the version probe). */
export interface CapgetOp {
  readonly op: "capget";
  readonly version?: number;
  readonly pid?: number;
  readonly data?: boolean;
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

export interface ExecveOp {
  readonly op: "execve";
  readonly file: ExecFile;
}

export type Op =
  CapgetOp | CapsetOp | PrctlOp | SetuidOp | SeteuidOp | SetreuidOp | SetresuidOp | SetfsuidOp | ExecveOp;
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
];
