// Which kernel operation can explain an observed change of a thread's capabilities, and which
// changes no operation can: the monitor's judgement, from the rules the engine models. An exec
// is judged with the engine, against the very file that was run (its set-id bits, owner and file
// capabilities), from every state the thread could have put itself in before it; a move to
// another user namespace is explained only when the new one lies below the old one.
import { CapSet } from "../capabilities/set.js";
import { listNames } from "../capabilities/list.js";
import { SECUREBITS } from "../kernel/constants.js";
import { CAP } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { diffStates, threadState, type Credentials, type SetName, type ThreadState } from "../state.js";
import { simulate } from "../simulate.js";
import type { ExecFile } from "../ops.js";

/** A thread's credentials as observed (from /proc, or from Tracee's SlimCred). */
export type Observed = Credentials & { readonly groups?: readonly number[] };

/** The initial user namespace's inode (PROC_USER_INIT_INO): it never changes. */
export const INITIAL_USERNS_INODE = 0xeffffffd;

/** What is known of an exec between two looks: that there was one, and (when it could be read) the file it ran. */
export interface ExecEvidence {
  /** The file as execve saw it (the exe's set-id bits, owner, group, capabilities, mount); null when it could not be read. */
  readonly file: ExecFile | null;
}

/**
 * Where a change of user namespace went, from the new namespace's chain of parents: below the
 * old one ("descendant"), anywhere else ("other"), or not known (no ancestry could be read).
 */
export type NamespaceMove = "descendant" | "other" | "unknown";

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
 * the real id alone and may set the effective and saved ones to `setId` (a set-id file's owner
 * or group); an exec whose file was not read is not judged on them.
 */
function unreachableIds(
  before: Observed,
  after: Observed,
  exec: ExecEvidence | null,
  kind: "uid" | "gid",
  setId: number | null,
  execGives: CapSet | null,
): string[] {
  const [r, e, s, fs] =
    kind === "uid" ? (["ruid", "euid", "suid", "fsuid"] as const) : (["rgid", "egid", "sgid", "fsgid"] as const);
  const o = [before[r], before[e], before[s]],
    n = [after[r], after[e], after[s], after[fs]];
  if ([...o, before[fs], ...n].some((v) => v === undefined)) return [];
  const cap = kind === "uid" ? CAP.SETUID : CAP.SETGID;
  // Permitted is enough: capset can make it effective between two looks. An exec may grant it
  // too: one that the file gives (by the engine), or, the file unknown, one the thread now holds.
  if (before.permitted.has(cap) || (exec && (execGives ?? after.permitted).has(cap))) return [];
  const own = new Set(o);
  const viaExec = new Set([...own, ...(setId === null ? [] : [setId])]);
  const out: string[] = [];
  const check = (name: string, v: number | undefined, allowed: Set<number | undefined>) => {
    if (!allowed.has(v))
      out.push(
        `${name} changed to ${v}, which the thread could not reach: no CAP_${kind === "uid" ? "SETUID" : "SETGID"} and not one of its own ${kind}s (${o.join("/")})${exec?.file ? `, nor the ${kind === "uid" ? "owner" : "group"} of a set-${kind === "uid" ? "uid" : "gid"} file it ran` : ""}`,
      );
  };
  check(r, after[r], own);
  if (!exec || exec.file) {
    check(e, after[e], exec ? viaExec : own);
    check(s, after[s], exec ? viaExec : own);
  }
  check(fs, after[fs], new Set([...viaExec, before[fs], after[e]]));
  return out;
}

/**
 * The most an exec of `file` can give from `before`, by the engine: the union of what it gives
 * from every state the thread could have made of itself between the two looks (as it was; with
 * inheritable and ambient as wide as capset and PR_CAP_AMBIENT allow; as root, when it could
 * become root). Securebits, which /proc does not show, are taken as 0 (SECBIT_NOROOT only takes
 * away). null when the observed state is not one the engine can start from.
 */
function mostAnExecGives(before: Observed, file: ExecFile, profile: KernelProfile): CapSet | null {
  const B = before.bounding;
  const P = before.permitted;
  const widerI = before.inheritable.union(P.has(CAP.SETPCAP) ? B : P.intersect(B));
  const canBeRoot = P.has(CAP.SETUID) || before.ruid === 0 || before.euid === 0 || before.suid === 0;
  const ids = (u: number, g: number) => ({ ruid: u, euid: u, suid: u, fsuid: u, rgid: g, egid: g, sgid: g, fsgid: g });
  const gid = before.egid ?? 0;
  const bases = [
    { inheritable: before.inheritable, ambient: before.ambient, ...ids(before.euid, gid) },
    { inheritable: widerI, ambient: P.intersect(widerI), ...ids(before.euid, gid) },
    ...(canBeRoot ? [{ inheritable: widerI, ambient: P.intersect(widerI), ...ids(0, gid) }] : []),
  ];
  let most = CapSet.EMPTY;
  try {
    for (const base of bases) {
      const s: ThreadState = threadState(
        {
          permitted: P,
          effective: P,
          bounding: B,
          groups: [...(before.groups ?? [])],
          noNewPrivs: before.noNewPrivs ?? false,
          ...base,
        },
        profile,
      );
      const v = simulate(s, { op: "execve", file }, { kernel: profile });
      if (v.ok) most = most.union(v.state.permitted);
    }
  } catch {
    return null;
  }
  return most;
}

