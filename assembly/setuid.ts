// The setuid and setgid families: __sys_setuid, __sys_setreuid, __sys_setresuid,
// __sys_setfsuid in kernel/sys.c and their gid twins (the same id rules with CAP_SETGID), and
// the capability fix-up cap_task_fix_setuid / cap_emulate_setxuid in security/commoncap.c,
// which only the uid calls have. The state holds kernel ids (as struct cred does); the calls
// take ids of the thread's own user namespace (make_kuid), an id with no mapping there being
// EINVAL before any other check; "root" is the kernel id of that namespace's uid 0.
import { OP_A, OP_B, OP_C, ST_PERMITTED, ST_EFFECTIVE, ST_AMBIENT, ST_SECUREBITS, ST_RUID, ST_EUID, ST_SUID, ST_FSUID, ST_RGID, ST_EGID, ST_SGID, ST_FSGID, RS_FAULT, OPK_SETUID, OPK_SETEUID, OPK_SETREUID, OPK_SETRESUID, OPK_SETGID, FEAT_SETRES_NOOP, Rule, EPERM, EINVAL, OVERFLOW_ID, ID_UNMAPPED, NOTE_FIXUP_DISABLED, NOTE_LEFT_ROOT_CLEARED, NOTE_LEFT_ROOT_KEPT, NOTE_AMBIENT_CLEARED, NOTE_EFFECTIVE_CLEARED, NOTE_EFFECTIVE_RAISED, NOTE_FS_DROPPED, NOTE_FS_RAISED } from "./contract";
import { bit, has } from "./profile";
import { CAP_SETUID, CAP_SETGID, CAP_FS_SET } from "./capabilities";
import { idDown, uidUp, gidUp, rootUid } from "./userns";
import { SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS } from "./securebits";
import { succeed, fail } from "./rules";

const UNCHANGED: u32 = 0xffffffff; // (uid_t)-1: "leave this id alone"; never a valid id

@inline function capSetuid(st: usize): bool {
  return (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETUID)) != 0;
}

// One family's view: where its four ids start in the state (real, effective, saved, fs, in
// that order), the capability that overrides its rules, and its rule codes. (Plain functions
// of a flag, not objects: the engine has no start function to build them.)
@inline function base(gid: bool): u32 { return gid ? ST_RGID : ST_RUID; }
@inline function capOf(gid: bool): u64 { return gid ? bit(CAP_SETGID) : bit(CAP_SETUID); }
@inline function okRule(gid: bool): Rule { return gid ? Rule.SetgidOk : Rule.SetuidOk; }
@inline function noopRule(gid: bool): Rule { return gid ? Rule.SetgidNoop : Rule.SetuidNoop; }
@inline function needsCapRule(gid: bool): Rule { return gid ? Rule.SetgidNeedsCapSetgid : Rule.SetuidNeedsCapSetuid; }
@inline function invalidRule(gid: bool): Rule { return gid ? Rule.SetgidInvalidId : Rule.SetuidInvalidId; }
@inline function unmappedRule(gid: bool): Rule { return gid ? Rule.SetgidUnmappedId : Rule.SetuidUnmappedId; }

// make_k[ug]id of an argument: -1 stays UNCHANGED; an id without a mapping is ID_UNMAPPED
// (the same number: callers test the raw argument for -1 first, as the kernel does).
@inline function down(gid: bool, st: usize, id: u32): u32 {
  if (id == UNCHANGED) return UNCHANGED;
  return idDown(st, id, gid);
}
// An argument that names an id (not -1) without a mapping: make_k[ug]id failed.
@inline function unmapped(raw: u32, kernel: u32): bool {
  return raw != UNCHANGED && kernel == ID_UNMAPPED;
}

