// execve(2): the credential transformation of fs/exec.c (prepare_exec_creds, bprm_fill_uid)
// and cap_bprm_creds_from_file / get_file_caps / handle_privileged_root in
// security/commoncap.c, for the final file of the exec (5.8+: computed once, before the
// point of no return, so a failure leaves the old state intact).
import { OP_A, OP_B, OP_C, OP_X0, OP_X1, OP_D, OP_E, FILE_SETGID, FILE_PTRACED, ST_RGID, ST_EGID, ST_SGID, ST_FSGID, NOTE_EXEC_SETID_UNMAPPED, NOTE_EXEC_PTRACED, NOTE_EXEC_GID_CHANGED, FILE_SETUID, FILE_HAS_CAPS, FILE_EFFECTIVE, FILE_NOSUID, FILE_SCRIPT, NOTE_EXEC_NOSUID, NOTE_EXEC_SCRIPT, ST_PERMITTED, ST_EFFECTIVE, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_SECUREBITS, ST_RUID, ST_EUID, ST_SUID, ST_FSUID, ST_FLAGS, FLAG_NO_NEW_PRIVS, RS_FAULT, RS_AUX, FEAT_FCAPS_V3, FEAT_EXEC_ID_CHANGED, FEAT_CAP_ELEVATED, Rule, EPERM, EINVAL, ERANGE, NOTE_EXEC_ROOT, NOTE_EXEC_NOROOT, NOTE_EXEC_SETUID_IGNORED, NOTE_EXEC_DOWNGRADED, NOTE_EXEC_FCAPS_IGNORED, NOTE_EXEC_KEEPCAPS_CLEARED, NOTE_EXEC_SECURE, NOTE_EXEC_SETUID_ROOT_FCAPS, NOTE_EXEC_ID_CHANGED, NOTE_EXEC_MISSING_FILE_CAPS, NOTE_AMBIENT_CLEARED } from "./contract";
import { has, fullSet, bit } from "./profile";
import { SECBIT_NOROOT, SECBIT_KEEP_CAPS } from "./securebits";
import { succeed, fail } from "./rules";
import { CAP_SETUID } from "./capabilities";
import { uidHasMapping, gidHasMapping, rootOwnsNs, rootUid } from "./userns";
import { inGroup } from "./groups";

