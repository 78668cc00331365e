// capset(2): sys_capset in kernel/capability.c, then cap_capset in security/commoncap.c.
import { RS_FAULT, OP_A, OP_B, OP_C, OP_X0, OP_X1, OP_X2, OPF_DATA, ST_EFFECTIVE, ST_PERMITTED, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_TID, RS_VERSION, RS_AUX, CK_PERMITTED, CK_EFFECTIVE, CK_INHERITABLE, CK_BOUNDING, CK_NEW_EFFECTIVE, CK_NEW_PERMITTED, CK_NEW_INHERITABLE, Rule, EINVAL, EPERM, EFAULT, NOTE_V1_TRUNCATED, NOTE_ABOVE_LAST_CAP, NOTE_ABOVE_LAST_CAP_KEPT, NOTE_AMBIENT_TRIMMED } from "./contract";
import { wordsOf, VERSION_3 } from "./header";
import { validMask, fullSet, bit } from "./profile";
import { CAP_SETPCAP } from "./capabilities";
import { succeed, fail } from "./rules";

// The four checks of cap_capset, in the kernel's order; 0 when all pass. `fault` receives the
// offending capabilities. Shared by the full evaluator and the compact batch kernel.
@inline export function capsetChecks(
  permitted: u64, effective: u64, inheritable: u64, bounding: u64,
  newEffective: u64, newPermitted: u64, newInheritable: u64, fault: usize,
): u32 {
  // 1. cap_inh_is_capped(): without CAP_SETPCAP in the caller's own effective set (a direct
  //    cap_capable call, no other LSM asked), inheritable may only gain what is permitted.
  if ((effective & bit(CAP_SETPCAP)) == 0) {
    const extra = newInheritable & ~(inheritable | permitted);
    if (extra != 0) { store<u64>(fault, extra); return Rule.CapsetInheritableNotPermitted; }
  }
  // 2. Inheritable may never gain a capability outside the bounding set, even with SETPCAP.
  let extra = newInheritable & ~(inheritable | bounding);
  if (extra != 0) { store<u64>(fault, extra); return Rule.CapsetInheritableOutsideBounding; }
  // 3. Permitted may only shrink.
  extra = newPermitted & ~permitted;
  if (extra != 0) { store<u64>(fault, extra); return Rule.CapsetPermittedGrows; }
  // 4. Effective must lie within the new permitted set.
  extra = newEffective & ~newPermitted;
  if (extra != 0) { store<u64>(fault, extra); return Rule.CapsetEffectiveNotPermitted; }
  return 0;
}

export function capset(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const version = load<u32>(op + OP_A);
  const pid = load<i32>(op + OP_B);
  const words = wordsOf(version);
  if (words == 0) {
    store<u32>(res + RS_VERSION, VERSION_3);
    return fail(res, EINVAL, Rule.CapsetVersionUnknown, 0);
  }
  store<u32>(res + RS_VERSION, version);
  // "may only affect current now": any pid but 0 or our own tid (a negative one included).
  if (pid != 0 && <u32>pid != load<u32>(st + ST_TID)) return fail(res, EPERM, Rule.CapsetPidNotSelf, 0);
  if ((load<u32>(op + OP_C) & OPF_DATA) == 0) return fail(res, EFAULT, Rule.CapsetNullData, 0);

  let newEffective = load<u64>(op + OP_X0);
  let newPermitted = load<u64>(op + OP_X1);
  let newInheritable = load<u64>(op + OP_X2);
  let notes: u32 = 0;
  if (words == 1) {
    // V1 copies one data element: the high word of every set reads as 0.
    const high = (newEffective | newPermitted | newInheritable) >> 32;
    const had = (load<u64>(st + ST_PERMITTED) | load<u64>(st + ST_INHERITABLE)) >> 32;
    if ((high | had) != 0) notes |= NOTE_V1_TRUNCATED;
    newEffective &= 0xffffffff;
    newPermitted &= 0xffffffff;
    newInheritable &= 0xffffffff;
  }
  // mk_kernel_cap() masks with CAP_VALID_MASK (6.3+; from 3.16 the same with
  // CAP_LAST_U32_VALID_MASK): silently. Before 3.16 the bits were stored as given.
  const mask = fullSet(profile);
  const above = (newEffective | newPermitted | newInheritable) & ~validMask(profile);
  if (above != 0) notes |= mask == validMask(profile) ? NOTE_ABOVE_LAST_CAP : NOTE_ABOVE_LAST_CAP_KEPT;
  newEffective &= mask;
  newPermitted &= mask;
  newInheritable &= mask;

  const rule = capsetChecks(
    load<u64>(st + ST_PERMITTED), load<u64>(st + ST_EFFECTIVE), load<u64>(st + ST_INHERITABLE),
    load<u64>(st + ST_BOUNDING), newEffective, newPermitted, newInheritable, res + RS_FAULT);
  if (rule != 0) return fail(res, EPERM, <Rule>rule, load<u64>(res + RS_FAULT));

  const ambient = load<u64>(st + ST_AMBIENT);
  const newAmbient = ambient & newPermitted & newInheritable;
  if (newAmbient != ambient) {
    notes |= NOTE_AMBIENT_TRIMMED;
    store<u64>(res + RS_AUX, ambient & ~newAmbient);
  }
  store<u64>(out + ST_EFFECTIVE, newEffective);
  store<u64>(out + ST_PERMITTED, newPermitted);
  store<u64>(out + ST_INHERITABLE, newInheritable);
  store<u64>(out + ST_AMBIENT, newAmbient);
  return succeed(res, 0, Rule.CapsetOk, notes);
}

// One record of the compact batch: the four checks only (no header, no state update).
@inline export function capsetCheckRecord(rec: usize): u32 {
  return capsetChecks(
    load<u64>(rec + CK_PERMITTED), load<u64>(rec + CK_EFFECTIVE), load<u64>(rec + CK_INHERITABLE),
    load<u64>(rec + CK_BOUNDING), load<u64>(rec + CK_NEW_EFFECTIVE), load<u64>(rec + CK_NEW_PERMITTED),
    load<u64>(rec + CK_NEW_INHERITABLE), faultSink);
}

// A place for capsetChecks to write the fault mask that the compact batch does not report.
const faultSink: usize = memory.data(8);
