// The rule list shared by the engine (assembly/rules.ts holds the same codes), the
// explanations, the docs (docs/RULES.md is generated from this file) and the tests.
import { CapSet } from "../capabilities/set.js";
import { capabilityName, LAST_KNOWN_CAP } from "../capabilities/table.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { securebitNames, CAPABILITY_VERSION } from "../kernel/constants.js";
import type { Op } from "../ops.js";
import type { ThreadState } from "../state.js";

export interface RuleContext {
  readonly before: ThreadState;
  readonly after: ThreadState;
  readonly op: Op;
  /** The capabilities (or securebits) the deciding rule is about. */
  readonly fault: CapSet;
  /** A second set some explanations need (what ambient lost, what a file could not get). */
  readonly aux: CapSet;
  readonly ret: number;
  readonly profile: KernelProfile;
}

export interface RuleInfo {
  /** Engine code (assembly/rules.ts). */
  readonly code: number;
  /** Stable id, e.g. "capset.permitted-grows". */
  readonly id: string;
  /** The errno it fails with, or null for a rule that decides a success. */
  readonly errno: "EPERM" | "EINVAL" | "ESRCH" | "EFAULT" | null;
  /** Where the kernel applies it. */
  readonly kernel: string;
  /** One line for the docs. */
  readonly summary: string;
  message(ctx: RuleContext): string;
  hint(ctx: RuleContext): string | null;
}

/** "CAP_A", "CAP_A and CAP_B", "CAP_A, CAP_B and CAP_C". */
export function listNames(set: CapSet): string {
  const names = set.names();
  if (names.length > 8) {
    // Long lists say what is missing instead: "every capability but CAP_NET_RAW".
    const missing = CapSet.upTo(LAST_KNOWN_CAP).difference(set);
    if (missing.size <= 3) return missing.isEmpty ? `all ${names.length} capabilities` : `all ${names.length} capabilities but ${missing.names().join(", ")}`;
    return `${names.length} capabilities (${names.slice(0, 4).join(", ")}, …)`;
  }
  if (names.length <= 1) return names[0] ?? "nothing";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}
const isAre = (set: CapSet) => (set.size === 1 ? "is" : "are");
const itThem = (set: CapSet) => (set.size === 1 ? "it" : "them");
const SETPCAP = 8;
const SETUID = 7;

function capArg(ctx: RuleContext, which: "arg2" | "arg3"): string {
  if (ctx.op.op !== "prctl") return "?";
  const v = ctx.op[which] ?? 0;
  const n = typeof v === "bigint" ? v : BigInt(v);
  return n >= 0n && n <= 63n ? capabilityName(Number(n)) : String(n);
}
function versionName(v: number | undefined): string {
  return v === undefined ? "V3" : `0x${(v >>> 0).toString(16)}`;
}

const r = (
  code: number, id: string, errno: RuleInfo["errno"], kernel: string, summary: string,
  message: (ctx: RuleContext) => string, hint: (ctx: RuleContext) => string | null = () => null,
): RuleInfo => ({ code, id, errno, kernel, summary, message, hint });

