import { CapSet } from "./capabilities/set.js";

/** capget(2). `data: false` passes a NULL data pointer (the version probe). */
export interface CapgetOp { readonly op: "capget"; readonly version?: number; readonly pid?: number; readonly data?: boolean }
/** capset(2). Omitted sets keep their current value; `data: false` passes a NULL data pointer. */
export interface CapsetOp {
  readonly op: "capset"; readonly version?: number; readonly pid?: number; readonly data?: boolean;
  readonly effective?: CapSet; readonly permitted?: CapSet; readonly inheritable?: CapSet;
}
/** prctl(2) with all five arguments (unsigned long: a number, or a bigint for 64 bits). */
export interface PrctlOp {
  readonly op: "prctl"; readonly option: number;
  readonly arg2?: number | bigint; readonly arg3?: number | bigint; readonly arg4?: number | bigint; readonly arg5?: number | bigint;
}
/** uid arguments: -1 means "unchanged" where the call allows it. */
export interface SetuidOp { readonly op: "setuid"; readonly uid: number }
export interface SeteuidOp { readonly op: "seteuid"; readonly euid: number }
export interface SetreuidOp { readonly op: "setreuid"; readonly ruid: number; readonly euid: number }
export interface SetresuidOp { readonly op: "setresuid"; readonly ruid: number; readonly euid: number; readonly suid: number }
export interface SetfsuidOp { readonly op: "setfsuid"; readonly fsuid: number }

/** File capabilities as stored in the security.capability xattr. */
export interface FileCaps {
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  /** The effective bit of magic_etc. */
  readonly effective: boolean;
  /** VFS_CAP_REVISION_1, 2 or 3; default 2. */
  readonly version?: 1 | 2 | 3;
  /** v3 only: the uid that is root for these capabilities (0: this namespace's root). */
  readonly rootid?: number;
}
export interface ExecFile {
  readonly setuid?: boolean;
  /** The file's owner (the new euid when setuid is honoured). */
  readonly owner?: number;
  /** Omit for a file without the xattr. */
  readonly caps?: FileCaps;
}
export interface ExecveOp { readonly op: "execve"; readonly file: ExecFile }

export type Op = CapgetOp | CapsetOp | PrctlOp | SetuidOp | SeteuidOp | SetreuidOp | SetresuidOp | SetfsuidOp | ExecveOp;
export type OpName = Op["op"];
export const OP_NAMES: readonly OpName[] = ["capget", "capset", "prctl", "setuid", "seteuid", "setreuid", "setresuid", "setfsuid", "execve"];
