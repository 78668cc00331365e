// capget(2): sys_capget in kernel/capability.c. It never changes the state.
import { OP_A, OP_B, OP_C, OP_X0, OP_X1, OP_X2, OPF_DATA, OPF_TASK_FOUND, OPF_TASKS_KNOWN, ST_EFFECTIVE, ST_PERMITTED, ST_INHERITABLE, ST_TID, RS_VERSION, RS_DATA_EFFECTIVE, RS_DATA_PERMITTED, RS_DATA_INHERITABLE, Rule, EINVAL, ESRCH, NOTE_V1_TRUNCATED, PID_MAX_LIMIT } from "./contract";
import { wordsOf, VERSION_3 } from "./header";
import { succeed, fail, outside } from "./rules";

export function capget(profile: u32, st: usize, op: usize, res: usize): u32 {
  const version = load<u32>(op + OP_A);
  const pid = load<i32>(op + OP_B);
  const flags = load<u32>(op + OP_C);
  const hasData = (flags & OPF_DATA) != 0;
  const words = wordsOf(version);
  if (words == 0) {
    // cap_validate_magic rewrote the header; with NULL data this is the version probe
    // and sys_capget returns 0 ("if (dataptr == NULL) return ret == -EINVAL ? 0 : ret").
    store<u32>(res + RS_VERSION, VERSION_3);
    if (!hasData) return succeed(res, 0, Rule.CapgetVersionProbe, 0);
    return fail(res, EINVAL, Rule.CapgetVersionUnknown, 0);
  }
  store<u32>(res + RS_VERSION, version);
  // A valid version with NULL data returns 0 before the pid is even read.
  if (!hasData) return succeed(res, 0, Rule.CapgetNullData, 0);
  if (pid < 0) return fail(res, EINVAL, Rule.CapgetPidNegative, 0);
  // cap_get_target_pid: pid 0 or our own tid is us; any other tid is looked up in the pid
  // namespace (find_task_by_vpid) and its sets are read as they are (security_capget).
  let effective = load<u64>(st + ST_EFFECTIVE);
  let permitted = load<u64>(st + ST_PERMITTED);
  let inheritable = load<u64>(st + ST_INHERITABLE);
  let rule = Rule.CapgetOk;
  if (pid != 0 && <u32>pid != load<u32>(st + ST_TID)) {
    if ((flags & OPF_TASK_FOUND) != 0) {
      // A task of the scenario's `tasks`: the op carries its sets.
      effective = load<u64>(op + OP_X0);
      permitted = load<u64>(op + OP_X1);
      inheritable = load<u64>(op + OP_X2);
      rule = Rule.CapgetOtherTask;
    } else if ((flags & OPF_TASKS_KNOWN) != 0 || <u32>pid > PID_MAX_LIMIT) {
      // `tasks` lists the whole pid namespace; and PID_MAX_LIMIT of 64-bit kernels
      // (include/linux/threads.h) is as far as pid_max can be raised, so a larger pid exists
      // on no kernel.
      return fail(res, ESRCH, Rule.CapgetNoSuchThread, 0);
    } else {
      // A pid that could exist, of a task whose sets the engine was not told.
      return outside(res, Rule.CapgetOtherTaskNotModelled);
    }
  }
  let notes: u32 = 0;
  if (words == 1) {
    // Only data[0] is copied out: capabilities 32.. are silently not reported.
    const high = (effective | permitted | inheritable) >> 32;
    if (high != 0) notes |= NOTE_V1_TRUNCATED;
    store<u64>(res + 16, high << 32); // RS_FAULT: what the caller did not see
    effective &= 0xffffffff;
    permitted &= 0xffffffff;
    inheritable &= 0xffffffff;
  }
  store<u64>(res + RS_DATA_EFFECTIVE, effective);
  store<u64>(res + RS_DATA_PERMITTED, permitted);
  store<u64>(res + RS_DATA_INHERITABLE, inheritable);
  return succeed(res, 0, rule, notes);
}