export const RULES: readonly RuleInfo[] = [
  // capget
  r(1, "capget.ok", null, "sys_capget, cap_capget", "capget copies the thread's effective, permitted and inheritable sets.",
    (c) => c.op.op === "capget" && c.op.version === CAPABILITY_VERSION.v1 && !c.fault.isEmpty
      ? `capget read the sets, but the V1 header copied only capabilities 0..31: ${listNames(c.fault)} ${isAre(c.fault)} held and not reported`
      : "capget read the effective, permitted and inheritable sets",
    (c) => c.op.op === "capget" && c.op.version === CAPABILITY_VERSION.v1 && !c.fault.isEmpty
      ? "use _LINUX_CAPABILITY_VERSION_3 (0x20080522) with two data structs to see capabilities 32 and above" : null),
  r(2, "capget.version-unknown", "EINVAL", "cap_validate_magic", "An unknown header version fails with EINVAL; the kernel writes its preferred version (0x20080522) into the header.",
    (c) => `header version ${versionName((c.op as { version?: number }).version)} is not one the kernel knows; it wrote 0x20080522 into the header`,
    () => "use _LINUX_CAPABILITY_VERSION_3 (0x20080522), or retry with the version the kernel wrote back"),
  r(3, "capget.version-probe", null, "sys_capget", "capget with an unknown version and a NULL data pointer returns 0 after rewriting the version: the version probe.",
    () => "version probe: the kernel wrote its preferred version 0x20080522 into the header and returned 0"),
  r(4, "capget.null-data", null, "sys_capget", "capget with a known version and a NULL data pointer returns 0 without looking at the pid.",
    () => "capget with a NULL data pointer returns 0 and copies nothing (the pid is not examined)",
    () => "pass a data buffer (two structs for V2/V3) to read the sets"),
  r(5, "capget.pid-negative", "EINVAL", "cap_get_target_pid", "capget with a negative pid fails with EINVAL.",
    (c) => `pid ${(c.op as { pid?: number }).pid} is negative; capget takes 0, a thread id, or nothing else`,
    () => "pass 0 to read the calling thread, or a thread id"),
  r(6, "capget.no-such-thread", "ESRCH", "cap_get_target_pid", "capget of a pid that is neither 0 nor an existing thread fails with ESRCH.",
    (c) => `no thread with id ${(c.op as { pid?: number }).pid} exists (the caller is ${c.before.tid})`,
    (c) => `pass 0 or the caller's own tid ${c.before.tid}`),
  // capset
  r(10, "capset.ok", null, "sys_capset, cap_capset", "capset replaces the effective, permitted and inheritable sets; ambient shrinks to ambient ∩ permitted ∩ inheritable.",
    (c) => {
      const parts = ["capset replaced the effective, permitted and inheritable sets"];
      if (!c.aux.isEmpty) parts.push(`and ambient silently lost ${listNames(c.aux)}`);
      return parts.join(" ");
    }),
  r(11, "capset.version-unknown", "EINVAL", "cap_validate_magic", "An unknown header version fails with EINVAL and the header is rewritten to 0x20080522.",
    (c) => `header version ${versionName((c.op as { version?: number }).version)} is not one the kernel knows; it wrote 0x20080522 into the header`,
    () => "use _LINUX_CAPABILITY_VERSION_3 (0x20080522) with two data structs"),
  r(12, "capset.pid-not-self", "EPERM", "sys_capset", "capset may only change the calling thread: pid must be 0 or the caller's own thread id.",
    (c) => `pid ${(c.op as { pid?: number }).pid} is not the calling thread (${c.before.tid}); capset can only change the caller's own capabilities`,
    () => "pass pid 0 (or the caller's own tid); to change another thread, run the change in that thread"),
  r(13, "capset.null-data", "EFAULT", "sys_capset", "capset with a NULL data pointer fails with EFAULT.",
    () => "capset was given no data (a NULL pointer)", () => "pass the data structs (two for V2/V3)"),
  r(14, "capset.inheritable-not-permitted", "EPERM", "cap_capset, cap_inh_is_capped",
    "Without CAP_SETPCAP in effective, new inheritable must lie within old inheritable ∪ old permitted.",
    (c) => `${listNames(c.fault)} ${isAre(c.fault)} not in the permitted or inheritable set, and CAP_SETPCAP is not effective, so ${itThem(c.fault)} cannot be added to inheritable`,
    (c) => c.before.permitted.has(SETPCAP)
      ? `raise CAP_SETPCAP in effective first (it is permitted), or leave ${listNames(c.fault)} out of inheritable`
      : `leave ${listNames(c.fault)} out of inheritable: this thread has neither ${itThem(c.fault)} nor CAP_SETPCAP in permitted, and permitted cannot grow`),
  r(15, "capset.inheritable-outside-bounding", "EPERM", "cap_capset",
    "New inheritable must lie within old inheritable ∪ bounding, even with CAP_SETPCAP.",
    (c) => `${listNames(c.fault)} ${isAre(c.fault)} not in the bounding set, so ${itThem(c.fault)} cannot be added to inheritable (not even with CAP_SETPCAP)`,
    (c) => `leave ${listNames(c.fault)} out of inheritable; a capability dropped from the bounding set never comes back in this thread`),
  r(16, "capset.permitted-grows", "EPERM", "cap_capset", "New permitted must lie within old permitted: capset can only shrink it.",
    (c) => `${listNames(c.fault)} ${isAre(c.fault)} not in the permitted set, and capset can never add to permitted`,
    (c) => `leave ${listNames(c.fault)} out of permitted; only execve of a file with file capabilities (or as root) can grant ${itThem(c.fault)}`),
  r(17, "capset.effective-not-permitted", "EPERM", "cap_capset", "New effective must lie within new permitted.",
    (c) => `${listNames(c.fault)} would be effective but ${isAre(c.fault)} not in the new permitted set`,
    (c) => {
      const inOld = c.fault.isSubsetOf(c.before.permitted);
      return inOld ? `keep ${listNames(c.fault)} in permitted as well, or drop ${itThem(c.fault)} from effective`
        : `drop ${listNames(c.fault)} from effective: ${isAre(c.fault)} not permitted`;
    }),
  // prctl
  r(20, "prctl.option-unknown", "EINVAL", "sys_prctl, cap_task_prctl",
    "An option the modelled kernel does not have fails with EINVAL; options other than the capability ones are not modelled.",
    (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      const known = [7, 8, 23, 24, 27, 28, 38, 39, 47].includes(option);
      return known ? `prctl option ${option} does not exist in kernel ${c.profile.version}` : `prctl option ${option} is not a capability option: capgate does not model it (the simulation answers EINVAL)`;
    },
    (c) => {
      const option = c.op.op === "prctl" ? c.op.option : -1;
      if (option === 47) return "the ambient set needs Linux 4.3 or later";
      if (option === 38 || option === 39) return "no_new_privs needs Linux 3.5 or later";
      return "model only PR_CAPBSET_*, PR_CAP_AMBIENT, PR_*_SECUREBITS, PR_*_KEEPCAPS and PR_*_NO_NEW_PRIVS steps";
    }),
  r(21, "bounding.read", null, "cap_task_prctl PR_CAPBSET_READ", "PR_CAPBSET_READ returns 1 when the capability is in the bounding set, 0 otherwise.",
    (c) => `${capArg(c, "arg2")} is ${c.ret === 1 ? "" : "not "}in the bounding set`),
  r(22, "bounding.invalid-cap", "EINVAL", "cap_task_prctl, cap_prctl_drop", "PR_CAPBSET_READ/DROP of a number that is not a capability of this kernel fails with EINVAL.",
    (c) => `${capArg(c, "arg2")} is not a capability of kernel ${c.profile.version} (CAP_LAST_CAP is ${c.profile.lastCap})`,
    (c) => `pass a capability number from 0 to ${c.profile.lastCap}`),
  r(23, "bounding.drop", null, "cap_prctl_drop", "PR_CAPBSET_DROP removes a capability from the bounding set only (P, E, I and A keep it).",
    (c) => `${capArg(c, "arg2")} was dropped from the bounding set; permitted, effective, inheritable and ambient are unchanged`),
  r(24, "bounding.drop-needs-setpcap", "EPERM", "cap_prctl_drop",
    "PR_CAPBSET_DROP needs CAP_SETPCAP in effective (checked before the capability number).",
    () => "CAP_SETPCAP is not in the effective set, which dropping from the bounding set requires",
    (c) => c.before.permitted.has(SETPCAP) ? "raise CAP_SETPCAP in effective first (it is permitted), then drop"
      : "drop bounding capabilities before CAP_SETPCAP leaves permitted (order matters), or do it from a parent that has CAP_SETPCAP"),
  // ambient
  r(30, "ambient.args-nonzero", "EINVAL", "cap_task_prctl PR_CAP_AMBIENT", "PR_CAP_AMBIENT requires its unused arguments to be 0 (arg3..arg5 for CLEAR_ALL, arg4 and arg5 otherwise).",
    () => "the unused arguments of PR_CAP_AMBIENT must be 0", () => "pass 0 for every unused argument (prctl always takes five)"),
  r(31, "ambient.invalid-cap", "EINVAL", "cap_task_prctl PR_CAP_AMBIENT", "PR_CAP_AMBIENT with a number that is not a capability of this kernel fails with EINVAL, even for LOWER and IS_SET.",
    (c) => `${capArg(c, "arg3")} is not a capability of kernel ${c.profile.version} (CAP_LAST_CAP is ${c.profile.lastCap})`,
    (c) => `pass a capability number from 0 to ${c.profile.lastCap}`),
  r(32, "ambient.unknown-subop", "EINVAL", "cap_task_prctl PR_CAP_AMBIENT", "A PR_CAP_AMBIENT sub-operation other than IS_SET, RAISE, LOWER or CLEAR_ALL fails with EINVAL.",
    (c) => `${c.op.op === "prctl" ? String(c.op.arg2 ?? 0) : "?"} is not a PR_CAP_AMBIENT sub-operation`,
    () => "use PR_CAP_AMBIENT_IS_SET (1), _RAISE (2), _LOWER (3) or _CLEAR_ALL (4)"),
  r(33, "ambient.raise-not-permitted", "EPERM", "cap_task_prctl PR_CAP_AMBIENT_RAISE", "An ambient raise needs the capability in permitted.",
    (c) => `${listNames(c.fault)} is not in the permitted set, which an ambient raise requires`,
    (c) => `${listNames(c.fault)} must be permitted (and inheritable) before it can be ambient; it can only enter permitted through execve`),
  r(34, "ambient.raise-not-inheritable", "EPERM", "cap_task_prctl PR_CAP_AMBIENT_RAISE", "An ambient raise needs the capability in inheritable.",
    (c) => `${listNames(c.fault)} is not in the inheritable set, which an ambient raise requires`,
    (c) => `add ${listNames(c.fault)} to inheritable with capset first (it is permitted), then raise it`),
  r(35, "ambient.raise-securebit", "EPERM", "cap_task_prctl PR_CAP_AMBIENT_RAISE", "SECBIT_NO_CAP_AMBIENT_RAISE forbids ambient raises.",
    () => "SECBIT_NO_CAP_AMBIENT_RAISE is set, so no capability can be raised in the ambient set",
    (c) => (c.before.securebits & 0x80) !== 0 ? "the bit is locked (SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED): no way in this thread or its children"
      : "clear SECBIT_NO_CAP_AMBIENT_RAISE with PR_SET_SECUREBITS (needs CAP_SETPCAP) first"),
  r(36, "ambient.is-set", null, "cap_task_prctl PR_CAP_AMBIENT_IS_SET", "PR_CAP_AMBIENT_IS_SET returns 1 when the capability is ambient.",
    (c) => `${capArg(c, "arg3")} is ${c.ret === 1 ? "" : "not "}in the ambient set`),
  r(37, "ambient.raise", null, "cap_task_prctl PR_CAP_AMBIENT_RAISE", "The capability was added to the ambient set (the bounding set is not consulted).",
    (c) => `${listNames(c.fault)} is now ambient: it stays permitted and effective across execve of files without file capabilities`),
  r(38, "ambient.lower", null, "cap_task_prctl PR_CAP_AMBIENT_LOWER", "The capability was removed from the ambient set (also when it was not there).",
    (c) => `${listNames(c.fault)} is not ambient any more`),
  r(39, "ambient.clear-all", null, "cap_task_prctl PR_CAP_AMBIENT_CLEAR_ALL", "The ambient set was emptied.",
    (c) => c.fault.isEmpty ? "the ambient set was already empty" : `the ambient set was cleared (${listNames(c.fault)})`),
  // securebits
  r(40, "securebits.get", null, "cap_task_prctl PR_GET_SECUREBITS", "PR_GET_SECUREBITS returns the securebits.",
    (c) => `securebits are 0x${c.ret.toString(16)}${c.ret ? ` (${securebitNames(c.ret).join(", ")})` : ""}`),
  r(41, "securebits.set", null, "cap_task_prctl PR_SET_SECUREBITS", "PR_SET_SECUREBITS replaced the whole securebits word.",
    (c) => `securebits are now 0x${c.after.securebits.toString(16)}${c.after.securebits ? ` (${securebitNames(c.after.securebits).join(", ")})` : ""}`),
  r(42, "securebits.locked-bit-changes", "EPERM", "cap_task_prctl PR_SET_SECUREBITS [1]", "A securebit whose lock is set cannot change.",
    (c) => `${securebitNames(c.fault.lo).join(", ")} ${c.fault.size === 1 ? "is" : "are"} locked and would change`,
    () => "keep the locked bits as they are (read them with PR_GET_SECUREBITS and change only unlocked bits); locks last until exec of a new user namespace"),
  r(43, "securebits.lock-cleared", "EPERM", "cap_task_prctl PR_SET_SECUREBITS [2]", "A securebits lock, once set, cannot be cleared.",
    (c) => `${securebitNames(c.fault.lo).join(", ")} would be cleared, and locks are one-way`,
    () => "include every lock that is already set in the new value"),
  r(44, "securebits.unsupported-bit", "EPERM", "cap_task_prctl PR_SET_SECUREBITS [3]", "Bits this kernel does not know fail with EPERM (not EINVAL).",
    (c) => `bits 0x${c.fault.toBigInt().toString(16)} are not securebits of kernel ${c.profile.version}`,
    () => "set only the SECBIT_* bits this kernel defines"),
  r(45, "securebits.needs-setpcap", "EPERM", "cap_task_prctl PR_SET_SECUREBITS [4]", "Changing securebits needs CAP_SETPCAP in effective (6.14+: except the EXEC_* bits).",
    () => "CAP_SETPCAP is not in the effective set, which changing these securebits requires",
    (c) => c.before.permitted.has(SETPCAP) ? "raise CAP_SETPCAP in effective first (it is permitted)" : "set securebits before CAP_SETPCAP leaves permitted, or from a privileged parent"),
  r(46, "securebits.unchanged-needs-setpcap", "EPERM", "cap_task_prctl PR_SET_SECUREBITS [4]", "Even writing back the same securebits needs CAP_SETPCAP (\"for legacy reason, denies non-change\").",
    () => "writing securebits needs CAP_SETPCAP in effective, even when the value does not change",
    () => "skip the call when the value is already right, or raise CAP_SETPCAP first"),
  // keepcaps
  r(50, "keepcaps.get", null, "cap_task_prctl PR_GET_KEEPCAPS", "PR_GET_KEEPCAPS returns SECBIT_KEEP_CAPS.",
    (c) => `keep-caps is ${c.ret ? "on" : "off"}`),
  r(51, "keepcaps.set", null, "cap_task_prctl PR_SET_KEEPCAPS", "PR_SET_KEEPCAPS sets or clears SECBIT_KEEP_CAPS; no privilege is needed. execve clears it.",
    (c) => `keep-caps is now ${(c.after.securebits & 0x10) ? "on: permitted survives leaving uid 0 (effective and ambient do not); execve turns it off" : "off"}`),
  r(52, "keepcaps.invalid-value", "EINVAL", "cap_task_prctl PR_SET_KEEPCAPS", "PR_SET_KEEPCAPS takes only 0 or 1.",
    (c) => `keep-caps value ${c.op.op === "prctl" ? String(c.op.arg2 ?? 0) : "?"} is not 0 or 1`, () => "pass 0 or 1"),
  r(53, "keepcaps.locked", "EPERM", "cap_task_prctl PR_SET_KEEPCAPS", "PR_SET_KEEPCAPS fails when SECBIT_KEEP_CAPS_LOCKED is set.",
    () => "SECBIT_KEEP_CAPS_LOCKED is set, so keep-caps cannot change", () => "the lock is permanent for this thread; keep-caps stays as it is"),
  // no_new_privs
  r(55, "nnp.get", null, "sys_prctl PR_GET_NO_NEW_PRIVS", "PR_GET_NO_NEW_PRIVS returns the no_new_privs flag.", (c) => `no_new_privs is ${c.ret ? "set" : "not set"}`),
  r(56, "nnp.set", null, "sys_prctl PR_SET_NO_NEW_PRIVS", "no_new_privs is set for good: execve cannot grant privileges any more.",
    () => "no_new_privs is set: setuid bits are ignored and file capabilities cannot add to permitted on execve; it can never be unset"),
  r(57, "nnp.invalid-args", "EINVAL", "sys_prctl PR_SET/GET_NO_NEW_PRIVS", "PR_SET_NO_NEW_PRIVS takes arg2 = 1 and zeros; PR_GET_NO_NEW_PRIVS takes only zeros.",
    (c) => c.op.op === "prctl" && c.op.option === 38 ? "PR_SET_NO_NEW_PRIVS needs arg2 = 1 and arg3..arg5 = 0 (it cannot be unset)" : "PR_GET_NO_NEW_PRIVS needs arg2..arg5 = 0",
    () => "pass exactly the arguments the option takes, zeros for the rest"),
  // set*uid
  r(60, "setuid.ok", null, "kernel/sys.c, cap_emulate_setxuid", "The ids changed; the capability fix-up of cap_task_fix_setuid ran (unless SECBIT_NO_SETUID_FIXUP).",
    (c) => `ids are now ruid ${c.after.ruid}, euid ${c.after.euid}, suid ${c.after.suid}, fsuid ${c.after.fsuid}`),
  r(61, "setuid.noop", null, "__sys_setresuid", "setresuid that changes no id returns 0 without running the capability fix-up.",
    () => "no id changes: setresuid returned 0 without touching capabilities"),
  r(62, "setuid.needs-cap-setuid", "EPERM", "kernel/sys.c (ns_capable_setid)", "Setting an id other than the current real, effective or saved uid needs CAP_SETUID in effective.",
    (c) => `the new id is none of the current ids (ruid ${c.before.ruid}, euid ${c.before.euid}, suid ${c.before.suid}) and CAP_SETUID is not effective`,
    (c) => c.before.permitted.has(SETUID) ? "raise CAP_SETUID in effective first (it is permitted)" : "only the current real, effective or saved uid can be chosen without CAP_SETUID"),
  r(63, "setuid.invalid-id", "EINVAL", "kernel/sys.c (uid_valid)", "(uid_t)-1 is not a valid id for setuid (and glibc's seteuid refuses it).",
    () => "-1 (4294967295) is not a valid uid for this call", () => "pass a real uid; -1 means \"unchanged\" only for setreuid and setresuid"),
  r(64, "setfsuid.changed", null, "__sys_setfsuid, cap_task_fix_setuid LSM_SETID_FS", "setfsuid changed the fsuid; leaving or entering fsuid 0 moves CAP_FS_SET out of or into effective. It returns the old fsuid.",
    (c) => `fsuid is now ${c.after.fsuid} (setfsuid returns the previous fsuid ${c.ret})`),
  r(65, "setfsuid.unchanged", null, "__sys_setfsuid", "setfsuid to the current fsuid changes nothing and returns it.",
    (c) => `fsuid was already ${c.before.fsuid}`),
  r(66, "setfsuid.denied", null, "__sys_setfsuid", "setfsuid to an id that needs CAP_SETUID silently changes nothing: it never fails, it returns the old fsuid.",
    (c) => `fsuid stays ${c.before.fsuid}: the new id is none of ruid, euid, suid or fsuid and CAP_SETUID is not effective (setfsuid reports no error)`,
    () => "compare setfsuid's return value with a second setfsuid call to detect the refusal, or raise CAP_SETUID first"),
  // execve
  r(70, "execve.ok", null, "cap_bprm_creds_from_file", "execve computed the new sets: P' = (I ∩ F(I)) ∪ (F(P) ∩ B) ∪ A', E' = F(E) ? P' : A', I' = I, B' = B.",
    (c) => {
      const gained = c.after.permitted.difference(c.before.permitted);
      const lost = c.before.permitted.difference(c.after.permitted);
      const parts: string[] = [];
      parts.push(gained.isEmpty ? "no capability gained" : `gained ${listNames(gained)}`);
      if (!lost.isEmpty) parts.push(`lost ${listNames(lost)}`);
      return `execve: ${parts.join("; ")}`;
    }),
  r(71, "execve.capability-dumb", "EPERM", "bprm_caps_from_vfs_caps",
    "A file with the effective bit set fails with EPERM when it would not get every capability of its file-permitted set (the capability-dumb binary check; root is not exempt).",
    (c) => `the file's effective bit is set but ${listNames(c.fault)} from its permitted set would not be granted (not in the bounding set, nor in inheritable ∩ file inheritable)`,
    (c) => `keep ${listNames(c.fault)} in the bounding set (or in inheritable, with the file inheritable set), or remove ${itThem(c.fault)} from the file's capabilities`),
  r(72, "execve.xattr-invalid", "EINVAL", "get_vfs_caps_from_disk", "A security.capability xattr of an unknown revision makes execve fail with EINVAL.",
    (c) => c.op.op === "execve" && c.op.file.caps?.version === 3 && !c.profile.features.fileCapsV3
      ? `kernel ${c.profile.version} does not know v3 file capabilities (4.14+)` : "the file's security.capability revision is not 1, 2 or 3",
    () => "write the file capabilities as v2 (setcap does)"),
  r(99, "engine.op-unknown", "EINVAL", "(capgate)", "An op kind the engine does not know (raw ABI only).", () => "unknown op kind"),
];

const byCode: RuleInfo[] = [];
for (const rule of RULES) byCode[rule.code] = rule;
const byId = new Map(RULES.map((rule) => [rule.id, rule]));

export function ruleByCode(code: number): RuleInfo {
  const rule = byCode[code];
  if (!rule) throw new Error(`capgate: the engine returned unknown rule code ${code}`);
  return rule;
}
export function ruleById(id: string): RuleInfo | undefined {
  return byId.get(id);
}
export type RuleId = string;
