// The proof: the same trials on the engine and on a real kernel, compared step by step
// (src/compare.ts), and the two ways capgate runs it: a seeded random campaign
// (runFuzzCampaign) and one scenario (verifyScenario). A divergence is reported as a fact only
// once its reproducer, the scenario printed for it, repeats it on the same kernel; one that does
// not is a fault of the harness, reported as such. `capgate verify`, the tests and
// `npm run verify:kernels` all go through here; they only choose the kernel side and render.
import fc from "fast-check";
import { simulateSequence, type Verdict } from "../src/simulate.js";
import type { Op } from "../src/ops.js";
import { CapgateSystemError } from "../src/errors.js";
import { errnoName } from "../src/kernel/errno-text.js";
import { profileFields, type KernelProfile } from "../src/kernel/profiles.js";
import { describeOp } from "../src/formats/describe.js";
import { toScenario } from "../src/scenario/emit.js";
import { parseScenario, type Scenario } from "../src/scenario/parse.js";
import { compareStep } from "../src/compare.js";
import { SETUP_STAGES } from "../src/engine/contract.js";
import { runnerSupports, runOnKernelAsync, type KernelStep, type KernelTrial, type Trial } from "./runner.js";
import { trialArb, trialGroupArb, runnerMapsAllIds } from "./trials.js";

/** Where trials run: this machine's kernel, or one booted under qemu (verify/boot.ts). */
export interface KernelSide {
  /** "the running kernel", "the booted kernel 6.1.0-57-cloud-amd64" (once booted). */
  describe(): string;
  /** Whether every uid and gid is mapped where the trials run (root over every id): uid changes are then tried too. */
  readonly everyId: boolean;
  /** Trials per run: a campaign is made and run in batches of this size (a booted kernel runs it all in one boot). */
  readonly batchSize: number;
  run(trials: readonly Trial[]): Promise<KernelTrial[]>;
  /** uname -r of the kernel the trials ran on, once known (a booted kernel's). */
  release(): string | null;
}

/** Trials per batch on this machine's kernel (see runFuzzCampaign). */
export const LOCAL_BATCH = 2000;

/** This machine's kernel, through the runner (a throwaway user namespace per run). */
export function runningKernel(): KernelSide {
  const everyId = runnerMapsAllIds();
  return {
    describe: () => "the running kernel",
    everyId,
    batchSize: LOCAL_BATCH,
    run: runOnKernelAsync,
    release: () => null,
  };
}

export interface Divergence {
  readonly trial: Trial;
  /** The first step (0-based) where engine and kernel disagree. */
  readonly step: number;
  readonly differences: readonly string[];
  readonly engine: Verdict;
  readonly kernel: KernelStep;
}

/** A divergence whose reproducer, run alone on the same kernel, did not repeat it: the harness, not the model. */
export interface HarnessFault {
  readonly first: Divergence;
  /** What the reproducer's run showed: its own differences at that step, or none. */
  readonly rerun: readonly string[];
  /** Why the reproducer could not even be made or run, when that is the fault. */
  readonly problem?: string;
}

/** The engine's and the kernel's answers for a batch of trials, compared. */
export interface Comparison {
  readonly trials: number;
  readonly steps: number;
  readonly divergences: readonly Divergence[];
  /** Trials whose start state the kernel could not be brought to (a runner defect if not 0). */
  readonly setupFailures: readonly { readonly trial: Trial; readonly stage: number }[];
  /** Trials cut at a step outside the model (nothing to compare from there; the arbitraries make none). */
  readonly notModelled: number;
}

