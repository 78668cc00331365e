// A kernel profile is one u32: bits 0..7 hold CAP_LAST_CAP, the bits above say which
// features that kernel has. src/kernel/profiles.ts builds it from a "MAJOR.MINOR" version.

export const FEAT_NO_NEW_PRIVS: u32 = 1 << 8; //     3.5: PR_SET/GET_NO_NEW_PRIVS
export const FEAT_AMBIENT: u32 = 1 << 9; //          4.3: PR_CAP_AMBIENT, SECBIT_NO_CAP_AMBIENT_RAISE
export const FEAT_FCAPS_V3: u32 = 1 << 10; //        4.14: VFS_CAP_REVISION_3 (namespaced file caps)
export const FEAT_EXEC_SECUREBITS: u32 = 1 << 11; // 6.14: SECBIT_EXEC_RESTRICT_FILE/_DENY_INTERACTIVE
export const FEAT_EXEC_ID_CHANGED: u32 = 1 << 12; // "exec: Correct the permission check for unsafe exec":
//                                                   set-id compares new euid with old euid, not old ruid

@inline export function lastCap(profile: u32): u32 {
  return profile & 0xff;
}

@inline export function has(profile: u32, feature: u32): bool {
  return (profile & feature) != 0;
}

// CAP_VALID_MASK of the profile: bits 0..CAP_LAST_CAP.
@inline export function validMask(profile: u32): u64 {
  const last = lastCap(profile);
  return last >= 63 ? <u64>-1 : ((<u64>1) << (<u64>last + 1)) - 1;
}

@inline export function capValid(profile: u32, cap: u64): bool {
  return cap <= <u64>lastCap(profile);
}

@inline export function bit(cap: u64): u64 {
  return (<u64>1) << cap;
}
