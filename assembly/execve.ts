// execve(2): the credential transformation of fs/exec.c (prepare_exec_creds, bprm_fill_uid)
// and cap_bprm_creds_from_file / get_file_caps / handle_privileged_root in
// security/commoncap.c, for the final file of the exec (5.8+: computed once, before the
// point of no return, so a failure leaves the old state intact).
import { OP_A, OP_B, OP_C, OP_X0, OP_X1, OP_D, FILE_SETUID, FILE_HAS_CAPS, FILE_EFFECTIVE, FILE_NOSUID, FILE_SCRIPT, NOTE_EXEC_NOSUID, NOTE_EXEC_SCRIPT, ST_PERMITTED, ST_EFFECTIVE, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_SECUREBITS, ST_RUID, ST_EUID, ST_SUID, ST_FSUID, ST_FLAGS, FLAG_NO_NEW_PRIVS, RS_FAULT, RS_AUX, FEAT_FCAPS_V3, FEAT_EXEC_ID_CHANGED, Rule, EPERM, EINVAL, NOTE_EXEC_ROOT, NOTE_EXEC_NOROOT, NOTE_EXEC_SETUID_IGNORED, NOTE_EXEC_DOWNGRADED, NOTE_EXEC_FCAPS_IGNORED, NOTE_EXEC_KEEPCAPS_CLEARED, NOTE_EXEC_SECURE, NOTE_EXEC_SETUID_ROOT_FCAPS, NOTE_EXEC_ID_CHANGED, NOTE_EXEC_MISSING_FILE_CAPS, NOTE_AMBIENT_CLEARED } from "./contract";
import { has, validMask } from "./profile";
import { SECBIT_NOROOT, SECBIT_KEEP_CAPS } from "./securebits";
import { succeed, fail } from "./rules";

export function execve(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const owner = load<u32>(op + OP_A);
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
    if ((flags & (FILE_SETUID | FILE_HAS_CAPS)) != 0) notes |= NOTE_EXEC_NOSUID;
    flags &= ~(FILE_SETUID | FILE_HAS_CAPS | FILE_EFFECTIVE);
  }

  // bprm_fill_uid: the setuid bit is honoured unless no_new_privs is set (the model assumes
  // ids that map into the thread's namespace).
  const ruid = oldRuid;
  let euid = oldEuid;
  if ((flags & FILE_SETUID) != 0) {
    if (noNewPrivs) notes |= NOTE_EXEC_SETUID_IGNORED;
    else euid = owner;
  }

  // get_file_caps -> get_vfs_caps_from_disk -> bprm_caps_from_vfs_caps.
  let hasFcap = false;
  let effective = false;
  let newPermitted: u64 = 0;
  if ((flags & FILE_HAS_CAPS) != 0) {
    const v3 = has(profile, FEAT_FCAPS_V3);
    if (xattrVersion < 1 || xattrVersion > 3 || (xattrVersion == 3 && !v3))
      return fail(res, EINVAL, Rule.ExecveXattrInvalid, 0); // an unknown revision fails the exec
    const valid = validMask(profile);
    let fileP = load<u64>(op + OP_X0) & valid;
    let fileI = load<u64>(op + OP_X1) & valid;
    if (xattrVersion == 1) { fileP &= 0xffffffff; fileI &= 0xffffffff; }
    // rootid_owns_currentns(): a v3 xattr applies only when its rootid is root of this
    // namespace (or an ancestor); otherwise it is treated as absent (-ENODATA), silently.
    if (xattrVersion == 3 && rootid != 0) notes |= NOTE_EXEC_FCAPS_IGNORED;
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
    if (hasFcap && ruid != 0 && euid == 0) {
      notes |= NOTE_EXEC_SETUID_ROOT_FCAPS; // setuid-root binary with file caps: they win
    } else {
      if (euid == 0 || ruid == 0) {
        newPermitted = bounding | inheritable; // fP and fI are ignored for root
        notes |= NOTE_EXEC_ROOT;
      }
      if (euid == 0) effective = true;
    }
  } else if (euid == 0 || ruid == 0) notes |= NOTE_EXEC_NOROOT;

  // Set-id: up to 6.15 the new euid is compared with the old *real* uid; from the 2025 fix
  // ("exec: Correct the permission check for unsafe exec") with the old *effective* uid.
  const newIdRule = has(profile, FEAT_EXEC_ID_CHANGED);
  const idChanged = newIdRule ? euid != oldEuid : euid != oldRuid;
  if (idChanged) notes |= NOTE_EXEC_ID_CHANGED;

  // The unsafe-exec downgrade; of the unsafe reasons the model expresses no_new_privs (not
  // ptrace nor a shared fs_struct). With no_new_privs the ids fall back to the real ones.
  if ((idChanged || (newPermitted & ~permitted) != 0) && noNewPrivs) {
    if (euid != ruid || (newPermitted & ~permitted) != 0) notes |= NOTE_EXEC_DOWNGRADED;
    store<u64>(res + RS_FAULT, newPermitted & ~permitted);
    euid = ruid;
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

  // AT_SECURE. 6.16+ keeps the old euid != uid test beside id_changed "to minimize
  // behavioural changes" (and uses the euid after the downgrade).
  let secure = idChanged || (ruid != 0 && (effective || (newPermitted & ~newAmbient) != 0));
  if (newIdRule && euid != oldRuid) secure = true;
  if (secure) notes |= NOTE_EXEC_SECURE;

  store<u64>(out + ST_PERMITTED, newPermitted);
  store<u64>(out + ST_EFFECTIVE, newEffective);
  store<u64>(out + ST_AMBIENT, newAmbient);
  store<u32>(out + ST_SECUREBITS, securebits & ~SECBIT_KEEP_CAPS);
  store<u32>(out + ST_EUID, euid);
  store<u32>(out + ST_SUID, euid);
  store<u32>(out + ST_FSUID, euid);
  return succeed(res, 0, Rule.ExecveOk, notes);
}
