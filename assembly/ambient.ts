// The ambient set (4.3+): cap_task_prctl PR_CAP_AMBIENT in security/commoncap.c.
import { ST_AMBIENT, ST_PERMITTED, ST_INHERITABLE, ST_SECUREBITS, RS_FAULT, Rule, EPERM, EINVAL } from "./contract";
import { capValid, bit } from "./profile";
import { SECBIT_NO_CAP_AMBIENT_RAISE } from "./securebits";
import { succeed, fail } from "./rules";

export const AMBIENT_IS_SET: u64 = 1;
export const AMBIENT_RAISE: u64 = 2;
export const AMBIENT_LOWER: u64 = 3;
export const AMBIENT_CLEAR_ALL: u64 = 4;

export function ambient(profile: u32, st: usize, sub: u64, cap: u64, arg4: u64, arg5: u64, res: usize, out: usize): u32 {
  const current = load<u64>(st + ST_AMBIENT);
  if (sub == AMBIENT_CLEAR_ALL) {
    if ((cap | arg4 | arg5) != 0) return fail(res, EINVAL, Rule.AmbientArgsNonzero, 0);
    store<u64>(out + ST_AMBIENT, 0);
    store<u64>(res + RS_FAULT, current);
    return succeed(res, 0, Rule.AmbientClearAll, 0);
  }
  // One condition in the kernel, checked before the sub-operation is validated.
  if (!capValid(profile, cap)) return fail(res, EINVAL, Rule.AmbientInvalidCap, 0);
  if ((arg4 | arg5) != 0) return fail(res, EINVAL, Rule.AmbientArgsNonzero, 0);
  const b = bit(cap);
  if (sub == AMBIENT_IS_SET) return succeed(res, (current & b) != 0 ? 1 : 0, Rule.AmbientIsSet, 0);
  if (sub == AMBIENT_RAISE) {
    // The bounding set is not consulted, and E is not required.
    if ((load<u64>(st + ST_PERMITTED) & b) == 0) return fail(res, EPERM, Rule.AmbientRaiseNotPermitted, b);
    if ((load<u64>(st + ST_INHERITABLE) & b) == 0) return fail(res, EPERM, Rule.AmbientRaiseNotInheritable, b);
    if ((load<u32>(st + ST_SECUREBITS) & SECBIT_NO_CAP_AMBIENT_RAISE) != 0)
      return fail(res, EPERM, Rule.AmbientRaiseSecurebit, b);
    store<u64>(out + ST_AMBIENT, current | b);
    store<u64>(res + RS_FAULT, b);
    return succeed(res, 0, Rule.AmbientRaise, 0);
  }
  if (sub == AMBIENT_LOWER) {
    store<u64>(out + ST_AMBIENT, current & ~b);
    store<u64>(res + RS_FAULT, b);
    return succeed(res, 0, Rule.AmbientLower, 0);
  }
  return fail(res, EINVAL, Rule.AmbientUnknownSubop, 0);
}
