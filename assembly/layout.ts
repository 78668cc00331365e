// The wasm ABI: fixed-layout records in linear memory, so that no 64-bit value ever has to
// cross the JS boundary as a BigInt (JS reads and writes them as little-endian u32 pairs).
// src/engine/layout.ts mirrors these numbers; test/abi.test.ts checks that they agree.

// Thread state record (STATE_SIZE bytes).
export const ST_PERMITTED: u32 = 0;
export const ST_EFFECTIVE: u32 = 8;
export const ST_INHERITABLE: u32 = 16;
export const ST_BOUNDING: u32 = 24;
export const ST_AMBIENT: u32 = 32;
export const ST_SECUREBITS: u32 = 40;
export const ST_RUID: u32 = 44;
export const ST_EUID: u32 = 48;
export const ST_SUID: u32 = 52;
export const ST_FSUID: u32 = 56;
export const ST_FLAGS: u32 = 60; // bit 0: no_new_privs (a task flag, not part of cred)
export const ST_TID: u32 = 64;
export const STATE_SIZE: u32 = 80;

export const FLAG_NO_NEW_PRIVS: u32 = 1;

// Operation record (OP_SIZE bytes). The meaning of the generic slots depends on the kind.
export const OP_KIND: u32 = 0;
export const OP_A: u32 = 4; //  capget/capset: header version; prctl: option; uid calls: first id; execve: owner
export const OP_B: u32 = 8; //  capget/capset: pid (i32);     uid calls: second id;             execve: xattr version
export const OP_C: u32 = 12; // capget/capset: flags;          uid calls: third id;              execve: flags
export const OP_X0: u32 = 16; // capset: effective;  prctl: arg2; execve: file permitted
export const OP_X1: u32 = 24; // capset: permitted;  prctl: arg3; execve: file inheritable
export const OP_X2: u32 = 32; // capset: inheritable; prctl: arg4
export const OP_X3: u32 = 40; //                      prctl: arg5
export const OP_D: u32 = 48; //  execve: v3 rootid
export const OP_SIZE: u32 = 64;

export const OPF_DATA: u32 = 1; // capget/capset: the data pointer is not NULL

// execve file flags (OP_C)
export const FILE_SETUID: u32 = 1;
export const FILE_HAS_CAPS: u32 = 2;
export const FILE_EFFECTIVE: u32 = 4;

export const OPK_CAPGET: u32 = 1;
export const OPK_CAPSET: u32 = 2;
export const OPK_PRCTL: u32 = 3;
export const OPK_SETUID: u32 = 4;
export const OPK_SETEUID: u32 = 5;
export const OPK_SETREUID: u32 = 6;
export const OPK_SETRESUID: u32 = 7;
export const OPK_SETFSUID: u32 = 8;
export const OPK_EXECVE: u32 = 9;

// Result record (RESULT_SIZE bytes).
export const RS_OK: u32 = 0;
export const RS_RET: u32 = 4; // i32, the syscall's return value as the kernel gives it
export const RS_ERRNO: u32 = 8;
export const RS_RULE: u32 = 12;
export const RS_FAULT: u32 = 16; // u64: the capabilities the deciding rule is about
export const RS_DATA_EFFECTIVE: u32 = 24; // capget data as copied out
export const RS_DATA_PERMITTED: u32 = 32;
export const RS_DATA_INHERITABLE: u32 = 40;
export const RS_VERSION: u32 = 48; // capget/capset: header version after the call
export const RS_NOTES: u32 = 52; // bit set of Note: silent side effects worth telling
export const RS_AUX: u32 = 56; // u64: a second capability set the explanation needs
export const RESULT_SIZE: u32 = 64;

// Compact record of the four capset checks (for capsetCheckBatch).
export const CK_PERMITTED: u32 = 0;
export const CK_EFFECTIVE: u32 = 8;
export const CK_INHERITABLE: u32 = 16;
export const CK_BOUNDING: u32 = 24;
export const CK_NEW_EFFECTIVE: u32 = 32;
export const CK_NEW_PERMITTED: u32 = 40;
export const CK_NEW_INHERITABLE: u32 = 48;
export const CHECK_SIZE: u32 = 56;
