// fast-check arbitraries for trials the kernel runner can execute (no execve), with capget
// pids that cannot name another live thread (the model's process table holds only the caller).
import fc from "fast-check";
import { readFileSync } from "node:fs";
import type { KernelProfile } from "../src/kernel/profiles.js";
import { OP_NAMES, type Op, type ExecFile } from "../src/ops.js";
import { threadStateArb, opArb, execveOpArb } from "../src/fuzz/arbitraries.js";
import type { Trial } from "./runner.js";
import { OVERFLOW_ID } from "../src/userns.js";

const NO_SUCH_PID = 0x3fffffff; // above any pid_max

function kernelSafe(op: Op, tid: number): Op {
  // another pid is a task of the trial's `tasks` (the runner makes it) or a pid no kernel has
  if (op.op === "capget" && op.target !== undefined) return op.pid === tid ? { ...op, pid: tid + 1 } : op;
  if ((op.op === "capget" || op.op === "capset") && op.pid !== undefined && op.pid > 0 && op.pid !== tid)
    return { ...op, pid: NO_SUCH_PID };
  return op;
}

export interface TrialOptions {
  readonly maxSteps?: number;
  /**
   * Whether ids other than 0 exist in the runner's namespace: true when the runner runs as
   * real root (it maps every id); otherwise only uid 0 is mapped and uid changes are left out.
   */
  readonly uids?: boolean;
  /** How often a trial ends with an execve (0..1; default 0.25). */
  readonly execRate?: number;
  /** false: no start state in a child user namespace and no unshare (each needs a process of its own). */
  readonly userns?: boolean;
}

/** Ops that need ids other than 0 (or a map-writing helper) to exist in the runner's namespace: the set*id calls, setgroups, unshare. */
const UID_OPS: ReadonlySet<string> = new Set(OP_NAMES.filter((n) => n.startsWith("set") || n === "unshare"));

export function trialArb(profile: KernelProfile, options: TrialOptions = {}): fc.Arbitrary<Trial> {
  const uids = options.uids ?? true;
  const states = uids
    ? threadStateArb(profile, options.userns === false ? { userns: false } : {})
    : threadStateArb(profile, { userns: false }).map((s) => ({
        ...s,
        ruid: 0,
        euid: 0,
        suid: 0,
        fsuid: 0,
        rgid: 0,
        egid: 0,
        sgid: 0,
        fsgid: 0,
        groups: runnerGroups(),
      }));
  const rate = options.execRate ?? 0.25;
  // Exec files the runner can make: v2/v3 xattrs only (v1 cannot be written), owners that exist.
  // A script's interpreter is the file the runner makes from the op, so it obeys the same.
  // Without every id mapped (not root), a v3 xattr's root id must be 0 too: the kernel refuses
  // to write one it cannot map (EINVAL from cap_convert_nscap).
  const runnableFile = <F extends ExecFile>(file: F): F => {
    let caps = file.caps && file.caps.version === 1 ? { ...file.caps, version: 2 as const } : file.caps;
    if (caps && !uids && caps.rootid !== undefined) caps = { ...caps, rootid: 0 };
    return { ...file, owner: uids ? (file.owner ?? 0) : 0, group: uids ? (file.group ?? 0) : 0, ...(caps && { caps }) };
  };
  const runnable = (op: Op): Op => {
    if (op.op !== "execve") return op;
    const file = runnableFile(op.file);
    return {
      ...op,
      file: file.interpreter ? { ...file, interpreter: runnableFile(file.interpreter) } : file,
    };
  };
  const exec = execveOpArb(profile).map(runnable);
  const tail = fc.oneof(
    { weight: Math.round(rate * 100), arbitrary: exec.map((op) => [op]) },
    { weight: Math.round((1 - rate) * 100), arbitrary: fc.constant([] as Op[]) },
  );
  // execve may also stand in the middle (opArb draws it now and then), when execs are wanted at all.
  return states.chain((state) =>
    fc
      .tuple(
        fc.array(
          opArb(state, profile).filter(
            (op) =>
              (rate > 0 || op.op !== "execve") &&
              (uids || !UID_OPS.has(op.op)) &&
              (options.userns !== false || op.op !== "unshare"),
          ),
          { minLength: 0, maxLength: options.maxSteps ?? 8 },
        ),
        tail,
      )
      .filter(([ops, end]) => ops.length + end.length > 0)
      .map(([ops, end]) => ({ state, ops: [...ops.map((op) => runnable(kernelSafe(op, state.tid))), ...end] })),
  );
}

/**
 * The supplementary groups a runner started by this process has, as its namespace shows them
 * when it does not map every id: the egid is its gid 0, any other group has no mapping and shows
 * as the overflow gid 65534 (the namespace stands for the initial one, where that is a gid like
 * any other). Not root, it cannot change them (setgroups is denied there), so trials start with
 * them.
 */
export function runnerGroups(): number[] {
  const egid = typeof process.getegid === "function" ? process.getegid() : 0;
  // the kernel's list as /proc shows it (process.getgroups() adds the egid when it is not there)
  let groups: number[] = [];
  try {
    const line = /^Groups:(.*)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    groups = (line?.[1] ?? "").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* not Linux: no runner either */
  }
  return groups.map((g) => (g === egid ? 0 : OVERFLOW_ID));
}

/** Whether the runner will map every id (it does when started by real root). */
export function runnerMapsAllIds(): boolean {
  if (typeof process.geteuid !== "function" || process.geteuid() !== 0) return false;
  // root over every id: the initial namespace, or one whose uid map covers them all (root of
  // `unshare -Ur` has uid 0 alone, and the runner treats it as a normal user)
  try {
    return /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync("/proc/self/uid_map", "utf8"));
  } catch {
    return false;
  }
}

/**
 * Several trials from one start state: the runner sets the state up once (a template thread)
 * and runs each trial on a thread made from it, which is what makes ~20k trials/s possible.
 */
export function trialGroupArb(
  profile: KernelProfile,
  options: TrialOptions & { perState?: number } = {},
): fc.Arbitrary<Trial[]> {
  const k = options.perState ?? 4;
  return trialArb(profile, options).chain((first) =>
    fc
      .array(
        trialArb(profile, options).map((t) => ({
          state: first.state,
          ops: t.ops.map((op) => kernelSafe(op, first.state.tid)),
        })),
        { minLength: k - 1, maxLength: k - 1 },
      )
      .map((rest) => [first, ...rest]),
  );
}