/** Compares the kernel's answers with the engine's, trial by trial, up to each trial's first divergence. */
export function compareTrials(
  trials: readonly Trial[],
  kernel: readonly KernelTrial[],
  profile: KernelProfile,
): Comparison {
  const divergences: Divergence[] = [];
  const setupFailures: { trial: Trial; stage: number }[] = [];
  let steps = 0,
    notModelled = 0;
  if (kernel.length !== trials.length)
    throw new CapgateSystemError(`the kernel side answered ${kernel.length} of ${trials.length} trials`);
  const verdicts = simulateSequenceAll(trials, profile);
  trials.forEach((trial, i) => {
    const k = kernel[i]!; // (one answer per trial, checked above)
    if (k.setup !== 0) {
      setupFailures.push({ trial, stage: k.setup });
      return;
    }
    const v = verdicts[i]!; // (one sequence of verdicts per trial)
    for (let s = 0; s < v.length; s++) {
      // (a verdict per op; the runner answers every op of a trial it set up)
      const engine = v[s]!,
        answer = k.steps[s]!;
      if (!engine.modelled) {
        notModelled++;
        break;
      }
      steps++;
      const differences = compareStep(engine, answer);
      if (differences.length) {
        divergences.push({ trial, step: s, differences, engine, kernel: answer });
        break;
      }
    }
  });
  return { trials: trials.length, steps, divergences, setupFailures, notModelled };
}

function simulateSequenceAll(trials: readonly Trial[], profile: KernelProfile): Verdict[][] {
  return trials.map((t) => simulateSequence(t.state, t.ops, { kernel: profile }));
}

/** What a setup stage number means (native/capfuzz.c, declared in contract/engine.json). */
export function setupStageText(stage: number): string {
  return SETUP_STAGES[stage] ?? `stage ${stage}`;
}

/** The scenario that reproduces a divergence: the trial's start state and its ops up to the divergent one. */
export function reproducerScenario(d: Divergence, profile: KernelProfile): Record<string, unknown> {
  return toScenario(
    profile.version,
    d.trial.state,
    d.trial.ops.slice(0, d.step + 1),
    "reproducer found by capgate's differential test",
  );
}

/** The trial a reproducer scenario means, read back as `capgate simulate` and `verify` read it. */
function trialOf(scenario: Scenario): Trial {
  return { state: scenario.state, ops: scenario.steps.map((s) => s.op) };
}

/**
 * Runs each divergence's reproducer (the printed scenario, parsed back) alone on the same
 * kernel: one that repeats the same differences at the same step is a fact; any other outcome
 * is a harness fault.
 */
export async function confirmDivergences(
  divergences: readonly Divergence[],
  side: KernelSide,
  profile: KernelProfile,
): Promise<{ confirmed: Divergence[]; faults: HarnessFault[] }> {
  const confirmed: Divergence[] = [];
  const faults: HarnessFault[] = [];
  const rerun: Array<{ d: Divergence; trial: Trial }> = [];
  for (const d of divergences) {
    try {
      rerun.push({ d, trial: trialOf(parseScenario(reproducerScenario(d, profile))) });
    } catch (e) {
      faults.push({ first: d, rerun: [], problem: `its reproducer does not read back: ${(e as Error).message}` });
    }
  }
  if (!rerun.length) return { confirmed, faults };
  const answers = await side.run(rerun.map((r) => r.trial));
  const again = compareTrials(
    rerun.map((r) => r.trial),
    answers,
    profile,
  );
  rerun.forEach(({ d, trial }, i) => {
    const setup = answers[i]!.setup; // (compareTrials checked one answer per rerun trial)
    const repeat = again.divergences.find((x) => x.trial === trial);
    if (setup !== 0)
      faults.push({ first: d, rerun: [], problem: `its reproducer's start state failed (${setupStageText(setup)})` });
    else if (repeat && repeat.step === d.step && repeat.differences.join("\n") === d.differences.join("\n"))
      confirmed.push(d);
    else faults.push({ first: d, rerun: repeat ? repeat.differences : [] });
  });
  return { confirmed, faults };
}

export interface FuzzCampaignOptions {
  readonly profile: KernelProfile;
  readonly trials: number;
  readonly seed: number;
  readonly side: KernelSide;
  /** Ops per trial at most (default 12). */
  readonly maxSteps?: number;
  /** Trials that share one start state (default 1; more run faster, as the runner sets a state up once for them). */
  readonly perState?: number;
  /** Called with each batch's trials before they run (to count what a campaign covers). */
  readonly onBatch?: (trials: readonly Trial[]) => void;
  /** Called after each batch. */
  readonly onProgress?: (p: { done: number; total: number; divergent: number; elapsedMs: number }) => void;
}

