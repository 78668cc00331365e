// The bounding set: cap_task_prctl PR_CAPBSET_*, cap_prctl_drop (assembly/bounding.ts)
import { rule, type RuleInfo, capArg } from "./rule.js";
import { CAP } from "../capabilities/table.js";

export const BOUNDING_RULES: readonly RuleInfo[] = [
  rule("bounding.read", {
    errno: null,
    kernel: "cap_task_prctl PR_CAPBSET_READ",
    summary: "PR_CAPBSET_READ returns 1 when the capability is in the bounding set, 0 otherwise.",
    message: (c) => `${capArg(c, "arg2")} is ${c.ret === 1 ? "" : "not "}in the bounding set`,
  }),
  rule("bounding.invalid-cap", {
    errno: "EINVAL",
    kernel: "cap_task_prctl, cap_prctl_drop",
    summary: "PR_CAPBSET_READ/DROP of a number that is not a capability of this kernel fails with EINVAL.",
    message: (c) =>
      `${capArg(c, "arg2")} is not a capability of kernel ${c.profile.version} (CAP_LAST_CAP is ${c.profile.lastCap})`,
    hint: (c) => `pass a capability number from 0 to ${c.profile.lastCap}`,
  }),
  rule("bounding.drop", {
    errno: null,
    kernel: "cap_prctl_drop",
    summary: "PR_CAPBSET_DROP removes a capability from the bounding set only (P, E, I and A keep it).",
    message: (c) =>
      `${capArg(c, "arg2")} was dropped from the bounding set; permitted, effective, inheritable and ambient are unchanged`,
  }),
  rule("bounding.drop-needs-setpcap", {
    errno: "EPERM",
    kernel: "cap_prctl_drop",
    summary: "PR_CAPBSET_DROP needs CAP_SETPCAP in effective (checked before the capability number).",
    message: () => "CAP_SETPCAP is not in the effective set, which dropping from the bounding set requires",
    hint: (c) =>
      c.before.permitted.has(CAP.SETPCAP)
        ? "raise CAP_SETPCAP in effective first (it is permitted), then drop"
        : "drop bounding capabilities before CAP_SETPCAP leaves permitted (order matters), or do it from a parent that has CAP_SETPCAP",
  }),
];
