// A kernel profile is one u32: bits 0..7 hold CAP_LAST_CAP, bits 8..19 the features that
// kernel has (FEAT_*, declared in contract/engine.json, each one's first kernel in
// contract/kernel.json), bits 20..31 its version. src/kernel/profiles.ts builds it.
import { LAST_CAP_MASK, VERSION_SHIFT, FEAT_VALID_MASK } from "./contract";

@inline export function lastCap(profile: u32): u32 {
  return profile & LAST_CAP_MASK;
}

// The profile's kernel version, MAJOR << 8 | MINOR (what contract/kernel.json's first kernels are compared with).
@inline export function kernelVersion(profile: u32): u32 {
  return profile >>> VERSION_SHIFT;
}

@inline export function has(profile: u32, feature: u32): bool {
  return (profile & feature) != 0;
}

// CAP_VALID_MASK of the profile: bits 0..CAP_LAST_CAP.
@inline export function validMask(profile: u32): u64 {
  const last = lastCap(profile);
  return last >= 63 ? <u64>-1 : ((<u64>1) << (<u64>last + 1)) - 1;
}

// CAP_FULL_SET: what a new user namespace's creator gets, and what capset and file
// capabilities are masked to. From 3.16 ("CAPABILITIES: remove undefined caps from all
// processes") it is CAP_VALID_MASK; before, it was all 64 bits, sys_capset stored whatever it
// was handed (within the cap_capset checks) and get_vfs_caps_from_disk masked nothing.
@inline export function fullSet(profile: u32): u64 {
  return has(profile, FEAT_VALID_MASK) ? validMask(profile) : <u64>-1;
}

@inline export function capValid(profile: u32, cap: u64): bool {
  return cap <= <u64>lastCap(profile);
}

@inline export function bit(cap: u64): u64 {
  return (<u64>1) << cap;
}
