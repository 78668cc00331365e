// The set*uid calls: kernel/sys.c and cap_task_fix_setuid (assembly/setuid.ts)
import { rule, type RuleInfo } from "./rule.js";
import { CAP } from "../capabilities/table.js";
import { shownId } from "../userns.js";

export const SETUID_RULES: readonly RuleInfo[] = [
  rule("setuid.ok", {
    errno: null,
    kernel: "kernel/sys.c, cap_emulate_setxuid",
    summary: "The ids changed; the capability fix-up of cap_task_fix_setuid ran (unless SECBIT_NO_SETUID_FIXUP).",
    message: (c) =>
      `ids are now ruid ${shownId(c.after.ruid)}, euid ${shownId(c.after.euid)}, suid ${shownId(c.after.suid)}, fsuid ${shownId(c.after.fsuid)}`,
  }),
  rule("setuid.noop", {
    errno: null,
    kernel: "__sys_setresuid",
    summary: "setresuid that changes no id returns 0 without running the capability fix-up.",
    message: () => "no id changes: setresuid returned 0 without touching capabilities",
  }),
  rule("setuid.needs-cap-setuid", {
    errno: "EPERM",
    kernel: "kernel/sys.c (ns_capable_setid)",
    summary: "Setting an id other than the current real, effective or saved uid needs CAP_SETUID in effective.",
    message: (c) =>
      `the new id is none of the current ids (ruid ${shownId(c.before.ruid)}, euid ${shownId(c.before.euid)}, suid ${shownId(c.before.suid)}) and CAP_SETUID is not effective`,
    hint: (c) =>
      c.before.permitted.has(CAP.SETUID)
        ? "raise CAP_SETUID in effective first (it is permitted)"
        : "only the current real, effective or saved uid can be chosen without CAP_SETUID",
  }),
  rule("setuid.invalid-id", {
    errno: "EINVAL",
    kernel: "kernel/sys.c (uid_valid)",
    summary: "(uid_t)-1 is not a valid id for setuid (and glibc's seteuid refuses it).",
    message: () => "-1 (4294967295) is not a valid uid for this call",
    hint: () => 'pass a real uid; -1 means "unchanged" only for setreuid and setresuid',
  }),
  rule("setfsuid.changed", {
    errno: null,
    kernel: "__sys_setfsuid, cap_task_fix_setuid LSM_SETID_FS",
    summary:
      "setfsuid changed the fsuid; leaving or entering fsuid 0 moves CAP_FS_SET out of or into effective. It returns the old fsuid.",
    message: (c) => `fsuid is now ${shownId(c.after.fsuid)} (setfsuid returns the previous fsuid ${c.ret})`,
  }),
  rule("setfsuid.unchanged", {
    errno: null,
    kernel: "__sys_setfsuid",
    summary: "setfsuid to the current fsuid changes nothing and returns it.",
    message: (c) => `fsuid was already ${shownId(c.before.fsuid)}`,
  }),
  rule("setfsuid.denied", {
    errno: null,
    kernel: "__sys_setfsuid",
    summary:
      "setfsuid to an id that needs CAP_SETUID silently changes nothing: it never fails, it returns the old fsuid.",
    message: (c) =>
      `fsuid stays ${shownId(c.before.fsuid)}: the new id is not one this thread may take (none of ruid, euid, suid or fsuid without CAP_SETUID, or one with no mapping in its user namespace); setfsuid reports no error`,
    hint: () =>
      "compare setfsuid's return value with a second setfsuid call to detect the refusal, or raise CAP_SETUID first",
  }),
  rule("setuid.unmapped-id", {
    errno: "EINVAL",
    kernel: "kernel/sys.c (make_kuid, uid_valid)",
    summary:
      "A uid with no mapping in the thread's user namespace is EINVAL, before any permission check: in a rootless container only the mapped ids exist.",
    message: (c) =>
      `a uid in this call has no mapping in the thread's user namespace (${mapText(c.before.ns?.uidMap)})`,
    hint: () =>
      "choose a uid inside the namespace's uid_map, or give the namespace a wider map (newuidmap with /etc/subuid ranges)",
  }),
];

/** A map as uid_map shows it, in one line. */
export function mapText(map: readonly (readonly number[])[] | undefined): string {
  if (!map || map.length === 0) return "no map written: every id is unmapped";
  return `map ${map.map((e) => e.join(" ")).join("; ")}`;
}
