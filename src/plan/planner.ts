// The planner: the shortest sequence of modelled calls after which execve of the target file
// gives the program the target state. It searches the engine's state space (uniform cost, by
// the number of system calls) over moves derived from the target; each move is evaluated on
// the engine in one call, and the goal is tested by simulating the final execve.
import { mapDown, ID_UNMAPPED } from "../userns.js";
import { requireState } from "../state.js";
import { mapText } from "../rules/setuid.js";
import { CapSet } from "../capabilities/set.js";
import { CAP, capabilityName } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { PRCTL, AMBIENT_SUBOP, SECUREBITS } from "../kernel/constants.js";
import { simulate, simulateSequence, simulateSequences, type Verdict } from "../simulate.js";
import type { Op, ExecFile } from "../ops.js";
import type { ThreadState } from "../state.js";
import { listNames } from "../capabilities/list.js";
import { requireTarget, unmet, wanted, type PlanTarget } from "./target.js";
import { argInteger, argObject, argProfile } from "../args.js";

export interface PlanStep {
  readonly verdict: Verdict;
  /** Why the step is there (the move it belongs to). */
  readonly why: string;
}
export type Plan =
  | { readonly ok: true; readonly steps: readonly PlanStep[]; readonly final: ThreadState; readonly searched: number }
  | { readonly ok: false; readonly reasons: readonly string[]; readonly searched: number };

interface Move {
  readonly name: string;
  readonly why: string;
  ops(s: ThreadState): Op[];
}

function execFileOf(target: PlanTarget): ExecFile {
  return target.file ?? {};
}

/** The moves worth trying for this target, from this start. */
function movesFor(start: ThreadState, target: PlanTarget): Move[] {
  const file = execFileOf(target);
  const plainFile = !file.caps && !file.setuid;
  const uid = target.uid ?? start.euid;
  const w = wanted(target);
  // What must be ambient: what was asked for, and (for a plain file, whose exec gives a
  // non-root uid, or root under SECBIT_NOROOT, P' = A) everything wanted.
  const ambientNeeded = (target.ambient?.exactly ?? target.ambient?.include ?? CapSet.EMPTY).union(
    plainFile ? w : CapSet.EMPTY,
  );
  const moves: Move[] = [
    {
      name: "raise",
      why: "make every permitted capability effective, so the calls below may use CAP_CAP.SETPCAP and CAP_CAP.SETUID",
      ops: (s) =>
        s.effective.equals(s.permitted)
          ? []
          : [{ op: "capset", effective: s.permitted, permitted: s.permitted, inheritable: s.inheritable }],
    },
    {
      name: "inheritable",
      why: "an ambient capability must be permitted and inheritable; the program's inheritable set is kept across exec",
      ops: (s) => {
        let i =
          target.inheritable?.exactly ??
          s.inheritable.union(target.inheritable?.include ?? CapSet.EMPTY).union(ambientNeeded);
        i = i.union(ambientNeeded).difference(target.inheritable?.exclude ?? CapSet.EMPTY);
        return i.equals(s.inheritable)
          ? []
          : [{ op: "capset", effective: s.effective, permitted: s.permitted, inheritable: i }];
      },
    },
    {
      name: "bounding",
      why: "the program's bounding set, as asked",
      ops: (s) => {
        const keep = target.bounding?.exactly ?? s.bounding.difference(target.bounding?.exclude ?? CapSet.EMPTY);
        return s.bounding
          .difference(keep)
          .toArray()
          .map((cap): Op => ({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: cap }));
      },
    },
    // The other way to make exec unable to grant more (besides no_new_privs): B ⊆ what is kept.
    ...(target.cannotRegain
      ? [
          {
            name: "bounding-all",
            why: "capabilities out of the bounding set cannot come back through any exec",
            ops: (s: ThreadState): Op[] => {
              const keep = (
                target.bounding?.exactly ?? s.bounding.difference(target.bounding?.exclude ?? CapSet.EMPTY)
              ).intersect(target.permitted?.exactly ?? w);
              return s.bounding
                .difference(keep)
                .toArray()
                .map((cap): Op => ({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: cap }));
            },
          },
        ]
      : []),
    {
      name: "keep-caps",
      why: "keep permitted when no uid is 0 any more (effective and ambient are cleared regardless)",
      ops: (s) =>
        s.securebits & SECUREBITS.SECBIT_KEEP_CAPS ? [] : [{ op: "prctl", option: PRCTL.PR_SET_KEEPCAPS, arg2: 1 }],
    },
    {
      name: "uid",
      why: `run as uid ${uid}`,
      ops: (s) =>
        s.ruid === uid && s.euid === uid && s.suid === uid && s.fsuid === uid
          ? []
          : [{ op: "setresuid", ruid: uid, euid: uid, suid: uid }],
    },
    {
      name: "ambient",
      why: "ambient capabilities survive execve of a file without file capabilities",
      ops: (s) =>
        ambientNeeded
          .difference(s.ambient)
          .toArray()
          .map((cap): Op => ({
            op: "prctl",
            option: PRCTL.PR_CAP_AMBIENT,
            arg2: AMBIENT_SUBOP.PR_CAP_AMBIENT_RAISE,
            arg3: cap,
          })),
    },
    {
      name: "shrink",
      why: "permitted and effective hold only what the program will hold (what is not permitted cannot be raised again)",
      ops: (s) => {
        const keep = w
          .union(ambientNeeded)
          .union(target.inheritable?.exactly ?? CapSet.EMPTY)
          .intersect(s.permitted);
        const p = s.permitted.intersect(keep);
        return p.equals(s.permitted) && s.effective.isSubsetOf(p)
          ? []
          : [{ op: "capset", effective: s.effective.intersect(p), permitted: p, inheritable: s.inheritable }];
      },
    },
  ];
  const bits = target.securebits?.set ?? 0,
    clear = target.securebits?.clear ?? 0;
  if (bits || clear)
    moves.push({
      name: "securebits",
      why: "the program's securebits",
      ops: (s) => {
        const v =
          ((s.securebits | bits) & ~clear & ~SECUREBITS.SECBIT_KEEP_CAPS) |
          (s.securebits & SECUREBITS.SECBIT_KEEP_CAPS);
        return v === s.securebits ? [] : [{ op: "prctl", option: PRCTL.PR_SET_SECUREBITS, arg2: v }];
      },
    });
  // As root, execve grants bounding ∪ inheritable; SECBIT_NOROOT is how root gets only what it asked for.
  if (uid === 0)
    moves.push({
      name: "noroot",
      why: "uid 0 would otherwise get bounding ∪ inheritable from execve (SECBIT_NOROOT turns the root rules off)",
      ops: (s) =>
        s.securebits & SECUREBITS.SECBIT_NOROOT
          ? []
          : [{ op: "prctl", option: PRCTL.PR_SET_SECUREBITS, arg2: s.securebits | SECUREBITS.SECBIT_NOROOT }],
    });
  if (target.noNewPrivs || (target.cannotRegain && target.noNewPrivs !== false)) {
    moves.push({
      name: "nnp",
      why: target.noNewPrivs ? "no_new_privs, as asked" : "no_new_privs: no later exec can grant anything",
      ops: (s) => (s.noNewPrivs ? [] : [{ op: "prctl", option: PRCTL.PR_SET_NO_NEW_PRIVS, arg2: 1 }]),
    });
  }
  return moves;
}

