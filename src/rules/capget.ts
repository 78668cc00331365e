// capget(2): kernel/capability.c (assembly/capget.ts)
import { rule, type RuleInfo, listNames, isAre, versionName } from "./rule.js";
import { CAPABILITY_VERSION } from "../kernel/constants.js";

export const CAPGET_RULES: readonly RuleInfo[] = [
  rule("capget.ok", {
    errno: null,
    kernel: "sys_capget, cap_capget",
    summary: "capget copies the thread's effective, permitted and inheritable sets.",
    message: (c) =>
      c.op.op === "capget" && c.op.version === CAPABILITY_VERSION.v1 && !c.fault.isEmpty
        ? `capget read the sets, but the V1 header copied only capabilities 0..31: ${listNames(c.fault)} ${isAre(c.fault)} held and not reported`
        : "capget read the effective, permitted and inheritable sets",
    hint: (c) =>
      c.op.op === "capget" && c.op.version === CAPABILITY_VERSION.v1 && !c.fault.isEmpty
        ? "use _LINUX_CAPABILITY_VERSION_3 (0x20080522) with two data structs to see capabilities 32 and above"
        : null,
  }),
  rule("capget.version-unknown", {
    errno: "EINVAL",
    kernel: "cap_validate_magic",
    summary:
      "An unknown header version fails with EINVAL; the kernel writes its preferred version (0x20080522) into the header.",
    message: (c) =>
      `header version ${versionName((c.op as { version?: number }).version)} is not one the kernel knows; it wrote 0x20080522 into the header`,
    hint: () => "use _LINUX_CAPABILITY_VERSION_3 (0x20080522), or retry with the version the kernel wrote back",
  }),
  rule("capget.version-probe", {
    errno: null,
    kernel: "sys_capget",
    summary:
      "capget with an unknown version and a NULL data pointer returns 0 after rewriting the version: the version probe.",
    message: () => "version probe: the kernel wrote its preferred version 0x20080522 into the header and returned 0",
  }),
  rule("capget.null-data", {
    errno: null,
    kernel: "sys_capget",
    summary: "capget with a known version and a NULL data pointer returns 0 without looking at the pid.",
    message: () => "capget with a NULL data pointer returns 0 and copies nothing (the pid is not examined)",
    hint: () => "pass a data buffer (two structs for V2/V3) to read the sets",
  }),
  rule("capget.pid-negative", {
    errno: "EINVAL",
    kernel: "cap_get_target_pid",
    summary: "capget with a negative pid fails with EINVAL.",
    message: (c) => `pid ${(c.op as { pid?: number }).pid} is negative; capget takes 0, a thread id, or nothing else`,
    hint: () => "pass 0 to read the calling thread, or a thread id",
  }),
  rule("capget.no-such-thread", {
    errno: "ESRCH",
    kernel: "cap_get_target_pid",
    summary: "capget of a pid above PID_MAX_LIMIT (4194304), which can exist on no kernel, fails with ESRCH.",
    message: (c) => `no thread with id ${(c.op as { pid?: number }).pid} exists (the caller is ${c.before.tid})`,
    hint: (c) => `pass 0 or the caller's own tid ${c.before.tid}`,
  }),
  rule("capget.other-task", {
    errno: null,
    kernel: "cap_get_target_pid, security_capget",
    summary: "capget of another task of the scenario's tasks returns that task's sets, as they are.",
    message: (c) => `read the sets of task ${(c.op as { pid?: number }).pid}`,
  }),
  rule("capget.not-modelled", {
    errno: null,
    kernel: "cap_get_target_pid",
    summary:
      "capget of another pid that could exist: its answer is that task's sets (or ESRCH if there is none), which the engine does not hold; answered as outside the model.",
    message: (c) =>
      `pid ${(c.op as { pid?: number }).pid} is another task: capgate knows only the calling thread (tid ${c.before.tid}), not whether that task exists or what it holds`,
    hint: () =>
      'read another process\'s sets with capgate show PID; in a scenario, list the other tasks in "tasks" (then a pid not there is ESRCH)',
  }),
];
