// The set*gid calls and setgroups: kernel/sys.c and kernel/groups.c (assembly/setuid.ts,
// assembly/groups.ts). They have the uid calls' id rules with CAP_SETGID and no capability fix-up.
import { rule, type RuleInfo } from "./rule.js";
import { CAP } from "../capabilities/table.js";
import { shownId } from "../userns.js";
import { mapText } from "./setuid.js";

const noSetgidHint = (what: string) => (c: { before: { permitted: { has(n: number): boolean } } }) =>
  c.before.permitted.has(CAP.SETGID)
    ? "raise CAP_SETGID in effective first (it is permitted)"
    : `only the current real, effective or saved gid can be chosen without CAP_SETGID${what}`;

export const SETGID_RULES: readonly RuleInfo[] = [
  rule("setgid.ok", {
    errno: null,
    kernel: "kernel/sys.c (__sys_setgid, __sys_setregid, __sys_setresgid)",
    summary: "The gids changed; no capability changes (commoncap has no setgid hook).",
    message: (c) =>
      `gids are now rgid ${shownId(c.after.rgid)}, egid ${shownId(c.after.egid)}, sgid ${shownId(c.after.sgid)}, fsgid ${shownId(c.after.fsgid)}`,
  }),
  rule("setgid.noop", {
    errno: null,
    kernel: "__sys_setresgid",
    summary: "setresgid that changes no gid returns 0 at once.",
    message: () => "no gid changes: setresgid returned 0",
  }),
  rule("setgid.needs-cap-setgid", {
    errno: "EPERM",
    kernel: "kernel/sys.c (ns_capable_setid)",
    summary: "Setting a gid other than the current real, effective or saved gid needs CAP_SETGID in effective.",
    message: (c) =>
      `the new gid is none of the current gids (rgid ${shownId(c.before.rgid)}, egid ${shownId(c.before.egid)}, sgid ${shownId(c.before.sgid)}) and CAP_SETGID is not effective`,
    hint: noSetgidHint(""),
  }),
  rule("setgid.invalid-id", {
    errno: "EINVAL",
    kernel: "kernel/sys.c (gid_valid)",
    summary: "(gid_t)-1 is not a valid id for setgid (and glibc's setegid refuses it).",
    message: () => "-1 (4294967295) is not a valid gid for this call",
    hint: () => 'pass a real gid; -1 means "unchanged" only for setregid and setresgid',
  }),
  rule("setgid.unmapped-id", {
    errno: "EINVAL",
    kernel: "kernel/sys.c (make_kgid, gid_valid)",
    summary: "A gid with no mapping in the thread's user namespace is EINVAL, before any permission check.",
    message: (c) =>
      `a gid in this call has no mapping in the thread's user namespace (${mapText(c.before.ns?.gidMap)})`,
    hint: () =>
      "choose a gid inside the namespace's gid_map, or give the namespace a wider map (newgidmap, /etc/subgid)",
  }),
  rule("setfsgid.changed", {
    errno: null,
    kernel: "__sys_setfsgid",
    summary: "setfsgid changed the fsgid (no capability moves, unlike setfsuid). It returns the old fsgid.",
    message: (c) => `fsgid is now ${shownId(c.after.fsgid)} (setfsgid returns the previous fsgid ${c.ret})`,
  }),
  rule("setfsgid.unchanged", {
    errno: null,
    kernel: "__sys_setfsgid",
    summary: "setfsgid to the current fsgid changes nothing and returns it.",
    message: (c) => `fsgid was already ${shownId(c.before.fsgid)}`,
  }),
  rule("setfsgid.denied", {
    errno: null,
    kernel: "__sys_setfsgid",
    summary: "setfsgid to a gid the thread may not take silently changes nothing: it returns the old fsgid.",
    message: (c) =>
      `fsgid stays ${shownId(c.before.fsgid)}: the new gid is not one this thread may take (none of rgid, egid, sgid or fsgid without CAP_SETGID, or unmapped); setfsgid reports no error`,
    hint: () => "compare setfsgid's return value with a second call to detect the refusal, or raise CAP_SETGID first",
  }),
  rule("setgroups.ok", {
    errno: null,
    kernel: "sys_setgroups, groups_sort",
    summary: "The supplementary groups were replaced (the kernel keeps them sorted).",
    message: (c) => `supplementary groups are now [${c.after.groups.map(shownId).join(", ")}]`,
  }),
  rule("setgroups.needs-cap-setgid", {
    errno: "EPERM",
    kernel: "may_setgroups (ns_capable_setid)",
    summary: "setgroups needs CAP_SETGID in effective, whatever the list (even the current one, even empty).",
    message: () => "CAP_SETGID is not in the effective set, which setgroups always requires",
    hint: noSetgidHint(", and setgroups cannot be called at all"),
  }),
  rule("setgroups.denied", {
    errno: "EPERM",
    kernel: "may_setgroups -> userns_may_setgroups",
    summary:
      'In a user namespace setgroups is refused while /proc/PID/setgroups is "deny" (as unprivileged mappings require) or before a gid_map is written, CAP_SETGID or not.',
    message: (c) =>
      c.before.ns && c.before.ns.gidMap.length === 0
        ? "the user namespace has no gid_map yet: setgroups is refused until one is written"
        : 'the user namespace\'s setgroups is "deny": no thread in it may call setgroups',
    hint: () =>
      'create the namespace with a privileged helper (newgidmap) that leaves setgroups "allow", or keep the groups the process already has',
  }),
  rule("setgroups.too-many", {
    errno: "EINVAL",
    kernel: "sys_setgroups (NGROUPS_MAX)",
    summary: "More than NGROUPS_MAX (65536) groups is EINVAL.",
    message: (c) => `${c.op.op === "setgroups" ? c.op.groups.length : "?"} groups is more than NGROUPS_MAX (65536)`,
    hint: () => "pass at most 65536 groups",
  }),
  rule("setgroups.unmapped-id", {
    errno: "EINVAL",
    kernel: "groups_from_user (make_kgid, gid_valid)",
    summary: "A group with no mapping in the thread's user namespace makes setgroups fail with EINVAL.",
    message: (c) => `a gid in the list has no mapping in the thread's user namespace (${mapText(c.before.ns?.gidMap)})`,
    hint: () => "list only gids inside the namespace's gid_map",
  }),
  rule("setgroups.not-modelled", {
    errno: null,
    kernel: "sys_setgroups",
    summary:
      "A valid setgroups with more groups than capgate's state holds (16): the kernel would take it; the engine cannot follow it.",
    message: (c) =>
      `${c.op.op === "setgroups" ? c.op.groups.length : "?"} groups: capgate's thread state holds up to 16 supplementary groups`,
    hint: () => "model the scenario with 16 groups or fewer",
  }),
];
