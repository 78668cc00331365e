// Rule codes: the engine's half of the shared rule list. The stable string ids, errno names,
// messages and hints live in src/rules/catalog.ts, indexed by these numbers;
// test/rules.test.ts fails if the two lists drift apart.

export const EPERM: u32 = 1;
export const ESRCH: u32 = 3;
export const EFAULT: u32 = 14;
export const EINVAL: u32 = 22;

export enum Rule {
  // capget(2): kernel/capability.c
  CapgetOk = 1,
  CapgetVersionUnknown = 2,
  CapgetVersionProbe = 3,
  CapgetNullData = 4,
  CapgetPidNegative = 5,
  CapgetNoSuchThread = 6,
  // capset(2): kernel/capability.c, security/commoncap.c cap_capset
  CapsetOk = 10,
  CapsetVersionUnknown = 11,
  CapsetPidNotSelf = 12,
  CapsetNullData = 13,
  CapsetInheritableNotPermitted = 14,
  CapsetInheritableOutsideBounding = 15,
  CapsetPermittedGrows = 16,
  CapsetEffectiveNotPermitted = 17,
  // prctl(2) dispatch: kernel/sys.c
  PrctlOptionUnknown = 20,
  // bounding set: cap_task_prctl PR_CAPBSET_*, cap_prctl_drop
  BoundingRead = 21,
  BoundingInvalidCap = 22,
  BoundingDrop = 23,
  BoundingDropNeedsSetpcap = 24,
  // ambient set: cap_task_prctl PR_CAP_AMBIENT
  AmbientArgsNonzero = 30,
  AmbientInvalidCap = 31,
  AmbientUnknownSubop = 32,
  AmbientRaiseNotPermitted = 33,
  AmbientRaiseNotInheritable = 34,
  AmbientRaiseSecurebit = 35,
  AmbientIsSet = 36,
  AmbientRaise = 37,
  AmbientLower = 38,
  AmbientClearAll = 39,
  // securebits: cap_task_prctl PR_GET/SET_SECUREBITS
  SecurebitsGet = 40,
  SecurebitsSet = 41,
  SecurebitsLockedBitChanges = 42,
  SecurebitsLockCleared = 43,
  SecurebitsUnsupportedBit = 44,
  SecurebitsNeedsSetpcap = 45,
  SecurebitsUnchangedNeedsSetpcap = 46,
  // keepcaps: cap_task_prctl PR_GET/SET_KEEPCAPS
  KeepcapsGet = 50,
  KeepcapsSet = 51,
  KeepcapsInvalidValue = 52,
  KeepcapsLocked = 53,
  // no_new_privs: kernel/sys.c
  NoNewPrivsGet = 55,
  NoNewPrivsSet = 56,
  NoNewPrivsInvalidArgs = 57,
  // set*uid: kernel/sys.c + cap_task_fix_setuid
  SetuidOk = 60,
  SetuidNoop = 61,
  SetuidNeedsCapSetuid = 62,
  SetuidInvalidId = 63,
  SetfsuidChanged = 64,
  SetfsuidUnchanged = 65,
  SetfsuidDenied = 66,
  // execve: cap_bprm_creds_from_file, get_vfs_caps_from_disk
  ExecveOk = 70,
  ExecveCapabilityDumb = 71,
  ExecveXattrInvalid = 72,
  // an op kind the engine does not know (only reachable through the raw ABI)
  OpUnknown = 99,
}

// Notes: silent side effects of a step, reported beside the deciding rule (a bit set).
export const NOTE_V1_TRUNCATED: u32 = 1 << 0; //          V1 header: caps 32.. not transferred
export const NOTE_ABOVE_LAST_CAP: u32 = 1 << 1; //        capset: bits above CAP_LAST_CAP dropped
export const NOTE_AMBIENT_TRIMMED: u32 = 1 << 2; //       capset: A := A & P' & I'
export const NOTE_FIXUP_DISABLED: u32 = 1 << 3; //        set*uid: SECBIT_NO_SETUID_FIXUP
export const NOTE_LEFT_ROOT_CLEARED: u32 = 1 << 4; //     all of r/e/s uid left 0: P, E cleared
export const NOTE_LEFT_ROOT_KEPT: u32 = 1 << 5; //        ... but SECBIT_KEEP_CAPS kept P
export const NOTE_AMBIENT_CLEARED: u32 = 1 << 6; //       set*uid leaving root, or execve
export const NOTE_EFFECTIVE_CLEARED: u32 = 1 << 7; //     euid 0 -> non-0
export const NOTE_EFFECTIVE_RAISED: u32 = 1 << 8; //      euid non-0 -> 0: E := P
export const NOTE_FS_DROPPED: u32 = 1 << 9; //            fsuid 0 -> non-0
export const NOTE_FS_RAISED: u32 = 1 << 10; //            fsuid non-0 -> 0
export const NOTE_EXEC_ROOT: u32 = 1 << 11; //            root rules: P' = B | I
export const NOTE_EXEC_NOROOT: u32 = 1 << 12; //          SECBIT_NOROOT kept root from them
export const NOTE_EXEC_SETUID_IGNORED: u32 = 1 << 13; //  no_new_privs: setuid bit ignored
export const NOTE_EXEC_DOWNGRADED: u32 = 1 << 14; //      unsafe exec: P' &= P, euid := uid
export const NOTE_EXEC_FCAPS_IGNORED: u32 = 1 << 15; //   v3 rootid is not our root
export const NOTE_EXEC_KEEPCAPS_CLEARED: u32 = 1 << 16;
export const NOTE_EXEC_SECURE: u32 = 1 << 17; //          AT_SECURE
export const NOTE_EXEC_SETUID_ROOT_FCAPS: u32 = 1 << 18; // setuid-root + file caps: file caps win
export const NOTE_EXEC_ID_CHANGED: u32 = 1 << 19;
export const NOTE_EXEC_MISSING_FILE_CAPS: u32 = 1 << 20; // fE clear: some fP not granted, tolerated
export const NOTE_SECUREBITS_LOCKED_NOOP: u32 = 1 << 21;

// Writers for the result record.
import { RS_OK, RS_RET, RS_ERRNO, RS_RULE, RS_FAULT, RS_NOTES, RS_AUX, RS_VERSION } from "./layout";

@inline export function succeed(res: usize, ret: i32, rule: Rule, notes: u32): u32 {
  store<u32>(res + RS_OK, 1);
  store<i32>(res + RS_RET, ret);
  store<u32>(res + RS_ERRNO, 0);
  store<u32>(res + RS_RULE, rule);
  store<u32>(res + RS_NOTES, notes);
  return rule;
}

@inline export function fail(res: usize, errno: u32, rule: Rule, fault: u64): u32 {
  store<u32>(res + RS_OK, 0);
  store<i32>(res + RS_RET, -1);
  store<u32>(res + RS_ERRNO, errno);
  store<u32>(res + RS_RULE, rule);
  store<u64>(res + RS_FAULT, fault);
  return rule;
}

// Clears the parts of a result that not every op writes, so that records never carry stale data.
@inline export function clearResult(res: usize): void {
  store<u64>(res + RS_FAULT, 0);
  store<u64>(res + 24, 0);
  store<u64>(res + 32, 0);
  store<u64>(res + 40, 0);
  store<u32>(res + RS_VERSION, 0);
  store<u32>(res + RS_NOTES, 0);
  store<u64>(res + RS_AUX, 0);
}