export interface FuzzCampaignResult extends Comparison {
  readonly seed: number;
  readonly profile: KernelProfile;
  /** The divergences their reproducers repeated (every reported divergence is one of these). */
  readonly divergences: readonly Divergence[];
  readonly harnessFaults: readonly HarnessFault[];
  /** Whether uid changes were tried (the kernel side maps every id). */
  readonly everyId: boolean;
  readonly release: string | null;
  readonly kernelMs: number;
  readonly totalMs: number;
}

/** The seed of batch k of a campaign: the first is the campaign's own, so a smaller campaign is a prefix of a larger one. */
export function batchSeed(seed: number, k: number): number {
  return k === 0 ? seed : (seed ^ Math.imul(k, 0x9e3779b9)) | 0;
}

/**
 * A seeded random campaign: trials made and run in batches (side.batchSize), each batch from
 * its own seed (batchSeed), so memory stays flat at any size and the same seed always makes the
 * same trials; the kernel runs one batch while the next is made. Every divergence is then
 * re-run alone (confirmDivergences).
 */
export async function runFuzzCampaign(o: FuzzCampaignOptions): Promise<FuzzCampaignResult> {
  const start = Date.now();
  const options = { uids: o.side.everyId, maxSteps: o.maxSteps ?? 12 };
  const per = Math.max(1, o.perState ?? 1);
  const arb =
    per > 1 ? trialGroupArb(o.profile, { ...options, perState: per }) : trialArb(o.profile, options).map((t) => [t]);
  const size = Math.max(1, Math.min(o.side.batchSize, o.trials));
  const batches = Math.ceil(o.trials / size);
  const make = (k: number) => {
    const want = Math.min(size, o.trials - k * size);
    const made = fc
      .sample(arb, { numRuns: Math.ceil(want / per), seed: batchSeed(o.seed, k) })
      .flat()
      .slice(0, want);
    o.onBatch?.(made);
    return made;
  };
  const parts: Comparison[] = [];
  let kernelMs = 0,
    done = 0,
    divergent = 0;
  let next = make(0);
  for (let k = 0; k < batches; k++) {
    const current = next;
    const t0 = process.hrtime.bigint();
    const running = o.side.run(current);
    if (k + 1 < batches) next = make(k + 1);
    const answers = await running;
    kernelMs += Number(process.hrtime.bigint() - t0) / 1e6;
    const part = compareTrials(current, answers, o.profile);
    parts.push(part);
    done += part.trials;
    divergent += part.divergences.length;
    o.onProgress?.({ done, total: o.trials, divergent, elapsedMs: Date.now() - start });
  }
  const found = parts.flatMap((p) => p.divergences);
  const { confirmed, faults } = found.length
    ? await confirmDivergences(found, o.side, o.profile)
    : { confirmed: [], faults: [] };
  return {
    seed: o.seed,
    profile: o.profile,
    trials: done,
    steps: parts.reduce((n, p) => n + p.steps, 0),
    divergences: confirmed,
    harnessFaults: faults,
    setupFailures: parts.flatMap((p) => p.setupFailures),
    notModelled: parts.reduce((n, p) => n + p.notModelled, 0),
    everyId: o.side.everyId,
    release: o.side.release(),
    kernelMs,
    totalMs: Date.now() - start,
  };
}

/** The op a divergence happened at (compareTrials makes one only at a step of its trial). */
export function divergentOp(d: Divergence): Op {
  const op = d.trial.ops[d.step];
  if (!op) throw new RangeError(`a divergence at step ${d.step + 1} of a trial of ${d.trial.ops.length} ops`);
  return op;
}

/** Which ops differ, by op and deciding rule ("capset (capset.ok)": count), for a user on another kernel. */
export function differingOps(divergences: readonly Divergence[]): Record<string, number> {
  const byOp: Record<string, number> = {};
  for (const d of divergences) {
    const key = `${divergentOp(d).op} (${d.engine.rule})`;
    byOp[key] = (byOp[key] ?? 0) + 1;
  }
  return byOp;
}

