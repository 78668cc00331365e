// securebits: cap_task_prctl PR_GET/SET_SECUREBITS (assembly/securebits.ts)
import { rule, type RuleInfo } from "./rule.js";
import { CAP } from "../capabilities/table.js";
import { securebitNames } from "../kernel/constants.js";

export const SECUREBITS_RULES: readonly RuleInfo[] = [
  rule("securebits.get", {
    errno: null,
    kernel: "cap_task_prctl PR_GET_SECUREBITS",
    summary: "PR_GET_SECUREBITS returns the securebits.",
    message: (c) => `securebits are 0x${c.ret.toString(16)}${c.ret ? ` (${securebitNames(c.ret).join(", ")})` : ""}`,
  }),
  rule("securebits.set", {
    errno: null,
    kernel: "cap_task_prctl PR_SET_SECUREBITS",
    summary: "PR_SET_SECUREBITS replaced the whole securebits word.",
    message: (c) =>
      `securebits are now 0x${c.after.securebits.toString(16)}${c.after.securebits ? ` (${securebitNames(c.after.securebits).join(", ")})` : ""}`,
  }),
  rule("securebits.locked-bit-changes", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_SECUREBITS [1]",
    summary: "A securebit whose lock is set cannot change.",
    message: (c) =>
      `${securebitNames(c.fault.lo).join(", ")} ${c.fault.size === 1 ? "is" : "are"} locked and would change`,
    hint: () =>
      "keep the locked bits as they are (read them with PR_GET_SECUREBITS and change only unlocked bits); locks last until exec of a new user namespace",
  }),
  rule("securebits.lock-cleared", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_SECUREBITS [2]",
    summary: "A securebits lock, once set, cannot be cleared.",
    message: (c) => `${securebitNames(c.fault.lo).join(", ")} would be cleared, and locks are one-way`,
    hint: () => "include every lock that is already set in the new value",
  }),
  rule("securebits.unsupported-bit", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_SECUREBITS [3]",
    summary: "Bits this kernel does not know fail with EPERM (not EINVAL).",
    message: (c) => `bits 0x${c.fault.toBigInt().toString(16)} are not securebits of kernel ${c.profile.version}`,
    hint: () => "set only the SECBIT_* bits this kernel defines",
  }),
  rule("securebits.needs-setpcap", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_SECUREBITS [4]",
    summary: "Changing securebits needs CAP_SETPCAP in effective (6.14+: except the EXEC_* bits).",
    message: () => "CAP_SETPCAP is not in the effective set, which changing these securebits requires",
    hint: (c) =>
      c.before.permitted.has(CAP.SETPCAP)
        ? "raise CAP_SETPCAP in effective first (it is permitted)"
        : "set securebits before CAP_SETPCAP leaves permitted, or from a privileged parent",
  }),
  rule("securebits.unchanged-needs-setpcap", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_SET_SECUREBITS [4]",
    summary: 'Even writing back the same securebits needs CAP_SETPCAP ("for legacy reason, denies non-change").',
    message: () => "writing securebits needs CAP_SETPCAP in effective, even when the value does not change",
    hint: () => "skip the call when the value is already right, or raise CAP_SETPCAP first",
  }),
];