export function execve(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const owner = load<u32>(op + OP_A);
  const group = load<u32>(op + OP_E);
  const xattrVersion = load<u32>(op + OP_B);
  let flags = load<u32>(op + OP_C);
  const rootid = load<u32>(op + OP_D);

  const permitted = load<u64>(st + ST_PERMITTED);
  const inheritable = load<u64>(st + ST_INHERITABLE);
  const bounding = load<u64>(st + ST_BOUNDING);
  const ambient = load<u64>(st + ST_AMBIENT);
  const securebits = load<u32>(st + ST_SECUREBITS);
  const oldRuid = load<u32>(st + ST_RUID);
  const oldEuid = load<u32>(st + ST_EUID);
  const oldRgid = load<u32>(st + ST_RGID);
  const oldEgid = load<u32>(st + ST_EGID);
  const ptraced = (flags & FILE_PTRACED) != 0;
  const noNewPrivs = (load<u32>(st + ST_FLAGS) & FLAG_NO_NEW_PRIVS) != 0;
  let notes: u32 = 0;

  // A #! script: load_script makes the interpreter bprm->file, and the credentials are computed
  // once, from the final file (begin_new_exec -> bprm_creds_from_file): the record describes
  // the interpreter; the script's own set-id bits and capabilities play no part.
  if ((flags & FILE_SCRIPT) != 0) notes |= NOTE_EXEC_SCRIPT;

  // mnt_may_suid(): on a nosuid mount bprm_fill_uid returns before it looks at the mode, and
  // get_file_caps before it reads the xattr (so even an invalid one is never read): the file
  // runs as one without set-id bits or capabilities.
  if ((flags & FILE_NOSUID) != 0) {
    if ((flags & (FILE_SETUID | FILE_SETGID | FILE_HAS_CAPS)) != 0) notes |= NOTE_EXEC_NOSUID;
    flags &= ~(FILE_SETUID | FILE_SETGID | FILE_HAS_CAPS | FILE_EFFECTIVE);
  }

  // bprm_fill_uid: the set-id bits are honoured unless no_new_privs is set, and only when both
  // the file's owner and its group map into the thread's namespace. S_ISGID counts only with
  // S_IXGRP (a set-gid program; the model's files are group-executable).
  const ruid = oldRuid;
  let euid = oldEuid;
  const rgid = oldRgid;
  let egid = oldEgid;
  if ((flags & (FILE_SETUID | FILE_SETGID)) != 0) {
    if (noNewPrivs) notes |= NOTE_EXEC_SETUID_IGNORED;
    else if (!uidHasMapping(st, owner) || !gidHasMapping(st, group)) notes |= NOTE_EXEC_SETID_UNMAPPED;
    else {
      if ((flags & FILE_SETUID) != 0) euid = owner;
      if ((flags & FILE_SETGID) != 0) egid = group;
    }
  }
  // root_uid = make_kuid(new->user_ns, 0); ID_UNMAPPED (equal to no id) when 0 has no mapping
  const root = rootUid(st);

  // get_file_caps -> get_vfs_caps_from_disk -> bprm_caps_from_vfs_caps.
  let hasFcap = false;
  let effective = false;
  let newPermitted: u64 = 0;
  if ((flags & FILE_HAS_CAPS) != 0) {
    const v3 = has(profile, FEAT_FCAPS_V3);
    // Before 4.14 the xattr is read into a 20-byte buffer (XATTR_CAPS_SZ): a 24-byte v3 value
    // does not fit, getxattr's ERANGE fails the exec.
    if (xattrVersion == 3 && !v3) return fail(res, ERANGE, Rule.ExecveXattrTooLong, 0);
    if (xattrVersion < 1 || xattrVersion > 3)
      return fail(res, EINVAL, Rule.ExecveXattrInvalid, 0); // an unknown revision fails the exec
    // masked to CAP_VALID_MASK from 3.16; before, the bits above CAP_LAST_CAP counted too
    const mask = fullSet(profile);
    let fileP = load<u64>(op + OP_X0) & mask;
    let fileI = load<u64>(op + OP_X1) & mask;
    if (xattrVersion == 1) { fileP &= 0xffffffff; fileI &= 0xffffffff; }
    // rootid_owns_currentns(): the caps apply only when their root id (0 for v1/v2, the
    // stored rootid for v3) is uid 0 of this namespace or an ancestor; otherwise they are
    // treated as absent (-ENODATA), silently.
    if (xattrVersion == 3 && !rootOwnsNs(st, rootid)) notes |= NOTE_EXEC_FCAPS_IGNORED;
    else {
      hasFcap = true;
      effective = (flags & FILE_EFFECTIVE) != 0;
      newPermitted = (bounding & fileP) | (inheritable & fileI);
      const missing = fileP & ~newPermitted;
      if (missing != 0) {
        // "For legacy apps ... we return an error if they are missing some forced (aka
        // file-permitted) capabilities": only when the effective bit is set, and before the
        // root rules, so root is not exempt.
        if (effective) return fail(res, EPERM, Rule.ExecveCapabilityDumb, missing);
        notes |= NOTE_EXEC_MISSING_FILE_CAPS;
        store<u64>(res + RS_AUX, missing);
      }
    }
  }

  // handle_privileged_root
  if ((securebits & SECBIT_NOROOT) == 0) {
    if (hasFcap && ruid != root && euid == root) {
      notes |= NOTE_EXEC_SETUID_ROOT_FCAPS; // setuid-root binary with file caps: they win
    } else {
      if (euid == root || ruid == root) {
        newPermitted = bounding | inheritable; // fP and fI are ignored for root
        notes |= NOTE_EXEC_ROOT;
      }
      if (euid == root) effective = true;
    }
  } else if (euid == root || ruid == root) notes |= NOTE_EXEC_NOROOT;

  // Set-id: up to 6.16 the new ids are compared with the old *real* ones; from the 2025 fix (6.17)
  // ("exec: Correct the permission check for unsafe exec") the euid with the old *effective*
  // uid and the egid with in_group_p (the old fsgid and supplementary groups).
  const newIdRule = has(profile, FEAT_EXEC_ID_CHANGED);
  const gidChanged = newIdRule ? !inGroup(st, egid) : egid != oldRgid;
  const idChanged = (newIdRule ? euid != oldEuid : euid != oldRuid) || gidChanged;
  if (idChanged) notes |= NOTE_EXEC_ID_CHANGED;
  if (gidChanged) notes |= NOTE_EXEC_GID_CHANGED;

  // The unsafe-exec downgrade, for no_new_privs or a tracer without CAP_SYS_PTRACE over the
  // new credentials (ptracer_capable; a shared fs_struct is not modelled). The ids fall back
  // to the real ones unless the caller holds CAP_SETUID (ns_capable, old credentials) and
  // no_new_privs is off; permitted may not grow either way.
  const gained = (newPermitted & ~permitted) != 0;
  if ((idChanged || gained) && (noNewPrivs || ptraced)) {
    if (ptraced && !noNewPrivs) notes |= NOTE_EXEC_PTRACED;
    if (noNewPrivs || (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETUID)) == 0) {
      if (euid != ruid || egid != rgid) notes |= NOTE_EXEC_DOWNGRADED;
      euid = ruid;
      egid = rgid;
    }
    if (gained) notes |= NOTE_EXEC_DOWNGRADED;
    store<u64>(res + RS_FAULT, newPermitted & ~permitted);
    newPermitted &= permitted;
  }

  // File caps or set-id cancel ambient; then pP' |= pA' and pE' = fE ? pP' : pA'.
  let newAmbient = ambient;
  if (hasFcap || idChanged) {
    if (ambient != 0) notes |= NOTE_AMBIENT_CLEARED;
    newAmbient = 0;
  }
  newPermitted |= newAmbient;
  const newEffective = effective ? newPermitted : newAmbient;
  if ((securebits & SECBIT_KEEP_CAPS) != 0) notes |= NOTE_EXEC_KEEPCAPS_CLEARED;

  // AT_SECURE. 6.17+ keeps the old euid != uid test beside id_changed "to minimize
  // behavioural changes" (and uses the euid after the downgrade).
  let secure = idChanged || (ruid != root && (effective || (newPermitted & ~newAmbient) != 0));
  if (newIdRule && (euid != oldRuid || egid != oldRgid)) secure = true;
  // Before 4.14, cap_bprm_secureexec: the committed credentials alone (after the downgrade),
  // without the set-id test: a downgraded set-id exec is not secure.
  if (!has(profile, FEAT_CAP_ELEVATED))
    secure = (ruid != root && (effective || (newPermitted & ~newAmbient) != 0)) || euid != ruid || egid != rgid;
  if (secure) notes |= NOTE_EXEC_SECURE;

  store<u64>(out + ST_PERMITTED, newPermitted);
  store<u64>(out + ST_EFFECTIVE, newEffective);
  store<u64>(out + ST_AMBIENT, newAmbient);
  store<u32>(out + ST_SECUREBITS, securebits & ~SECBIT_KEEP_CAPS);
  store<u32>(out + ST_EUID, euid);
  store<u32>(out + ST_SUID, euid);
  store<u32>(out + ST_FSUID, euid);
  store<u32>(out + ST_EGID, egid);
  store<u32>(out + ST_SGID, egid);
  store<u32>(out + ST_FSGID, egid);
  return succeed(res, 0, Rule.ExecveOk, notes);
}