/** A human report of one divergence, with a scenario that reproduces it. */
export function describeDivergence(d: Divergence, profile: KernelProfile): string {
  return [
    `engine and kernel disagree at step ${d.step + 1} (${describeOp(divergentOp(d))}); engine rule ${d.engine.rule}:`,
    ...d.differences.map((x) => `  ${x}`),
    "reproduce with `capgate simulate FILE` on:",
    JSON.stringify(reproducerScenario(d, profile), null, 2),
  ].join("\n");
}

/** A human report of a harness fault: the first run's differences and what the reproducer's run showed. */
export function describeHarnessFault(f: HarnessFault, profile: KernelProfile): string {
  return [
    `a divergence at step ${f.first.step + 1} (${describeOp(divergentOp(f.first))}) that its reproducer did not repeat: a fault of the test harness, not of the model`,
    "  first run:",
    ...f.first.differences.map((x) => `    ${x}`),
    `  the reproducer run alone: ${f.problem ?? (f.rerun.length ? "" : "engine and kernel agreed")}`,
    ...f.rerun.map((x) => `    ${x}`),
    "the trial:",
    JSON.stringify(reproducerScenario(f.first, profile), null, 2),
  ].join("\n");
}

/** Why a scenario cannot run on the kernel side, or null: a v1 xattr, or ids the side cannot map. */
export function scenarioProblem(scenario: Scenario, everyId: boolean): string | null {
  const ops = scenario.steps.map((s) => s.op);
  const cut = ops.findIndex((op) => !runnerSupports(op));
  if (cut >= 0)
    return `step ${cut + 1} (${ops[cut]!.op /* (found by findIndex) */}) cannot run on the kernel: a v1 security.capability cannot be written (use version 2 or 3)`;
  if (!everyId) {
    // Without root over every id (a normal user, or root of `unshare -Ur`), the throwaway
    // namespace maps only id 0: the runner cannot make a file owned by another id, nor write a
    // v3 xattr whose root id has no mapping there.
    const unmappable = ops.findIndex(
      (op) =>
        op.op === "execve" &&
        [op.file, op.file.interpreter].some(
          (f) => f && ((f.owner ?? 0) !== 0 || (f.group ?? 0) !== 0 || (f.caps?.rootid ?? 0) !== 0),
        ),
    );
    if (unmappable >= 0)
      return `step ${unmappable + 1} (execve) needs a file whose owner, group or root id is not 0, which the throwaway namespace cannot map without root over every id; run capgate verify as root`;
  }
  return null;
}

/** One step of a scenario as the engine and the kernel answered it. */
export interface ScenarioStepReport {
  readonly verdict: Verdict;
  readonly kernel: KernelStep;
  /** Empty when they agree; a step outside the model is shown, not judged (empty too). */
  readonly differences: readonly string[];
}

export interface ScenarioReport {
  readonly profile: KernelProfile;
  /** The setup stage the kernel could not reach, when it could not (then no steps). */
  readonly setupFailure: number | null;
  /** Up to and including the first step outside the model (after it the engine's state is unknown). */
  readonly steps: readonly ScenarioStepReport[];
  readonly agree: boolean;
  /** The index of the first step outside the model, or -1. */
  readonly outside: number;
  /** The disagreement did not repeat when the scenario ran a second time: a harness fault. */
  readonly harnessFault: { readonly rerun: readonly string[] } | null;
  readonly release: string | null;
}

async function runOne(side: KernelSide, trial: Trial): Promise<KernelTrial> {
  const [answer] = await side.run([trial]);
  if (!answer) throw new CapgateSystemError("the kernel side answered no trial");
  return answer;
}