function key(s: ThreadState, used: number): string {
  return `${used}:${s.permitted.lo},${s.permitted.hi},${s.effective.lo},${s.effective.hi},${s.inheritable.lo},${s.inheritable.hi},${s.bounding.lo},${s.bounding.hi},${s.ambient.lo},${s.ambient.hi},${s.securebits},${s.ruid},${s.euid},${s.suid},${s.fsuid},${s.noNewPrivs}`;
}

interface Node {
  state: ThreadState;
  used: number;
  cost: number;
  path: Array<{ move: Move; ops: Op[] }>;
}

/** Plans from `start` to `target`. */
export function plan(
  start: ThreadState,
  target: PlanTarget,
  options: { kernel?: KernelProfile; maxStates?: number } = {},
): Plan {
  argObject(options, "plan: the options");
  const profile = argProfile(options.kernel, "plan: options.kernel") ?? kernelProfile();
  requireState(start, "plan");
  requireTarget(target, "plan");
  const moves = movesFor(start, target);
  const execOp: Op = { op: "execve", file: execFileOf(target) };
  const frontier: Node[] = [{ state: start, used: 0, cost: 0, path: [] }];
  const seen = new Set<string>([key(start, 0)]);
  let searched = 0;
  let best: { node: Node; misses: string[] } | undefined;
  const maxStates =
    options.maxStates === undefined ? 20000 : argInteger(options.maxStates, "plan: options.maxStates", 1, 1e7);
  while (frontier.length && searched < maxStates) {
    // uniform cost: the cheapest node first (the frontier stays small; a sort is enough)
    frontier.sort((a, b) => a.cost - b.cost);
    const node = frontier.shift()!;
    searched++;
    const exec = simulate(node.state, execOp, { kernel: profile });
    if (exec.ok) {
      const misses = unmet(target, exec.state);
      if (!misses.length) return finish(start, node, execOp, profile, searched);
      if (!best || misses.length < best.misses.length) best = { node, misses };
    }
    // Every candidate move from this node, evaluated in one engine call.
    const candidates = moves
      .map((move, m) => ({ move, m, ops: node.used & (1 << m) ? [] : move.ops(node.state) }))
      .filter((c) => c.ops.length);
    const results = simulateSequences(
      candidates.map((c) => ({ state: node.state, ops: c.ops })),
      { kernel: profile },
    );
    candidates.forEach(({ move, m, ops }, i) => {
      // (one answer per candidate; a candidate has at least one op, so one verdict)
      const verdicts = results[i]!;
      if (!verdicts.every((v) => v.ok)) return;
      const state = verdicts[verdicts.length - 1]!.state;
      const used = node.used | (1 << m);
      const k = key(state, used);
      if (seen.has(k)) return;
      seen.add(k);
      frontier.push({ state, used, cost: node.cost + ops.length, path: [...node.path, { move, ops }] });
    });
  }
  return { ok: false, reasons: explainImpossible(start, target, best?.misses ?? []), searched };
}

