import { CapSet } from "./capabilities/set.js";
import { CAPABILITY_VERSION } from "./kernel/constants.js";
import { OP, OPK, OPF_DATA, FILE_SETUID, FILE_HAS_CAPS, FILE_EFFECTIVE } from "./engine/layout.js";

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

const U64_MASK = 0xffffffffffffffffn;

function putArg(words: Uint32Array, at: number, value: number | bigint | undefined): void {
  if (value === undefined) { words[at] = 0; words[at + 1] = 0; return; }
  if (typeof value === "number") {
    if (value >= 0 && value <= 0xffffffff) { words[at] = value; words[at + 1] = 0; return; }
    value = BigInt(value);
  }
  const v = value & U64_MASK; // a negative C long passed as unsigned long
  words[at] = Number(v & 0xffffffffn);
  words[at + 1] = Number(v >> 32n);
}

function putSet(words: Uint32Array, at: number, set: CapSet): void {
  words[at] = set.lo;
  words[at + 1] = set.hi;
}

/** Writes the op record at word offset `at`; capset's omitted sets come from `current`. */
export function encodeOp(words: Uint32Array, at: number, op: Op, current: { effective: CapSet; permitted: CapSet; inheritable: CapSet }): void {
  for (let k = 0; k < 16; k++) words[at + k] = 0;
  switch (op.op) {
    case "capget":
      words[at + OP.kind] = OPK.capget;
      words[at + OP.a] = op.version ?? CAPABILITY_VERSION.v3;
      words[at + OP.b] = op.pid ?? 0;
      words[at + OP.c] = op.data === false ? 0 : OPF_DATA;
      return;
    case "capset":
      words[at + OP.kind] = OPK.capset;
      words[at + OP.a] = op.version ?? CAPABILITY_VERSION.v3;
      words[at + OP.b] = op.pid ?? 0;
      words[at + OP.c] = op.data === false ? 0 : OPF_DATA;
      putSet(words, at + OP.x0, op.effective ?? current.effective);
      putSet(words, at + OP.x1, op.permitted ?? current.permitted);
      putSet(words, at + OP.x2, op.inheritable ?? current.inheritable);
      return;
    case "prctl":
      words[at + OP.kind] = OPK.prctl;
      words[at + OP.a] = op.option;
      putArg(words, at + OP.x0, op.arg2);
      putArg(words, at + OP.x1, op.arg3);
      putArg(words, at + OP.x2, op.arg4);
      putArg(words, at + OP.x3, op.arg5);
      return;
    case "setuid":
      words[at + OP.kind] = OPK.setuid; words[at + OP.a] = op.uid; return;
    case "seteuid":
      words[at + OP.kind] = OPK.seteuid; words[at + OP.a] = op.euid; return;
    case "setreuid":
      words[at + OP.kind] = OPK.setreuid; words[at + OP.a] = op.ruid; words[at + OP.b] = op.euid; return;
    case "setresuid":
      words[at + OP.kind] = OPK.setresuid; words[at + OP.a] = op.ruid; words[at + OP.b] = op.euid; words[at + OP.c] = op.suid; return;
    case "setfsuid":
      words[at + OP.kind] = OPK.setfsuid; words[at + OP.a] = op.fsuid; return;
    case "execve": {
      const { file } = op;
      words[at + OP.kind] = OPK.execve;
      words[at + OP.a] = file.owner ?? 0;
      let flags = file.setuid ? FILE_SETUID : 0;
      if (file.caps) {
        flags |= FILE_HAS_CAPS | (file.caps.effective ? FILE_EFFECTIVE : 0);
        words[at + OP.b] = file.caps.version ?? 2;
        putSet(words, at + OP.x0, file.caps.permitted);
        putSet(words, at + OP.x1, file.caps.inheritable);
        words[at + OP.d] = file.caps.rootid ?? 0;
      }
      words[at + OP.c] = flags;
      return;
    }
  }
}
