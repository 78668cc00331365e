// What every thread's credentials satisfy, because the kernel keeps them so: a start state that
// breaks one is no thread's, and the engine refuses to answer from it (engine.state-impossible)
// rather than answer as if such a thread could call. The checks, in the kernel's words:
// - every set within CAP_FULL_SET: sys_capset and the exec rules mask to CAP_VALID_MASK (3.16+);
// - effective within permitted: cap_capset refuses "!cap_issubset(*effective, *permitted)", and
//   every fix-up that changes permitted changes effective with it;
// - ambient within permitted and inheritable: cap_ambient_invariant_ok (include/linux/cred.h),
//   which the kernel WARNs on; no ambient set at all before 4.3;
// - only the securebits SECURE_ALL_BITS (and their locks) of the kernel: PR_SET_SECUREBITS
//   refuses the others;
// - no INVALID_UID/INVALID_GID among the ids of a thread of the initial namespace (a child
//   namespace's thread may hold an id its namespace does not map, which it sees as 65534);
// - at most GROUPS_MAX supplementary groups (the model's own bound, not the kernel's).
import { ST_PERMITTED, ST_EFFECTIVE, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_SECUREBITS, ST_RUID, ST_EUID, ST_SUID, ST_FSUID, ST_RGID, ST_EGID, ST_SGID, ST_FSGID, ST_GROUPS, ST_NS, NS_LEVEL, GROUPS_MAX, ID_UNMAPPED, FEAT_AMBIENT } from "./contract";
import { fullSet, has } from "./profile";
import { allBits } from "./securebits";

// The capabilities at fault in the five sets, or 0 when they are a thread's.
@inline export function impossibleSets(profile: u32, st: usize): u64 {
  const p = load<u64>(st + ST_PERMITTED), e = load<u64>(st + ST_EFFECTIVE), i = load<u64>(st + ST_INHERITABLE);
  const b = load<u64>(st + ST_BOUNDING), a = load<u64>(st + ST_AMBIENT);
  const beyond = (p | e | i | b | a) & ~fullSet(profile);
  if (beyond != 0) return beyond;
  if ((e & ~p) != 0) return e & ~p;
  if ((a & ~(p & i)) != 0) return a & ~(p & i);
  if (a != 0 && !has(profile, FEAT_AMBIENT)) return a;
  return 0;
}

// The bits at fault (a set, or 1 for a fault that is no set), or 0 for a state a thread can be in.
// (It runs before every evaluation: the id and securebits checks are folded into one branch.)
@inline export function impossibleState(profile: u32, st: usize): u64 {
  const sets = impossibleSets(profile, st);
  if (sets != 0) return sets;
  const bits = allBits(profile);
  // an unmapped id is an id only in a child namespace: the largest of the eight is ID_UNMAPPED
  const ids = max(max(max(load<u32>(st + ST_RUID), load<u32>(st + ST_EUID)), max(load<u32>(st + ST_SUID), load<u32>(st + ST_FSUID))),
                  max(max(load<u32>(st + ST_RGID), load<u32>(st + ST_EGID)), max(load<u32>(st + ST_SGID), load<u32>(st + ST_FSGID))));
  const unmappedInInitial = ids == ID_UNMAPPED && load<u32>(st + ST_NS + NS_LEVEL) == 0;
  const otherBits = (load<u32>(st + ST_SECUREBITS) & ~(bits | (bits << 1))) != 0;
  return <u64>(unmappedInInitial | otherBits | (load<u32>(st + ST_GROUPS) > GROUPS_MAX));
}