function finish(start: ThreadState, node: Node, execOp: Op, profile: KernelProfile, searched: number): Plan {
  const ops = [...node.path.flatMap((p) => p.ops), execOp];
  const whys = [...node.path.flatMap((p) => p.ops.map(() => p.move.why)), "run the program"];
  const verdicts = simulateSequence(start, ops, { kernel: profile });
  return {
    ok: true,
    // (a verdict and a why per op; the exec op is always there)
    steps: verdicts.map((verdict, i) => ({ verdict, why: whys[i]! })),
    final: verdicts[verdicts.length - 1]!.state,
    searched,
  };
}

/** Why no plan exists, from what the kernel's rules make necessary. */
function explainImpossible(start: ThreadState, target: PlanTarget, closest: string[]): string[] {
  const reasons: string[] = [];
  const file = execFileOf(target);
  const uid = target.uid ?? start.euid;
  const fileGrants = file.caps
    ? file.caps.permitted
        .intersect(start.bounding)
        .union(file.caps.inheritable.intersect(start.inheritable.union(start.permitted)))
    : CapSet.EMPTY;
  const rootGrants =
    uid === 0 || (file.setuid && file.owner === 0) ? start.bounding.union(start.inheritable) : CapSet.EMPTY;
  for (const cap of wanted(target)) {
    const name = capabilityName(cap);
    if (start.permitted.has(cap) || fileGrants.has(cap) || rootGrants.has(cap)) continue;
    if (!start.bounding.has(cap))
      reasons.push(
        `${name} is not permitted and not in the bounding set: no capset, ambient raise or exec can give it to this thread's programs`,
      );
    else
      reasons.push(
        `${name} is not permitted now; only execve of a file whose capabilities grant it (or a root exec) can add it, and the file given ${file.caps ? "does not" : "has no file capabilities"}`,
      );
  }
  if (target.uid !== undefined && start.ns && mapDown(start.ns.uidMap, target.uid) === ID_UNMAPPED)
    reasons.push(
      `uid ${target.uid} has no mapping in this thread's user namespace (${mapText(start.ns.uidMap)}): the kernel refuses it with EINVAL`,
    );
  if (
    target.uid !== undefined &&
    target.uid !== start.euid &&
    ![start.ruid, start.suid].includes(target.uid) &&
    !start.permitted.has(CAP.SETUID)
  ) {
    reasons.push(`changing the uid to ${target.uid} needs CAP_SETUID, which is not permitted`);
  }
  const dropNeeded =
    target.bounding?.exclude?.intersect(start.bounding) ??
    (target.bounding?.exactly ? start.bounding.difference(target.bounding.exactly) : CapSet.EMPTY);
  if (!dropNeeded.isEmpty && !start.permitted.has(CAP.SETPCAP))
    reasons.push(`dropping ${listNames(dropNeeded)} from the bounding set needs CAP_SETPCAP, which is not permitted`);
  if (target.bounding?.exactly && !target.bounding.exactly.isSubsetOf(start.bounding))
    reasons.push(
      `the bounding set can only shrink: ${listNames(target.bounding.exactly.difference(start.bounding))} ${target.bounding.exactly.difference(start.bounding).size === 1 ? "is" : "are"} already out of it`,
    );
  if (start.noNewPrivs && target.noNewPrivs === false) reasons.push("no_new_privs is set and can never be unset");
  if (start.noNewPrivs && file.caps && !file.caps.permitted.isSubsetOf(start.permitted))
    reasons.push("no_new_privs is set: the file's capabilities cannot add to permitted");
  const locked = (start.securebits & 0xaaa) >>> 1;
  const change =
    ((target.securebits?.set ?? 0) & ~start.securebits) | ((target.securebits?.clear ?? 0) & start.securebits);
  if (change & locked) reasons.push("a securebit the target changes is locked");
  if (!reasons.length)
    reasons.push(
      `no order of the modelled calls reaches the target; the closest plan leaves: ${closest.join("; ") || "nothing to try"}`,
    );
  return reasons;
}
