// prctl(2): the capability options of cap_task_prctl (security/commoncap.c) and the
// no_new_privs options of kernel/sys.c. Every other option is refused as not modelled.
import { OP_A, OP_X0, OP_X1, OP_X2, OP_X3, ST_SECUREBITS, ST_FLAGS, FLAG_NO_NEW_PRIVS, FEAT_AMBIENT, FEAT_NO_NEW_PRIVS, Rule, EPERM, EINVAL } from "./contract";
import { has } from "./profile";
import { SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED, setSecurebits } from "./securebits";
import { boundingRead, boundingDrop } from "./bounding";
import { ambient } from "./ambient";
import { succeed, fail } from "./rules";

export const PR_GET_KEEPCAPS: i32 = 7;
export const PR_SET_KEEPCAPS: i32 = 8;
export const PR_CAPBSET_READ: i32 = 23;
export const PR_CAPBSET_DROP: i32 = 24;
export const PR_GET_SECUREBITS: i32 = 27;
export const PR_SET_SECUREBITS: i32 = 28;
export const PR_SET_NO_NEW_PRIVS: i32 = 38;
export const PR_GET_NO_NEW_PRIVS: i32 = 39;
export const PR_CAP_AMBIENT: i32 = 47;

export function prctl(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const option = load<i32>(op + OP_A);
  const arg2 = load<u64>(op + OP_X0);
  const arg3 = load<u64>(op + OP_X1);
  const arg4 = load<u64>(op + OP_X2);
  const arg5 = load<u64>(op + OP_X3);
  const securebits = load<u32>(st + ST_SECUREBITS);
  switch (option) {
    case PR_CAPBSET_READ: return boundingRead(profile, st, arg2, res);
    case PR_CAPBSET_DROP: return boundingDrop(profile, st, arg2, res, out);
    case PR_CAP_AMBIENT:
      if (!has(profile, FEAT_AMBIENT)) break; // before 4.3 the option does not exist
      return ambient(profile, st, arg2, arg3, arg4, arg5, res, out);
    case PR_GET_SECUREBITS: return succeed(res, <i32>securebits, Rule.SecurebitsGet, 0);
    case PR_SET_SECUREBITS: return setSecurebits(profile, st, arg2, res, out);
    case PR_GET_KEEPCAPS:
      return succeed(res, (securebits & SECBIT_KEEP_CAPS) != 0 ? 1 : 0, Rule.KeepcapsGet, 0);
    case PR_SET_KEEPCAPS:
      // arg2 is unsigned: anything but 0 or 1 is EINVAL; no privilege is needed.
      if (arg2 > 1) return fail(res, EINVAL, Rule.KeepcapsInvalidValue, 0);
      if ((securebits & SECBIT_KEEP_CAPS_LOCKED) != 0) return fail(res, EPERM, Rule.KeepcapsLocked, 0);
      store<u32>(out + ST_SECUREBITS, arg2 != 0 ? securebits | SECBIT_KEEP_CAPS : securebits & ~SECBIT_KEEP_CAPS);
      return succeed(res, 0, Rule.KeepcapsSet, 0);
    case PR_SET_NO_NEW_PRIVS:
      if (!has(profile, FEAT_NO_NEW_PRIVS)) break; // 3.5
      if (arg2 != 1 || (arg3 | arg4 | arg5) != 0) return fail(res, EINVAL, Rule.NoNewPrivsInvalidArgs, 0);
      store<u32>(out + ST_FLAGS, load<u32>(st + ST_FLAGS) | FLAG_NO_NEW_PRIVS);
      return succeed(res, 0, Rule.NoNewPrivsSet, 0);
    case PR_GET_NO_NEW_PRIVS:
      if (!has(profile, FEAT_NO_NEW_PRIVS)) break;
      if ((arg2 | arg3 | arg4 | arg5) != 0) return fail(res, EINVAL, Rule.NoNewPrivsInvalidArgs, 0);
      return succeed(res, (load<u32>(st + ST_FLAGS) & FLAG_NO_NEW_PRIVS) != 0 ? 1 : 0, Rule.NoNewPrivsGet, 0);
  }
  return fail(res, EINVAL, Rule.PrctlOptionUnknown, 0);
}
