// prctl(2) dispatch, keep-caps and no_new_privs: kernel/sys.c, cap_task_prctl (assembly/prctl.ts)
import { PRCTL } from "../kernel/constants.js";
import { PRCTL_ROWS } from "../kernel/facts.js";
import { CAP } from "../capabilities/table.js";
import { rule, type RuleInfo } from "./rule.js";

export const PRCTL_RULES: readonly RuleInfo[] = [
  rule("prctl.option-unknown", {
    errno: "EINVAL",
    kernel: "sys_prctl (default case)",
    summary:
      "An option number the kernel does not have fails with EINVAL: no kernel knows it, or the capability option arrived in a later kernel.",
    message: (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      const row = PRCTL_ROWS.find((r) => r.number === option);
      return row
        ? `prctl option ${option} (${row.name}) does not exist in kernel ${c.profile.version} (added in ${row.since})`
        : `prctl option ${option} is not an option of any kernel`;
    },
    hint: (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      if (option === PRCTL.PR_CAP_AMBIENT) return "the ambient set needs Linux 4.3 or later";
      if (option === PRCTL.PR_SET_NO_NEW_PRIVS || option === PRCTL.PR_GET_NO_NEW_PRIVS)
        return "no_new_privs needs Linux 3.5 or later";
      return "check the option number against <linux/prctl.h>";
    },
  }),
  rule("prctl.other-architecture", {
    errno: "EINVAL",
    kernel: "sys_prctl: the architecture's hook (SET_UNALIGN_CTL, SVE_SET_VL, PAC_RESET_KEYS, ...) defaults to -EINVAL",
    summary:
      "An option of another architecture (arm64's SVE, SME and pointer authentication, RISC-V's vector and CFI, PowerPC's FPEXC and DEXCR, MIPS's FP mode, ia64's unaligned access): x86-64 refuses it with EINVAL whatever the arguments.",
    message: (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      const row = PRCTL_ROWS.find((r) => r.number === option);
      return `prctl option ${option}${row ? ` (${row.name})` : ""} belongs to another architecture: x86-64 refuses it`;
    },
    hint: () => "nothing to fix on x86-64: the option has no meaning there",
  }),
  rule("prctl.not-modelled", {
    errno: null,
    kernel: "sys_prctl",
    summary:
      "An option whose outcome depends on what capgate does not hold (memory maps, signals, the task's flags, seccomp filters...): answered as outside the model, never with an errno; the steps after it are not run.",
    message: (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      return `prctl option ${option} is not modelled: its outcome depends on more than the thread's capabilities, ids and securebits`;
    },
    hint: () =>
      "capgate models PR_CAPBSET_*, PR_CAP_AMBIENT, PR_*_SECUREBITS, PR_*_KEEPCAPS, PR_*_NO_NEW_PRIVS and the CAP_SYS_RESOURCE checks of PR_SET_MM and PR_*_IO_FLUSHER; try this call on a real kernel (capgate verify)",
  }),
  rule("prctl.needs-initial-ns", {
    errno: "EPERM",
    kernel: "capable(CAP_SYS_RESOURCE): cap_capable against the initial user namespace",
    summary:
      "PR_SET_MM and the IO_FLUSHER options check CAP_SYS_RESOURCE over the initial user namespace: a thread in a child namespace fails with EPERM even with every capability there.",
    message: () =>
      "CAP_SYS_RESOURCE is effective, but only over the thread's own user namespace; this prctl checks it against the initial one",
    hint: () => "do this from the initial user namespace (outside the container)",
  }),
  rule("prctl.needs-sys-resource", {
    errno: "EPERM",
    kernel: "prctl_set_mm, sys_prctl PR_SET_IO_FLUSHER/PR_GET_IO_FLUSHER",
    summary:
      "PR_SET_MM (other than PR_SET_MM_MAP) and the IO_FLUSHER options need CAP_SYS_RESOURCE in the initial user namespace, checked before anything else they do.",
    message: () => "CAP_SYS_RESOURCE is not in the effective set, which this prctl option requires",
    hint: (c) =>
      c.before.permitted.has(CAP.SYS_RESOURCE)
        ? "raise CAP_SYS_RESOURCE into the effective set first (capset)"
        : "CAP_SYS_RESOURCE must be permitted and effective (a container or sandbox may have dropped it from the bounding set)",
  }),
  rule("keepcaps.get", {
    errno: null,
    kernel: "cap_task_prctl PR_GET_KEEPCAPS",
    summary: "PR_GET_KEEPCAPS returns SECBIT_KEEP_CAPS.",
    message: (c) => `keep-caps is ${c.ret ? "on" : "off"}`,
  }),
  rule("keepcaps.set", {
    errno: null,
    kernel: "cap_task_prctl PR_SET_KEEPCAPS",
    summary: "PR_SET_KEEPCAPS sets or clears SECBIT_KEEP_CAPS; no privilege is needed. execve clears it.",
    message: (c) =>
      `keep-caps is now ${c.after.securebits & 0x10 ? "on: permitted survives leaving uid 0 (effective and ambient do not); execve turns it off" : "off"}`,
  }),
  rule("keepcaps.invalid-value", {
    errno: "EINVAL",
    kernel: "cap_task_prctl PR_SET_KEEPCAPS",
    summary: "PR_SET_KEEPCAPS takes only 0 or 1.",
    message: (c) => `keep-caps value ${c.op.op === "prctl" ? String(c.op.arg2 ?? 0) : "?"} is not 0 or 1`,
    hint: () => "pass 0 or 1",
  }),
  rule("keepcaps.locked", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_KEEPCAPS",
    summary: "PR_SET_KEEPCAPS fails when SECBIT_KEEP_CAPS_LOCKED is set.",
    message: () => "SECBIT_KEEP_CAPS_LOCKED is set, so keep-caps cannot change",
    hint: () => "the lock is permanent for this thread; keep-caps stays as it is",
  }),
  rule("nnp.get", {
    errno: null,
    kernel: "sys_prctl PR_GET_NO_NEW_PRIVS",
    summary: "PR_GET_NO_NEW_PRIVS returns the no_new_privs flag.",
    message: (c) => `no_new_privs is ${c.ret ? "set" : "not set"}`,
  }),
  rule("nnp.set", {
    errno: null,
    kernel: "sys_prctl PR_SET_NO_NEW_PRIVS",
    summary: "no_new_privs is set for good: execve cannot grant privileges any more.",
    message: () =>
      "no_new_privs is set: setuid bits are ignored and file capabilities cannot add to permitted on execve; it can never be unset",
  }),
  rule("nnp.invalid-args", {
    errno: "EINVAL",
    kernel: "sys_prctl PR_SET/GET_NO_NEW_PRIVS",
    summary: "PR_SET_NO_NEW_PRIVS takes arg2 = 1 and zeros; PR_GET_NO_NEW_PRIVS takes only zeros.",
    message: (c) =>
      c.op.op === "prctl" && c.op.option === PRCTL.PR_SET_NO_NEW_PRIVS
        ? "PR_SET_NO_NEW_PRIVS needs arg2 = 1 and arg3..arg5 = 0 (it cannot be unset)"
        : "PR_GET_NO_NEW_PRIVS needs arg2..arg5 = 0",
    hint: () => "pass exactly the arguments the option takes, zeros for the rest",
  }),
];
