// The ambient set: cap_task_prctl PR_CAP_AMBIENT (assembly/ambient.ts)
import { rule, type RuleInfo, listNames, capArg } from "./rule.js";

export const AMBIENT_RULES: readonly RuleInfo[] = [
  rule("ambient.args-nonzero", {
    errno: "EINVAL",
    kernel: "cap_task_prctl PR_CAP_AMBIENT",
    summary:
      "PR_CAP_AMBIENT requires its unused arguments to be 0 (arg3..arg5 for CLEAR_ALL, arg4 and arg5 otherwise).",
    message: () => "the unused arguments of PR_CAP_AMBIENT must be 0",
    hint: () => "pass 0 for every unused argument (prctl always takes five)",
  }),
  rule("ambient.invalid-cap", {
    errno: "EINVAL",
    kernel: "cap_task_prctl PR_CAP_AMBIENT",
    summary:
      "PR_CAP_AMBIENT with a number that is not a capability of this kernel fails with EINVAL, even for LOWER and IS_SET.",
    message: (c) =>
      `${capArg(c, "arg3")} is not a capability of kernel ${c.profile.version} (CAP_LAST_CAP is ${c.profile.lastCap})`,
    hint: (c) => `pass a capability number from 0 to ${c.profile.lastCap}`,
  }),
  rule("ambient.unknown-subop", {
    errno: "EINVAL",
    kernel: "cap_task_prctl PR_CAP_AMBIENT",
    summary: "A PR_CAP_AMBIENT sub-operation other than IS_SET, RAISE, LOWER or CLEAR_ALL fails with EINVAL.",
    message: (c) => `${c.op.op === "prctl" ? String(c.op.arg2 ?? 0) : "?"} is not a PR_CAP_AMBIENT sub-operation`,
    hint: () => "use PR_CAP_AMBIENT_IS_SET (1), _RAISE (2), _LOWER (3) or _CLEAR_ALL (4)",
  }),
  rule("ambient.raise-not-permitted", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_CAP_AMBIENT_RAISE",
    summary: "An ambient raise needs the capability in permitted.",
    message: (c) => `${listNames(c.fault)} is not in the permitted set, which an ambient raise requires`,
    hint: (c) =>
      `${listNames(c.fault)} must be permitted (and inheritable) before it can be ambient; it can only enter permitted through execve`,
  }),
  rule("ambient.raise-not-inheritable", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_CAP_AMBIENT_RAISE",
    summary: "An ambient raise needs the capability in inheritable.",
    message: (c) => `${listNames(c.fault)} is not in the inheritable set, which an ambient raise requires`,
    hint: (c) => `add ${listNames(c.fault)} to inheritable with capset first (it is permitted), then raise it`,
  }),
  rule("ambient.raise-securebit", {
    errno: "EPERM",
    kernel: "cap_task_prctl PR_CAP_AMBIENT_RAISE",
    summary: "SECBIT_NO_CAP_AMBIENT_RAISE forbids ambient raises.",
    message: () => "SECBIT_NO_CAP_AMBIENT_RAISE is set, so no capability can be raised in the ambient set",
    hint: (c) =>
      (c.before.securebits & 0x80) !== 0
        ? "the bit is locked (SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED): no way in this thread or its children"
        : "clear SECBIT_NO_CAP_AMBIENT_RAISE with PR_SET_SECUREBITS (needs CAP_SETPCAP) first",
  }),
  rule("ambient.is-set", {
    errno: null,
    kernel: "cap_task_prctl PR_CAP_AMBIENT_IS_SET",
    summary: "PR_CAP_AMBIENT_IS_SET returns 1 when the capability is ambient.",
    message: (c) => `${capArg(c, "arg3")} is ${c.ret === 1 ? "" : "not "}in the ambient set`,
  }),
  rule("ambient.raise", {
    errno: null,
    kernel: "cap_task_prctl PR_CAP_AMBIENT_RAISE",
    summary: "The capability was added to the ambient set (the bounding set is not consulted).",
    message: (c) =>
      `${listNames(c.fault)} is now ambient: it stays permitted and effective across execve of files without file capabilities`,
  }),
  rule("ambient.lower", {
    errno: null,
    kernel: "cap_task_prctl PR_CAP_AMBIENT_LOWER",
    summary: "The capability was removed from the ambient set (also when it was not there).",
    message: (c) => `${listNames(c.fault)} is not ambient any more`,
  }),
  rule("ambient.clear-all", {
    errno: null,
    kernel: "cap_task_prctl PR_CAP_AMBIENT_CLEAR_ALL",
    summary: "The ambient set was emptied.",
    message: (c) =>
      c.fault.isEmpty ? "the ambient set was already empty" : `the ambient set was cleared (${listNames(c.fault)})`,
  }),
];
