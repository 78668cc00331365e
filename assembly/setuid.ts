// The setuid family: __sys_setuid, __sys_setreuid, __sys_setresuid, __sys_setfsuid in
// kernel/sys.c, and the capability fix-up cap_task_fix_setuid / cap_emulate_setxuid in
// security/commoncap.c. Ids are those of the thread's own user namespace; uid 0 is its root.
import { OP_A, OP_B, OP_C, ST_PERMITTED, ST_EFFECTIVE, ST_AMBIENT, ST_SECUREBITS, ST_RUID, ST_EUID, ST_SUID, ST_FSUID, RS_FAULT, OPK_SETUID, OPK_SETEUID, OPK_SETREUID, OPK_SETRESUID, Rule, EPERM, EINVAL, NOTE_FIXUP_DISABLED, NOTE_LEFT_ROOT_CLEARED, NOTE_LEFT_ROOT_KEPT, NOTE_AMBIENT_CLEARED, NOTE_EFFECTIVE_CLEARED, NOTE_EFFECTIVE_RAISED, NOTE_FS_DROPPED, NOTE_FS_RAISED } from "./contract";
import { bit } from "./profile";
import { CAP_SETUID, CAP_FS_SET } from "./capabilities";
import { SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS } from "./securebits";
import { succeed, fail } from "./rules";

const UNCHANGED: u32 = 0xffffffff; // (uid_t)-1: "leave this id alone"; never a valid id

@inline function capSetuid(st: usize): bool {
  return (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETUID)) != 0;
}

// cap_emulate_setxuid, run for setuid/setreuid/setresuid unless SECBIT_NO_SETUID_FIXUP.
// Writes the new E, P, A into `out`; returns the notes.
function fixup(st: usize, ruid: u32, euid: u32, suid: u32, out: usize): u32 {
  const securebits = load<u32>(st + ST_SECUREBITS);
  if ((securebits & SECBIT_NO_SETUID_FIXUP) != 0) return NOTE_FIXUP_DISABLED;
  const oldRuid = load<u32>(st + ST_RUID), oldEuid = load<u32>(st + ST_EUID), oldSuid = load<u32>(st + ST_SUID);
  let permitted = load<u64>(st + ST_PERMITTED);
  let effective = load<u64>(st + ST_EFFECTIVE);
  let ambient = load<u64>(st + ST_AMBIENT);
  let notes: u32 = 0;
  if ((oldRuid == 0 || oldEuid == 0 || oldSuid == 0) && ruid != 0 && euid != 0 && suid != 0) {
    if ((securebits & SECBIT_KEEP_CAPS) == 0) {
      if ((permitted | effective) != 0) notes |= NOTE_LEFT_ROOT_CLEARED;
      permitted = 0;
      effective = 0;
    } else if (permitted != 0) notes |= NOTE_LEFT_ROOT_KEPT;
    if (ambient != 0) notes |= NOTE_AMBIENT_CLEARED; // KEEP_CAPS never keeps ambient
    ambient = 0;
  }
  if (oldEuid == 0 && euid != 0) {
    if (effective != 0) notes |= NOTE_EFFECTIVE_CLEARED;
    effective = 0;
  }
  if (oldEuid != 0 && euid == 0) {
    if (effective != permitted) notes |= NOTE_EFFECTIVE_RAISED;
    effective = permitted;
  }
  store<u64>(out + ST_PERMITTED, permitted);
  store<u64>(out + ST_EFFECTIVE, effective);
  store<u64>(out + ST_AMBIENT, ambient);
  return notes;
}

@inline function commitIds(out: usize, ruid: u32, euid: u32, suid: u32): void {
  store<u32>(out + ST_RUID, ruid);
  store<u32>(out + ST_EUID, euid);
  store<u32>(out + ST_SUID, suid);
  store<u32>(out + ST_FSUID, euid); // every one of these calls sets fsuid := euid
}

