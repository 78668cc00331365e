// unshare(CLONE_NEWUSER) and the checks a user namespace changes (assembly/userns.ts).
import { rule, type RuleInfo } from "./rule.js";
import { shownId } from "../userns.js";

export const USERNS_RULES: readonly RuleInfo[] = [
  rule("unshare.ok", {
    errno: null,
    kernel: "unshare_userns, create_user_ns, set_cred_user_ns",
    summary:
      "The thread is in a new child user namespace with every capability there (P, E, B full; I, A empty; securebits 0); its ids are the same kernel ids, seen through the new maps.",
    message: (c) =>
      `in a new user namespace (level ${c.after.ns?.level ?? "?"}) with every capability over it; ids now read uid ${shownId(c.after.euid)}, gid ${shownId(c.after.egid)}`,
  }),
  rule("unshare.multithreaded", {
    errno: "EINVAL",
    kernel: "ksys_unshare -> check_unshare_flags (CLONE_NEWUSER implies CLONE_THREAD)",
    summary: "A process with more than one thread cannot unshare its user namespace.",
    message: () =>
      "the process has other threads (the scenario's tasks list threads of it): unshare(CLONE_NEWUSER) is EINVAL",
    hint: () => "unshare before starting threads, or in a child process (unshare -U, clone with CLONE_NEWUSER)",
  }),
  rule("unshare.too-deep", {
    errno: "EUSERS",
    kernel: "create_user_ns (parent_ns->level > 32)",
    summary: "User namespaces nest at most 32 deep.",
    message: () => "the user namespace is already 33 levels deep",
    hint: () => "create the namespace from a shallower one",
  }),
  rule("unshare.unmapped-creator", {
    errno: "EPERM",
    kernel: "create_user_ns (kuid_has_mapping of the creator's euid and egid)",
    summary:
      "The creator's euid and egid must have a mapping in its own namespace; they become the new namespace's owner.",
    message: (c) =>
      `the thread's euid ${shownId(c.before.euid)} or egid ${shownId(c.before.egid)} has no mapping in its user namespace`,
    hint: () => "switch to mapped ids first (or write the current namespace's maps)",
  }),
  rule("unshare.not-modelled", {
    errno: null,
    kernel: "create_user_ns",
    summary: "Namespaces nested deeper than capgate's state remembers (8 levels): outside the model.",
    message: () => "the new namespace would be more than 8 levels deep, beyond what capgate's state records",
    hint: () => "model at most 8 nested user namespaces",
  }),
];
