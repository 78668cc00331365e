// Notes: silent side effects the kernel does not report, named so nobody is surprised by them.
// Their bits are declared with their ids in contract/engine.json.
import { listNames, type RuleContext } from "./rule.js";
import { NOTE_BITS, type NoteId } from "../engine/contract.js";

export interface NoteInfo {
  readonly bit: number;
  readonly id: NoteId;
  message(ctx: RuleContext): string;
}

const n = (id: NoteId, message: (ctx: RuleContext) => string): NoteInfo => ({ bit: NOTE_BITS[id], id, message });

export const NOTES: readonly NoteInfo[] = [
  n(
    "header.v1-truncated",
    () =>
      "the V1 header transfers only capabilities 0..31: capabilities 32 and above were not transferred (capset clears them)",
  ),
  n("capset.above-last-cap", (c) => `bits above CAP_LAST_CAP (${c.profile.lastCap}) were silently dropped`),
  n(
    "capset.above-last-cap-kept",
    (c) =>
      `bits above CAP_LAST_CAP (${c.profile.lastCap}) were kept as given: before 3.16 capset did not mask them, and PR_CAPBSET_DROP cannot remove them`,
  ),
  n(
    "capset.ambient-trimmed",
    (c) => `ambient silently lost ${listNames(c.aux)} (ambient is kept within permitted ∩ inheritable)`,
  ),
  n(
    "uid.fixup-disabled",
    () => "SECBIT_NO_SETUID_FIXUP is set: the capability sets were not adjusted for the uid change",
  ),
  n(
    "uid.left-root-cleared",
    () => "no uid is 0 any more: permitted and effective were cleared (set SECBIT_KEEP_CAPS before to keep permitted)",
  ),
  n(
    "uid.left-root-kept",
    () => "no uid is 0 any more, but SECBIT_KEEP_CAPS kept permitted (effective and ambient are not kept)",
  ),
  n("ambient.cleared", () => "the ambient set was cleared"),
  n("uid.effective-cleared", () => "euid left 0: effective was cleared (raise what you need again with capset)"),
  n("uid.effective-raised", () => "euid became 0: effective was set to permitted"),
  n("uid.fs-dropped", (c) => `fsuid left 0: the filesystem capabilities ${listNames(c.fault)} left effective`),
  n(
    "uid.fs-raised",
    (c) => `fsuid became 0: the permitted filesystem capabilities ${listNames(c.fault)} became effective`,
  ),
  n("execve.root", () => "root rules: the file capability sets count as full, so P' = bounding ∪ inheritable"),
  n("execve.noroot", () => "SECBIT_NOROOT is set: uid 0 got no capabilities from being root"),
  n("execve.setuid-ignored", () => "no_new_privs is set: the file's setuid bit was ignored"),
  n(
    "execve.unsafe-downgrade",
    (c) =>
      `no_new_privs: the exec could not gain privileges${c.fault.isEmpty ? "" : ` (${listNames(c.fault)} withheld)`} and euid fell back to the real uid`,
  ),
  n(
    "execve.fcaps-ignored",
    () => "the file's v3 capabilities belong to another user namespace's root (rootid ≠ 0) and were ignored",
  ),
  n("execve.keepcaps-cleared", () => "execve cleared SECBIT_KEEP_CAPS"),
  n("execve.secure", () => "secure-exec (AT_SECURE): the dynamic loader ignores LD_PRELOAD and friends"),
  n(
    "execve.setuid-root-fcaps",
    () => "a setuid-root file with file capabilities run by a non-root user: the file capabilities alone apply",
  ),
  n(
    "execve.nosuid",
    () =>
      "the file is on a nosuid mount: its set-id bit and file capabilities are ignored (mnt_may_suid), it runs as a plain file",
  ),
  n(
    "execve.script",
    () =>
      "a #! script: the credentials come from its interpreter; the script's own set-id bit and file capabilities do nothing",
  ),
  n("execve.id-changed", () => "the exec changed the effective uid or gid (set-id exec)"),
  n(
    "execve.setid-unmapped",
    () =>
      "the file's owner or group has no mapping in the thread's user namespace: its set-id bits are ignored (bprm_fill_uid)",
  ),
  n(
    "execve.ptraced",
    () =>
      "traced by a tracer without CAP_SYS_PTRACE: the exec may not raise privileges (no new permitted capabilities; the ids fall back to the real ones unless the caller holds CAP_SETUID)",
  ),
  n("execve.gid-changed", (c) =>
    c.profile.features.execIdChanged
      ? "the new egid is neither the old fsgid nor one of the supplementary groups (in_group_p): a set-id exec, so ambient is cleared and AT_SECURE set"
      : "the new egid differs from the old real gid: a set-id exec, so ambient is cleared and AT_SECURE set",
  ),
  n(
    "unshare.map-refused",
    () =>
      "a map given for the new namespace could not be written (an extent outside the parent's map, or overlapping extents): that map stays unwritten",
  ),
  n(
    "unshare.no-map",
    () =>
      "no uid_map or gid_map was written: unmapped ids read as 65534, and set*id calls and setgroups cannot succeed",
  ),
  n(
    "execve.missing-file-caps",
    (c) =>
      `the file's effective bit is clear, so the exec proceeds without ${listNames(c.aux)} from the file's permitted set`,
  ),
];

export function notesOf(bits: number): NoteInfo[] {
  const out: NoteInfo[] = [];
  for (const note of NOTES) if ((bits >>> note.bit) & 1) out.push(note);
  return out;
}
