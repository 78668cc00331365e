// prctl(2): the capability options of cap_task_prctl (security/commoncap.c) and the
// no_new_privs options of kernel/sys.c, exactly; the capability checks that decide
// PR_SET_MM and the IO_FLUSHER options. Every other option a kernel knows is answered as not
// modelled (its outcome depends on what the engine does not hold); a number no kernel knows is
// EINVAL, as the default case of sys_prctl says.
import { OP_A, OP_X0, OP_X1, OP_X2, OP_X3, ST_EFFECTIVE, ST_SECUREBITS, ST_FLAGS, FLAG_NO_NEW_PRIVS, FEAT_AMBIENT, FEAT_NO_NEW_PRIVS, Rule, EPERM, EINVAL } from "./contract";
import { has, lastCap, bit, kernelVersion } from "./profile";
import { SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED, setSecurebits } from "./securebits";
import { boundingRead, boundingDrop } from "./bounding";
import { ambient } from "./ambient";
import { succeed, fail, outside } from "./rules";
import { CAP_SYS_RESOURCE, CAP_PERFMON } from "./capabilities";
import { PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_SECUREBITS, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_SET_MM, PR_SET_IO_FLUSHER, PR_GET_IO_FLUSHER, prctlHandling, PRCTL_UNKNOWN, PRCTL_REFUSED } from "./kernel";
import { inInitialNs } from "./userns";

// Option numbers, and how each is answered on a kernel of a given version, are declared in
// contract/kernel.json (assembly/kernel.ts is the generated mirror).
// PR_SET_MM sub-options that take the checkpoint/restore path before the capability check.
const PR_SET_MM_MAP: u64 = 14;
const PR_SET_MM_MAP_SIZE: u64 = 15;
// CAP_PERFMON arrived in 5.8: a profile that has it is new enough for the order of checks in
// prctl_set_mm modelled below.

// capable(CAP_SYS_RESOURCE): the effective set, and only in the initial user namespace (a
// thread in a child namespace holds its capabilities there, not over the initial one).
function sysResource(st: usize): bool {
  return (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SYS_RESOURCE)) != 0 && inInitialNs(st);
}
@inline function needsSysResource(st: usize, res: usize): u32 {
  if (!inInitialNs(st) && (load<u64>(st + ST_EFFECTIVE) & bit(CAP_SYS_RESOURCE)) != 0)
    return fail(res, EPERM, Rule.PrctlNeedsInitialNs, bit(CAP_SYS_RESOURCE));
  return fail(res, EPERM, Rule.PrctlNeedsSysResource, bit(CAP_SYS_RESOURCE));
}

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
      if (!has(profile, FEAT_AMBIENT)) return fail(res, EINVAL, Rule.PrctlOptionUnknown, 0); // before 4.3
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
      if (!has(profile, FEAT_NO_NEW_PRIVS)) return fail(res, EINVAL, Rule.PrctlOptionUnknown, 0); // 3.5
      if (arg2 != 1 || (arg3 | arg4 | arg5) != 0) return fail(res, EINVAL, Rule.NoNewPrivsInvalidArgs, 0);
      store<u32>(out + ST_FLAGS, load<u32>(st + ST_FLAGS) | FLAG_NO_NEW_PRIVS);
      return succeed(res, 0, Rule.NoNewPrivsSet, 0);
    case PR_GET_NO_NEW_PRIVS:
      if (!has(profile, FEAT_NO_NEW_PRIVS)) return fail(res, EINVAL, Rule.PrctlOptionUnknown, 0);
      if ((arg2 | arg3 | arg4 | arg5) != 0) return fail(res, EINVAL, Rule.NoNewPrivsInvalidArgs, 0);
      return succeed(res, (load<u32>(st + ST_FLAGS) & FLAG_NO_NEW_PRIVS) != 0 ? 1 : 0, Rule.NoNewPrivsGet, 0);
    case PR_SET_IO_FLUSHER:
    case PR_GET_IO_FLUSHER:
      // kernel/sys.c: "if (!capable(CAP_SYS_RESOURCE)) return -EPERM;" before the arguments
      // are looked at; with it, what happens is the task's I/O flags, outside the model.
      if (prctlHandling(option, kernelVersion(profile)) == PRCTL_UNKNOWN) break; // before 5.6
      if (lastCap(profile) >= <u32>CAP_PERFMON && !sysResource(st))
        return needsSysResource(st, res);
      return outside(res, Rule.PrctlNotModelled);
    case PR_SET_MM:
      // prctl_set_mm: stray arguments are EINVAL and PR_SET_MM_MAP(_SIZE) go to the
      // checkpoint/restore path first (both outside the model); then CAP_SYS_RESOURCE.
      if (prctlHandling(option, kernelVersion(profile)) == PRCTL_UNKNOWN) break; // before 3.3
      if (lastCap(profile) >= <u32>CAP_PERFMON && arg4 == 0 && arg5 == 0 && (arg2 & 0xffffffff) != PR_SET_MM_MAP && (arg2 & 0xffffffff) != PR_SET_MM_MAP_SIZE && !sysResource(st))
        return needsSysResource(st, res);
      return outside(res, Rule.PrctlNotModelled);
  }
  // Every other option, by contract/kernel.json: one this kernel does not know is EINVAL (the
  // default case of sys_prctl); another architecture's is EINVAL from its arch hook on x86-64;
  // the rest depend on what the engine does not hold.
  const handling = prctlHandling(option, kernelVersion(profile));
  if (handling == PRCTL_UNKNOWN) return fail(res, EINVAL, Rule.PrctlOptionUnknown, 0);
  if (handling == PRCTL_REFUSED) return fail(res, EINVAL, Rule.PrctlOtherArchitecture, 0);
  return outside(res, Rule.PrctlNotModelled);
}
