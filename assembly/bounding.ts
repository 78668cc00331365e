// The bounding set: cap_task_prctl PR_CAPBSET_READ and cap_prctl_drop (security/commoncap.c).
import { ST_BOUNDING, ST_EFFECTIVE, RS_FAULT, Rule, EPERM, EINVAL } from "./contract";
import { capValid, bit } from "./profile";
import { CAP_SETPCAP } from "./capabilities";
import { succeed, fail } from "./rules";

export function boundingRead(profile: u32, st: usize, cap: u64, res: usize): u32 {
  if (!capValid(profile, cap)) return fail(res, EINVAL, Rule.BoundingInvalidCap, 0);
  return succeed(res, (load<u64>(st + ST_BOUNDING) & bit(cap)) != 0 ? 1 : 0, Rule.BoundingRead, 0);
}

export function boundingDrop(profile: u32, st: usize, cap: u64, res: usize, out: usize): u32 {
  // cap_prctl_drop asks ns_capable(CAP_SETPCAP) before it validates the number, so an invalid
  // capability without CAP_SETPCAP is EPERM, not EINVAL.
  if ((load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETPCAP)) == 0)
    return fail(res, EPERM, Rule.BoundingDropNeedsSetpcap, bit(CAP_SETPCAP));
  if (!capValid(profile, cap)) return fail(res, EINVAL, Rule.BoundingInvalidCap, 0);
  // Only B changes: P, E, I and A keep the capability (dropping an absent bit succeeds).
  store<u64>(out + ST_BOUNDING, load<u64>(st + ST_BOUNDING) & ~bit(cap));
  store<u64>(res + RS_FAULT, bit(cap));
  return succeed(res, 0, Rule.BoundingDrop, 0);
}