export function setxuid(kind: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const oldRuid = load<u32>(st + ST_RUID), oldEuid = load<u32>(st + ST_EUID);
  const oldSuid = load<u32>(st + ST_SUID), oldFsuid = load<u32>(st + ST_FSUID);
  const a = load<u32>(op + OP_A), b = load<u32>(op + OP_B), c = load<u32>(op + OP_C);
  const privileged = capSetuid(st);
  let ruid = oldRuid, euid = oldEuid, suid = oldSuid;

  if (kind == OPK_SETUID) {
    if (a == UNCHANGED) return fail(res, EINVAL, Rule.SetuidInvalidId, 0);
    if (privileged) { ruid = a; suid = a; }
    else if (a != oldRuid && a != oldSuid) return fail(res, EPERM, Rule.SetuidNeedsCapSetuid, bit(CAP_SETUID));
    euid = a;
  } else if (kind == OPK_SETREUID) {
    if (a != UNCHANGED) {
      if (a != oldRuid && a != oldEuid && !privileged) return fail(res, EPERM, Rule.SetuidNeedsCapSetuid, bit(CAP_SETUID));
      ruid = a;
    }
    if (b != UNCHANGED) {
      if (b != oldRuid && b != oldEuid && b != oldSuid && !privileged)
        return fail(res, EPERM, Rule.SetuidNeedsCapSetuid, bit(CAP_SETUID));
      euid = b;
    }
    // "If the real uid is set, or the effective uid is set to a value not equal to the
    // previous real uid, the saved uid is set to the new effective uid."
    if (a != UNCHANGED || (b != UNCHANGED && b != oldRuid)) suid = euid;
  } else {
    // setresuid, and seteuid, which glibc implements as setresuid(-1, euid, -1) (and refuses
    // -1 itself with EINVAL).
    let r = a, e = b, s = c;
    if (kind == OPK_SETEUID) {
      if (a == UNCHANGED) return fail(res, EINVAL, Rule.SetuidInvalidId, 0);
      r = UNCHANGED; e = a; s = UNCHANGED;
    }
    // The no-op shortcut: nothing would change, so return 0 without any fix-up.
    if ((r == UNCHANGED || r == oldRuid) && (e == UNCHANGED || (e == oldEuid && e == oldFsuid)) &&
        (s == UNCHANGED || s == oldSuid)) return succeed(res, 0, Rule.SetuidNoop, 0);
    const rNew = r != UNCHANGED && r != oldRuid && r != oldEuid && r != oldSuid;
    const eNew = e != UNCHANGED && e != oldRuid && e != oldEuid && e != oldSuid;
    const sNew = s != UNCHANGED && s != oldRuid && s != oldEuid && s != oldSuid;
    if ((rNew || eNew || sNew) && !privileged) return fail(res, EPERM, Rule.SetuidNeedsCapSetuid, bit(CAP_SETUID));
    if (r != UNCHANGED) ruid = r;
    if (e != UNCHANGED) euid = e;
    if (s != UNCHANGED) suid = s;
  }
  const notes = fixup(st, ruid, euid, suid, out);
  commitIds(out, ruid, euid, suid);
  return succeed(res, 0, Rule.SetuidOk, notes);
}

// setfsuid never fails: it returns the previous fsuid whether or not anything changed.
export function setfsuid(st: usize, op: usize, res: usize, out: usize): u32 {
  const oldFsuid = load<u32>(st + ST_FSUID);
  const fsuid = load<u32>(op + OP_A);
  const ret = <i32>oldFsuid;
  if (fsuid == UNCHANGED) return succeed(res, ret, Rule.SetfsuidDenied, 0); // not a valid id
  const allowed = fsuid == load<u32>(st + ST_RUID) || fsuid == load<u32>(st + ST_EUID) ||
    fsuid == load<u32>(st + ST_SUID) || fsuid == oldFsuid || capSetuid(st);
  if (!allowed) {
    store<u64>(res + RS_FAULT, bit(CAP_SETUID));
    return succeed(res, ret, Rule.SetfsuidDenied, 0);
  }
  if (fsuid == oldFsuid) return succeed(res, ret, Rule.SetfsuidUnchanged, 0);
  let notes: u32 = 0;
  // LSM_SETID_FS fix-up: only the filesystem capabilities move, and only in effective.
  if ((load<u32>(st + ST_SECUREBITS) & SECBIT_NO_SETUID_FIXUP) != 0) notes |= NOTE_FIXUP_DISABLED;
  else {
    const effective = load<u64>(st + ST_EFFECTIVE);
    if (oldFsuid == 0 && fsuid != 0) {
      if ((effective & CAP_FS_SET) != 0) notes |= NOTE_FS_DROPPED;
      store<u64>(res + RS_FAULT, effective & CAP_FS_SET);
      store<u64>(out + ST_EFFECTIVE, effective & ~CAP_FS_SET);
    } else if (oldFsuid != 0 && fsuid == 0) {
      const raised = load<u64>(st + ST_PERMITTED) & CAP_FS_SET;
      if ((raised & ~effective) != 0) notes |= NOTE_FS_RAISED;
      store<u64>(res + RS_FAULT, raised & ~effective);
      store<u64>(out + ST_EFFECTIVE, effective | raised);
    }
  }
  store<u32>(out + ST_FSUID, fsuid);
  return succeed(res, ret, Rule.SetfsuidChanged, notes);
}