// cap_emulate_setxuid, run for setuid/setreuid/setresuid unless SECBIT_NO_SETUID_FIXUP.
// Writes the new E, P, A into `out`; returns the notes.
function fixup(st: usize, ruid: u32, euid: u32, suid: u32, out: usize): u32 {
  const securebits = load<u32>(st + ST_SECUREBITS);
  if ((securebits & SECBIT_NO_SETUID_FIXUP) != 0) return NOTE_FIXUP_DISABLED;
  const oldRuid = load<u32>(st + ST_RUID), oldEuid = load<u32>(st + ST_EUID), oldSuid = load<u32>(st + ST_SUID);
  // root_uid = make_kuid(old->user_ns, 0): ID_UNMAPPED, equal to no id, when 0 has no mapping
  const root = rootUid(st);
  let permitted = load<u64>(st + ST_PERMITTED);
  let effective = load<u64>(st + ST_EFFECTIVE);
  let ambient = load<u64>(st + ST_AMBIENT);
  let notes: u32 = 0;
  if ((oldRuid == root || oldEuid == root || oldSuid == root) && ruid != root && euid != root && suid != root) {
    if ((securebits & SECBIT_KEEP_CAPS) == 0) {
      if ((permitted | effective) != 0) notes |= NOTE_LEFT_ROOT_CLEARED;
      permitted = 0;
      effective = 0;
    } else if (permitted != 0) notes |= NOTE_LEFT_ROOT_KEPT;
    if (ambient != 0) notes |= NOTE_AMBIENT_CLEARED; // KEEP_CAPS never keeps ambient
    ambient = 0;
  }
  if (oldEuid == root && euid != root) {
    if (effective != 0) notes |= NOTE_EFFECTIVE_CLEARED;
    effective = 0;
  }
  if (oldEuid != root && euid == root) {
    if (effective != permitted) notes |= NOTE_EFFECTIVE_RAISED;
    effective = permitted;
  }
  store<u64>(out + ST_PERMITTED, permitted);
  store<u64>(out + ST_EFFECTIVE, effective);
  store<u64>(out + ST_AMBIENT, ambient);
  return notes;
}

export function setxuid(profile: u32, kind: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const gid = kind >= OPK_SETGID;
  const at = base(gid), cap = capOf(gid);
  const oldR = load<u32>(st + at), oldE = load<u32>(st + at + 4);
  const oldS = load<u32>(st + at + 8), oldFs = load<u32>(st + at + 12);
  // the arguments as kernel ids
  const ra = load<u32>(op + OP_A), rb = load<u32>(op + OP_B), rc = load<u32>(op + OP_C);
  const a = down(gid, st, ra), b = down(gid, st, rb), c = down(gid, st, rc);
  const privileged = (load<u64>(st + ST_EFFECTIVE) & cap) != 0;
  const call = gid ? kind - (OPK_SETGID - OPK_SETUID) : kind;
  let r = oldR, e = oldE, s = oldS;

  if (call == OPK_SETUID) {
    if (ra == UNCHANGED) return fail(res, EINVAL, invalidRule(gid), 0);
    if (a == ID_UNMAPPED) return fail(res, EINVAL, unmappedRule(gid), 0);
    if (privileged) { r = a; s = a; }
    else if (a != oldR && a != oldS) return fail(res, EPERM, needsCapRule(gid), cap);
    e = a;
  } else if (call == OPK_SETREUID) {
    if (unmapped(ra, a) || unmapped(rb, b)) return fail(res, EINVAL, unmappedRule(gid), 0);
    if (a != UNCHANGED) {
      if (a != oldR && a != oldE && !privileged) return fail(res, EPERM, needsCapRule(gid), cap);
      r = a;
    }
    if (b != UNCHANGED) {
      if (b != oldR && b != oldE && b != oldS && !privileged) return fail(res, EPERM, needsCapRule(gid), cap);
      e = b;
    }
    // "If the real id is set, or the effective id is set to a value not equal to the
    // previous real id, the saved id is set to the new effective id."
    if (a != UNCHANGED || (b != UNCHANGED && b != oldR)) s = e;
  } else {
    // setresuid, and seteuid, which glibc implements as setresuid(-1, euid, -1) (and refuses
    // -1 itself with EINVAL); the same for the gids.
    let nr = a, ne = b, ns = c;
    if (call == OPK_SETEUID) {
      if (ra == UNCHANGED) return fail(res, EINVAL, invalidRule(gid), 0);
      if (a == ID_UNMAPPED) return fail(res, EINVAL, unmappedRule(gid), 0);
      nr = UNCHANGED; ne = a; ns = UNCHANGED;
    } else if (unmapped(ra, a) || unmapped(rb, b) || unmapped(rc, c)) return fail(res, EINVAL, unmappedRule(gid), 0);
    // The no-op shortcut (6.3, "fix and improve control flow in __sys_setres[ug]id()"; in
    // 5.10.179 and 6.1.26 too): nothing would change, so return 0 without any fix-up. Before,
    // such a call went on and set the fs id to the effective one.
    if (has(profile, FEAT_SETRES_NOOP) && (nr == UNCHANGED || nr == oldR) && (ne == UNCHANGED || (ne == oldE && ne == oldFs)) &&
        (ns == UNCHANGED || ns == oldS)) return succeed(res, 0, noopRule(gid), 0);
    const rNew = nr != UNCHANGED && nr != oldR && nr != oldE && nr != oldS;
    const eNew = ne != UNCHANGED && ne != oldR && ne != oldE && ne != oldS;
    const sNew = ns != UNCHANGED && ns != oldR && ns != oldE && ns != oldS;
    if ((rNew || eNew || sNew) && !privileged) return fail(res, EPERM, needsCapRule(gid), cap);
    if (nr != UNCHANGED) r = nr;
    if (ne != UNCHANGED) e = ne;
    if (ns != UNCHANGED) s = ns;
  }
  // commoncap has no setgid hook: only the uid calls move capabilities.
  const notes = gid ? 0 : fixup(st, r, e, s, out);
  store<u32>(out + at, r);
  store<u32>(out + at + 4, e);
  store<u32>(out + at + 8, s);
  store<u32>(out + at + 12, e); // every one of these calls sets the fs id := the effective id
  return succeed(res, 0, okRule(gid), notes);
}

