// Mirror of assembly/layout.ts, in 32-bit word offsets. test/abi.test.ts checks the sizes
// against the ones the wasm module exports.
export const STATE_SIZE = 80;
export const OP_SIZE = 64;
export const RESULT_SIZE = 64;
export const CHECK_SIZE = 56;

export const ST = {
  permitted: 0, effective: 2, inheritable: 4, bounding: 6, ambient: 8,
  securebits: 10, ruid: 11, euid: 12, suid: 13, fsuid: 14, flags: 15, tid: 16,
} as const;
export const FLAG_NO_NEW_PRIVS = 1;

export const OP = { kind: 0, a: 1, b: 2, c: 3, x0: 4, x1: 6, x2: 8, x3: 10, d: 12 } as const;
export const OPF_DATA = 1;
export const FILE_SETUID = 1, FILE_HAS_CAPS = 2, FILE_EFFECTIVE = 4;

export const OPK = {
  capget: 1, capset: 2, prctl: 3, setuid: 4, seteuid: 5, setreuid: 6, setresuid: 7, setfsuid: 8, execve: 9,
} as const;

export const RS = {
  ok: 0, ret: 1, errno: 2, rule: 3, fault: 4, dataEffective: 6, dataPermitted: 8, dataInheritable: 10,
  version: 12, notes: 13, aux: 14,
} as const;

export const CK = {
  permitted: 0, effective: 2, inheritable: 4, bounding: 6, newEffective: 8, newPermitted: 10, newInheritable: 12,
} as const;
