// Which kernel operation can explain an observed change of a thread's capabilities, and which
// changes no operation can: the monitor's judgement, from the rules the engine models.
import { CapSet } from "../capabilities/set.js";
import { listNames } from "../capabilities/list.js";
import { SECUREBITS } from "../kernel/constants.js";
import { CAP } from "../capabilities/table.js";
import { diffStates, type Credentials, type SetName } from "../state.js";

/** A thread's credentials as observed (from /proc, or from Tracee's SlimCred). */
export type Observed = Credentials;

export type Cause = "capset/prctl/setuid" | "execve" | "user namespace" | "unexplained";
export interface Classification {
  readonly cause: Cause;
  readonly anomaly: boolean;
  /** Why it is an anomaly (empty when explained). */
  readonly reasons: readonly string[];
  /** Which sets or ids changed. */
  readonly changed: readonly string[];
  readonly gained: CapSet;
}

/**
 * Ids a thread without CAP_SETUID (CAP_SETGID) can move to: its own real, effective and saved
 * ids (__sys_setresuid's rule); fsuid also to its old fsuid and to the new euid. An exec leaves
 * the real id alone and may set the effective and saved ones to a set-id file's owner.
 */
function unreachableIds(before: Observed, after: Observed, exec: boolean, kind: "uid" | "gid"): string[] {
  const [r, e, s, fs] =
    kind === "uid" ? (["ruid", "euid", "suid", "fsuid"] as const) : (["rgid", "egid", "sgid", "fsgid"] as const);
  const o = [before[r], before[e], before[s]],
    n = [after[r], after[e], after[s], after[fs]];
  if ([...o, before[fs], ...n].some((v) => v === undefined)) return [];
  const cap = kind === "uid" ? CAP.SETUID : CAP.SETGID;
  // Permitted is enough: capset can make it effective between two looks. A file-capability exec may grant it too.
  if (before.permitted.has(cap) || (exec && after.permitted.has(cap))) return [];
  const own = new Set(o);
  const out: string[] = [];
  const check = (name: string, v: number | undefined, allowed: Set<number | undefined>) => {
    if (!allowed.has(v))
      out.push(
        `${name} changed to ${v}, which the thread could not reach: no CAP_${kind === "uid" ? "SETUID" : "SETGID"} and not one of its own ${kind}s (${o.join("/")})`,
      );
  };
  check(r, after[r], own);
  if (!exec) {
    check(e, after[e], own);
    check(s, after[s], own);
  }
  check(fs, after[fs], new Set([...own, before[fs], after[e]]));
  return out;
}

/** Which sets or ids changed (only the fields both observations have). */
export function changedFields(a: Observed, b: Observed): string[] {
  return diffStates(a, b).map((c) => c.field);
}

/**
 * Classifies a change. `exec`: the thread ran execve in between (the executable changed, or
 * Tracee says so). Without an exec, permitted and bounding can only shrink (capset, prctl,
 * set*uid); with one, permitted may gain at most bounding ∪ inheritable of before (the root
 * rules and file capabilities; ambient lies within inheritable), and nothing under no_new_privs.
 */
export function classifyChange(before: Observed, after: Observed, exec: boolean): Classification {
  const reasons: string[] = [];
  const grew = (k: SetName) => after[k].difference(before[k]);
  if (before.userns !== undefined && after.userns !== undefined && before.userns !== after.userns) {
    // unshare(CLONE_NEWUSER) or setns: full capabilities and bounding set, but in the new
    // namespace only; over the parent namespace they give nothing (ns_capable checks the owner chain).
    return {
      cause: "user namespace",
      anomaly: false,
      reasons: [],
      changed: changedFields(before, after),
      gained: CapSet.EMPTY,
    };
  }
  // Invariants the kernel always keeps.
  if (!after.effective.isSubsetOf(after.permitted))
    reasons.push(`effective holds ${listNames(after.effective.difference(after.permitted))} outside permitted`);
  const pi = after.permitted.intersect(after.inheritable);
  if (!after.ambient.isSubsetOf(pi))
    reasons.push(`ambient holds ${listNames(after.ambient.difference(pi))} outside permitted ∩ inheritable`);
  if (!grew("bounding").isEmpty)
    reasons.push(
      `the bounding set grew by ${listNames(grew("bounding"))}: nothing but a new user namespace can do that`,
    );
  if (!exec) {
    if (!grew("permitted").isEmpty) reasons.push(`permitted grew by ${listNames(grew("permitted"))} with no exec`);
    // capset: new I ⊆ I ∪ P without CAP_SETPCAP, ⊆ I ∪ B always.
    const allowedI = before.inheritable.union(
      before.effective.has(CAP.SETPCAP) ? before.bounding : before.permitted.intersect(before.bounding),
    );
    if (!after.inheritable.isSubsetOf(allowedI.union(before.inheritable)))
      reasons.push(
        `inheritable gained ${listNames(after.inheritable.difference(allowedI))}, which capset allows only from permitted (or, with CAP_SETPCAP, the bounding set)`,
      );
    // The set*uid fix-ups, when the securebits are known.
    const sb = before.securebits;
    const wasRoot = before.ruid === 0 || before.euid === 0 || before.suid === 0;
    const isRoot = after.ruid === 0 || after.euid === 0 || after.suid === 0;
    if (sb !== undefined && !(sb & SECUREBITS.SECBIT_NO_SETUID_FIXUP)) {
      if (wasRoot && !isRoot) {
        if (!after.ambient.isEmpty)
          reasons.push(`the uids left 0 but ambient kept ${listNames(after.ambient)} (the kernel clears it)`);
        if (!(sb & SECUREBITS.SECBIT_KEEP_CAPS) && !after.permitted.isEmpty)
          reasons.push(`the uids left 0 without SECBIT_KEEP_CAPS but permitted kept ${listNames(after.permitted)}`);
      }
      if (before.euid === 0 && after.euid !== 0 && !after.effective.isEmpty)
        reasons.push(`euid left 0 but effective kept ${listNames(after.effective)}`);
    }
  } else {
    const most = before.noNewPrivs
      ? before.permitted
      : before.bounding.union(before.inheritable).union(before.permitted.intersect(before.ambient));
    if (!after.permitted.isSubsetOf(most.union(before.permitted.intersect(after.permitted)))) {
      reasons.push(
        `execve gave permitted ${listNames(after.permitted.difference(most))}, beyond ${before.noNewPrivs ? "the old permitted set (no_new_privs)" : "the old bounding ∪ inheritable sets"}`,
      );
    }
  }
  reasons.push(...unreachableIds(before, after, exec, "uid"), ...unreachableIds(before, after, exec, "gid"));
  const gained = grew("permitted").union(grew("bounding"));
  return {
    cause: reasons.length ? "unexplained" : exec ? "execve" : "capset/prctl/setuid",
    anomaly: reasons.length > 0,
    reasons,
    changed: changedFields(before, after),
    gained,
  };
}
