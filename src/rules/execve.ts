// execve: cap_bprm_creds_from_file, get_vfs_caps_from_disk (assembly/execve.ts)
import { rule, type RuleInfo, listNames, itThem } from "./rule.js";

export const EXECVE_RULES: readonly RuleInfo[] = [
  rule("execve.ok", {
    errno: null,
    kernel: "cap_bprm_creds_from_file",
    summary: "execve computed the new sets: P' = (I ∩ F(I)) ∪ (F(P) ∩ B) ∪ A', E' = F(E) ? P' : A', I' = I, B' = B.",
    message: (c) => {
      const gained = c.after.permitted.difference(c.before.permitted);
      const lost = c.before.permitted.difference(c.after.permitted);
      const parts: string[] = [];
      parts.push(gained.isEmpty ? "no capability gained" : `gained ${listNames(gained)}`);
      if (!lost.isEmpty) parts.push(`lost ${listNames(lost)}`);
      return `execve: ${parts.join("; ")}`;
    },
  }),
  rule("execve.capability-dumb", {
    errno: "EPERM",
    kernel: "bprm_caps_from_vfs_caps",
    summary:
      "A file with the effective bit set fails with EPERM when it would not get every capability of its file-permitted set (the capability-dumb binary check; root is not exempt).",
    message: (c) =>
      `the file's effective bit is set but ${listNames(c.fault)} from its permitted set would not be granted (not in the bounding set, nor in inheritable ∩ file inheritable)`,
    hint: (c) =>
      `keep ${listNames(c.fault)} in the bounding set (or in inheritable, with the file inheritable set), or remove ${itThem(c.fault)} from the file's capabilities`,
  }),
  rule("execve.xattr-invalid", {
    errno: "EINVAL",
    kernel: "get_vfs_caps_from_disk",
    summary: "A security.capability xattr of an unknown revision makes execve fail with EINVAL.",
    message: () => "the file's security.capability revision is not 1, 2 or 3",
    hint: () => "write the file capabilities as v2 (setcap does)",
  }),
  rule("execve.xattr-too-long", {
    errno: "ERANGE",
    kernel: "get_vfs_caps_from_disk (before 4.14: a 20-byte buffer, XATTR_CAPS_SZ)",
    summary:
      "Before 4.14 the kernel reads security.capability into 20 bytes: a 24-byte v3 value does not fit, and execve fails with getxattr's ERANGE.",
    message: (c) =>
      `kernel ${c.profile.version} knows no v3 file capabilities (4.14+): the 24-byte xattr does not fit its 20-byte buffer`,
    hint: () => "write the file capabilities as v2 (setcap does, outside a user namespace)",
  }),
];