/** Runs a scenario on the kernel side beside the engine, step by step; a disagreement is run once more before it counts. */
export async function verifyScenario(scenario: Scenario, side: KernelSide): Promise<ScenarioReport> {
  const trial = trialOf(scenario);
  const profile = scenario.profile;
  const verdicts = simulateSequence(trial.state, trial.ops, { kernel: profile });
  const outside = verdicts.findIndex((v) => !v.modelled);
  const judge = (k: KernelTrial): ScenarioStepReport[] =>
    verdicts.slice(0, outside < 0 ? undefined : outside + 1).map((v, i) => ({
      verdict: v,
      // (the runner answers every op of a trial it set up)
      kernel: k.steps[i]!,
      differences: v.modelled ? compareStep(v, k.steps[i]!) : [],
    }));
  const first = await runOne(side, trial);
  if (first.setup !== 0)
    return {
      profile,
      setupFailure: first.setup,
      steps: [],
      agree: false,
      outside,
      harnessFault: null,
      release: side.release(),
    };
  const steps = judge(first);
  const agree = steps.every((s) => s.differences.length === 0);
  let harnessFault: ScenarioReport["harnessFault"] = null;
  if (!agree) {
    const second = await runOne(side, trial);
    const again = second.setup === 0 ? judge(second) : [];
    const same =
      again.length === steps.length &&
      again.every((s, i) => s.differences.join("\n") === steps[i]?.differences.join("\n"));
    if (!same) harnessFault = { rerun: again.flatMap((s) => s.differences) };
  }
  return { profile, setupFailure: null, steps, agree, outside, harnessFault, release: side.release() };
}

/**
 * What a campaign or a scenario run proved: "held" (every step agreed), "divergent" (a
 * disagreement its reproducer repeated: a fact about the model), "harness-fault" (one that did
 * not repeat, or a start state the kernel could not be brought to: a fault of the test, which
 * proves nothing either way), "not-modelled" (a scenario reached a step outside the model).
 */
export type VerifyOutcome = "held" | "divergent" | "harness-fault" | "not-modelled";

export function campaignOutcome(r: FuzzCampaignResult): VerifyOutcome {
  return r.divergences.length
    ? "divergent"
    : r.harnessFaults.length || r.setupFailures.length
      ? "harness-fault"
      : "held";
}

export function scenarioOutcome(r: ScenarioReport): VerifyOutcome {
  if (r.setupFailure !== null || r.harnessFault) return "harness-fault";
  if (r.steps.some((s) => s.differences.length)) return "divergent";
  return r.outside >= 0 ? "not-modelled" : "held";
}

/** A campaign as `capgate verify --fuzz --json` prints it. */
export function campaignJson(r: FuzzCampaignResult, booted: boolean): Record<string, unknown> {
  const profile = r.profile;
  return {
    ...profileFields(profile),
    ...(booted && { booted: r.release }),
    seed: r.seed,
    trials: r.trials,
    steps: r.steps,
    divergences: r.divergences.length,
    harnessFaults: r.harnessFaults.length,
    setupFailures: r.setupFailures.length,
    uidChanges: r.everyId,
    kernelMs: Math.round(r.kernelMs),
    totalMs: r.totalMs,
    trialsPerSecond: Math.round(r.trials / (r.totalMs / 1000)),
    stepsPerSecond: Math.round(r.steps / (r.kernelMs / 1000)),
    differingOps: differingOps(r.divergences),
    first: r.divergences[0] ? describeDivergence(r.divergences[0], profile) : null,
    firstHarnessFault: r.harnessFaults[0] ? describeHarnessFault(r.harnessFaults[0], profile) : null,
  };
}

/** A scenario run as `capgate verify FILE --json` prints it. */
export function scenarioReportJson(r: ScenarioReport, booted: boolean): Record<string, unknown> {
  return {
    ...profileFields(r.profile),
    ...(booted && { booted: r.release }),
    steps: r.steps.map(({ verdict: x, kernel: k, differences }) => ({
      op: x.op.op,
      engine: {
        modelled: x.modelled,
        ok: x.modelled ? x.ok : null,
        ret: x.modelled ? x.ret : null,
        errno: x.errno,
        rule: x.rule,
      },
      kernel: { ret: k.ret, errno: errnoName(k.errno) },
      agree: x.modelled ? differences.length === 0 : null,
      differences,
    })),
    agree: r.agree,
    modelled: r.outside < 0,
    ...(r.harnessFault && { harnessFault: { rerun: r.harnessFault.rerun } }),
  };
}