// The value setfs[ug]id returns: the previous id as the caller's namespace shows it
// (from_kuid_munged: the overflow id when it has no mapping there).
@inline function shown(inside: u32): i32 {
  return <i32>(inside == ID_UNMAPPED ? OVERFLOW_ID : inside);
}

// setfsgid: like setfsuid with CAP_SETGID, and no fix-up.
export function setfsgid(st: usize, op: usize, res: usize, out: usize): u32 {
  const oldFs = load<u32>(st + ST_FSGID);
  const fsgid = down(true, st, load<u32>(op + OP_A));
  const ret = shown(gidUp(st, oldFs));
  if (fsgid == ID_UNMAPPED) return succeed(res, ret, Rule.SetfsgidDenied, 0); // not a valid id
  const allowed = fsgid == load<u32>(st + ST_RGID) || fsgid == load<u32>(st + ST_EGID) ||
    fsgid == load<u32>(st + ST_SGID) || fsgid == oldFs || (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETGID)) != 0;
  if (!allowed) {
    store<u64>(res + RS_FAULT, bit(CAP_SETGID));
    return succeed(res, ret, Rule.SetfsgidDenied, 0);
  }
  if (fsgid == oldFs) return succeed(res, ret, Rule.SetfsgidUnchanged, 0);
  store<u32>(out + ST_FSGID, fsgid);
  return succeed(res, ret, Rule.SetfsgidChanged, 0);
}

// setfsuid never fails: it returns the previous fsuid whether or not anything changed.
export function setfsuid(st: usize, op: usize, res: usize, out: usize): u32 {
  const oldFsuid = load<u32>(st + ST_FSUID);
  const fsuid = down(false, st, load<u32>(op + OP_A));
  const ret = shown(uidUp(st, oldFsuid));
  if (fsuid == ID_UNMAPPED) return succeed(res, ret, Rule.SetfsuidDenied, 0); // not a valid id
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
    const root = rootUid(st);
    if (oldFsuid == root && fsuid != root) {
      if ((effective & CAP_FS_SET) != 0) notes |= NOTE_FS_DROPPED;
      store<u64>(res + RS_FAULT, effective & CAP_FS_SET);
      store<u64>(out + ST_EFFECTIVE, effective & ~CAP_FS_SET);
    } else if (oldFsuid != root && fsuid == root) {
      const raised = load<u64>(st + ST_PERMITTED) & CAP_FS_SET;
      if ((raised & ~effective) != 0) notes |= NOTE_FS_RAISED;
      store<u64>(res + RS_FAULT, raised & ~effective);
      store<u64>(out + ST_EFFECTIVE, effective | raised);
    }
  }
  store<u32>(out + ST_FSUID, fsuid);
  return succeed(res, ret, Rule.SetfsuidChanged, notes);
}