/** The owner and group an exec of `file` may make the effective ids: its set-id bits, unless nosuid or no_new_privs. */
function setIds(file: ExecFile | null, before: Observed): { uid: number | null; gid: number | null } {
  if (!file || before.noNewPrivs) return { uid: null, gid: null };
  const f = file.interpreter ?? file;
  if (f.nosuid) return { uid: null, gid: null };
  return { uid: f.setuid ? (f.owner ?? 0) : null, gid: f.setgid ? (f.group ?? 0) : null };
}

/** Which sets or ids changed (only the fields both observations have). */
export function changedFields(a: Observed, b: Observed): string[] {
  return diffStates(a, b).map((c) => c.field);
}

/**
 * Classifies a change. `exec`: the thread ran execve in between (exact evidence: the proc
 * connector, or an address space that is gone), with the file it ran when that could be read.
 * Without an exec, permitted and bounding can only shrink (capset, prctl, set*uid); with one,
 * permitted may gain what the engine says that file gives (with no file, at most bounding ∪
 * inheritable, and nothing under no_new_privs). `nsMove`: where a change of user namespace went.
 */
export function classifyChange(
  before: Observed,
  after: Observed,
  exec: ExecEvidence | boolean | null,
  nsMove: NamespaceMove = "unknown",
  profile: KernelProfile = kernelProfile(),
): Classification {
  const ex: ExecEvidence | null = exec === true ? { file: null } : exec === false ? null : exec;
  const reasons: string[] = [];
  let engineMost: CapSet | null = null;
  const grew = (k: SetName) => after[k].difference(before[k]);
  if (before.userns !== undefined && after.userns !== undefined && before.userns !== after.userns) {
    // No system call moves a task up or across to another user namespace: unshare and clone
    // make a child of the current one, and setns enters one the caller holds CAP_SYS_ADMIN over
    // (its own descendants). Committing another namespace's credentials is what an exploit does.
    if (after.userns === INITIAL_USERNS_INODE || nsMove === "other")
      return {
        cause: "unexplained",
        anomaly: true,
        reasons: [
          after.userns === INITIAL_USERNS_INODE
            ? `moved from user namespace ${before.userns} to the initial one: no system call moves a task up to an ancestor namespace`
            : `moved from user namespace ${before.userns} to ${after.userns}, which is not below it: no system call moves a task up or across`,
        ],
        changed: changedFields(before, after),
        gained: grew("permitted").union(grew("bounding")),
      };
    // a new child namespace (unshare, clone): full capabilities and bounding set, but in it only;
    // over the parent namespace they give nothing (ns_capable checks the owner chain)
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
  if (!ex) {
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
    const kept = before.permitted.intersect(after.permitted);
    engineMost = ex.file ? mostAnExecGives(before, ex.file, profile) : null;
    const most =
      engineMost ??
      (before.noNewPrivs
        ? before.permitted
        : before.bounding.union(before.inheritable).union(before.permitted.intersect(before.ambient)));
    if (!after.permitted.isSubsetOf(most.union(kept))) {
      reasons.push(
        `execve gave permitted ${listNames(after.permitted.difference(most.union(kept)))}, beyond ${
          engineMost
            ? "what that file gives (its set-id bits and file capabilities, by the kernel's rules)"
            : before.noNewPrivs
              ? "the old permitted set (no_new_privs)"
              : "the old bounding ∪ inheritable sets"
        }`,
      );
    }
  }
  const ids = setIds(ex?.file ?? null, before);
  reasons.push(
    ...unreachableIds(before, after, ex, "uid", ids.uid, engineMost),
    ...unreachableIds(before, after, ex, "gid", ids.gid, engineMost),
  );
  const gained = grew("permitted").union(grew("bounding"));
  return {
    cause: reasons.length ? "unexplained" : ex ? "execve" : "capset/prctl/setuid",
    anomaly: reasons.length > 0,
    reasons,
    changed: changedFields(before, after),
    gained,
  };
}
