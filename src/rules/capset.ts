// capset(2): kernel/capability.c, security/commoncap.c cap_capset (assembly/capset.ts)
import { rule, type RuleInfo, listNames, isAre, itThem, versionName } from "./rule.js";
import { CAP } from "../capabilities/table.js";

export const CAPSET_RULES: readonly RuleInfo[] = [
  rule("capset.ok", {
    errno: null,
    kernel: "sys_capset, cap_capset",
    summary:
      "capset replaces the effective, permitted and inheritable sets; ambient shrinks to ambient ∩ permitted ∩ inheritable.",
    message: (c) => {
      const parts = ["capset replaced the effective, permitted and inheritable sets"];
      if (!c.aux.isEmpty) parts.push(`and ambient silently lost ${listNames(c.aux)}`);
      return parts.join(" ");
    },
  }),
  rule("capset.version-unknown", {
    errno: "EINVAL",
    kernel: "cap_validate_magic",
    summary: "An unknown header version fails with EINVAL and the header is rewritten to 0x20080522.",
    message: (c) =>
      `header version ${versionName((c.op as { version?: number }).version)} is not one the kernel knows; it wrote 0x20080522 into the header`,
    hint: () => "use _LINUX_CAPABILITY_VERSION_3 (0x20080522) with two data structs",
  }),
  rule("capset.pid-not-self", {
    errno: "EPERM",
    kernel: "sys_capset",
    summary: "capset may only change the calling thread: pid must be 0 or the caller's own thread id.",
    message: (c) =>
      `pid ${(c.op as { pid?: number }).pid} is not the calling thread (${c.before.tid}); capset can only change the caller's own capabilities`,
    hint: () => "pass pid 0 (or the caller's own tid); to change another thread, run the change in that thread",
  }),
  rule("capset.null-data", {
    errno: "EFAULT",
    kernel: "sys_capset",
    summary: "capset with a NULL data pointer fails with EFAULT.",
    message: () => "capset was given no data (a NULL pointer)",
    hint: () => "pass the data structs (two for V2/V3)",
  }),
  rule("capset.inheritable-not-permitted", {
    errno: "EPERM",
    kernel: "cap_capset, cap_inh_is_capped",
    summary: "Without CAP_SETPCAP in effective, new inheritable must lie within old inheritable ∪ old permitted.",
    message: (c) =>
      `${listNames(c.fault)} ${isAre(c.fault)} not in the permitted or inheritable set, and CAP_SETPCAP is not effective, so ${itThem(c.fault)} cannot be added to inheritable`,
    hint: (c) =>
      c.before.permitted.has(CAP.SETPCAP)
        ? `raise CAP_SETPCAP in effective first (it is permitted), or leave ${listNames(c.fault)} out of inheritable`
        : `leave ${listNames(c.fault)} out of inheritable: this thread has neither ${itThem(c.fault)} nor CAP_SETPCAP in permitted, and permitted cannot grow`,
  }),
  rule("capset.inheritable-outside-bounding", {
    errno: "EPERM",
    kernel: "cap_capset",
    summary: "New inheritable must lie within old inheritable ∪ bounding, even with CAP_SETPCAP.",
    message: (c) =>
      `${listNames(c.fault)} ${isAre(c.fault)} not in the bounding set, so ${itThem(c.fault)} cannot be added to inheritable (not even with CAP_SETPCAP)`,
    hint: (c) =>
      `leave ${listNames(c.fault)} out of inheritable; a capability dropped from the bounding set never comes back in this thread`,
  }),
  rule("capset.permitted-grows", {
    errno: "EPERM",
    kernel: "cap_capset",
    summary: "New permitted must lie within old permitted: capset can only shrink it.",
    message: (c) =>
      `${listNames(c.fault)} ${isAre(c.fault)} not in the permitted set, and capset can never add to permitted`,
    hint: (c) =>
      `leave ${listNames(c.fault)} out of permitted; only execve of a file with file capabilities (or as root) can grant ${itThem(c.fault)}`,
  }),
  rule("capset.effective-not-permitted", {
    errno: "EPERM",
    kernel: "cap_capset",
    summary: "New effective must lie within new permitted.",
    message: (c) => `${listNames(c.fault)} would be effective but ${isAre(c.fault)} not in the new permitted set`,
    hint: (c) => {
      const inOld = c.fault.isSubsetOf(c.before.permitted);
      return inOld
        ? `keep ${listNames(c.fault)} in permitted as well, or drop ${itThem(c.fault)} from effective`
        : `drop ${listNames(c.fault)} from effective: ${isAre(c.fault)} not permitted`;
    },
  }),
];
