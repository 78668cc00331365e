// Securebits: include/uapi/linux/securebits.h and cap_task_prctl PR_SET_SECUREBITS in
// security/commoncap.c.
import { ST_SECUREBITS, ST_EFFECTIVE, RS_FAULT, FEAT_AMBIENT, FEAT_EXEC_SECUREBITS, Rule, EPERM } from "./contract";
import { has, bit } from "./profile";
import { CAP_SETPCAP } from "./capabilities";
import { succeed, fail } from "./rules";

// The bits themselves are declared in contract/kernel.json (assembly/kernel.ts mirrors them).
import { SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS, SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_EXEC_RESTRICT_FILE, SECBIT_EXEC_DENY_INTERACTIVE } from "./kernel";
export { SECBIT_NOROOT, SECBIT_NOROOT_LOCKED, SECBIT_NO_SETUID_FIXUP, SECBIT_NO_SETUID_FIXUP_LOCKED, SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, SECBIT_EXEC_RESTRICT_FILE, SECBIT_EXEC_DENY_INTERACTIVE } from "./kernel";

// SECURE_ALL_BITS of the profile: the value bits that kernel knows.
@inline export function allBits(profile: u32): u32 {
  let bits = SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_KEEP_CAPS;
  if (has(profile, FEAT_AMBIENT)) bits |= SECBIT_NO_CAP_AMBIENT_RAISE; // 4.3
  if (has(profile, FEAT_EXEC_SECUREBITS)) bits |= SECBIT_EXEC_RESTRICT_FILE | SECBIT_EXEC_DENY_INTERACTIVE; // 6.14
  return bits;
}

// SECURE_ALL_UNPRIVILEGED (6.14) with its locks: the bits user space enforces on itself.
export const UNPRIVILEGED_AND_LOCKS: u32 = (SECBIT_EXEC_RESTRICT_FILE | SECBIT_EXEC_DENY_INTERACTIVE) * 3;

export function setSecurebits(profile: u32, st: usize, arg2: u64, res: usize, out: usize): u32 {
  const old = load<u32>(st + ST_SECUREBITS);
  const bits = allBits(profile);
  const locks = bits << 1;
  const oldLocks = <u64>(old & locks);
  // [1] a locked value bit would change
  const lockedChanges = (oldLocks >> 1) & (<u64>old ^ arg2);
  if (lockedChanges != 0) return fail(res, EPERM, Rule.SecurebitsLockedBitChanges, lockedChanges);
  // [2] a lock would be removed (locks are one-way)
  const unlocks = oldLocks & ~arg2;
  if (unlocks != 0) return fail(res, EPERM, Rule.SecurebitsLockCleared, unlocks);
  // [3] a bit this kernel does not know
  const unknown = arg2 & ~<u64>(bits | locks);
  if (unknown != 0) return fail(res, EPERM, Rule.SecurebitsUnsupportedBit, unknown);
  // [4] CAP_SETPCAP in the caller's own effective set (direct cap_capable, no other LSM).
  if ((load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETPCAP)) == 0) {
    const changed = <u64>old ^ arg2;
    if (!has(profile, FEAT_EXEC_SECUREBITS)) {
      // Up to 6.13 doing anything, even rewriting the same value, needs the capability.
      return fail(res, EPERM, changed == 0 ? Rule.SecurebitsUnchangedNeedsSetpcap : Rule.SecurebitsNeedsSetpcap, changed);
    }
    // 6.14+: "for legacy reason, denies non-change", and only the EXEC_* bits and their
    // locks may change without the capability.
    if (changed == 0) return fail(res, EPERM, Rule.SecurebitsUnchangedNeedsSetpcap, 0);
    const privileged = changed & ~<u64>UNPRIVILEGED_AND_LOCKS;
    if (privileged != 0) return fail(res, EPERM, Rule.SecurebitsNeedsSetpcap, privileged);
  }
  store<u32>(out + ST_SECUREBITS, <u32>arg2);
  store<u64>(res + RS_FAULT, <u64>old ^ arg2);
  return succeed(res, 0, Rule.SecurebitsSet, 0);
}
