// Differential verification: the same trials on the engine and on the kernel, step by step.
import { simulateSequence, type Verdict } from "../src/simulate.js";
import { ERRNO_NUMBERS, ERRNO_NAMES } from "../src/kernel/constants.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import { describeOp } from "../src/formats/describe.js";
import { toScenario } from "../src/scenario/emit.js";
import { diffStates, shownIds, type ThreadState } from "../src/state.js";
import { CapSet } from "../src/capabilities/set.js";
import { runOnKernel, type Trial, type KernelStep, type KernelTrial } from "./kernel-runner.js";

export interface Divergence {
  readonly trial: Trial;
  /** The first step where engine and kernel disagree. */
  readonly step: number;
  readonly differences: readonly string[];
  readonly engine: Verdict;
  readonly kernel: KernelStep;
}

/**
 * What differs between the engine's verdict and the kernel's answer for one step. The header
 * version and capget data are compared when the kernel side supplies them (the runner does;
 * shim.apply reads back only the return value, errno and state). `engine` names the engine's
 * side in the messages.
 */
export function compareStep(
  v: Verdict,
  k: Pick<KernelStep, "ret" | "errno" | "state"> & Partial<Pick<KernelStep, "version" | "data" | "secure">>,
  engine = "engine",
): string[] {
  const d: string[] = [];
  if (v.ret !== k.ret) d.push(`return value: ${engine} ${v.ret}, kernel ${k.ret}`);
  const errno = v.errno === null ? 0 : ERRNO_NUMBERS[v.errno]!;
  if (errno !== k.errno)
    d.push(
      `errno: ${engine} ${v.errno ?? "none"}, kernel ${k.errno === 0 ? "none" : (ERRNO_NAMES[k.errno] ?? k.errno)}`,
    );
  if ((v.op.op === "capget" || v.op.op === "capset") && k.version !== undefined && v.version !== k.version) {
    d.push(`header version: ${engine} 0x${v.version?.toString(16)}, kernel 0x${k.version.toString(16)}`);
  }
  if ("data" in k) {
    if (v.data && k.data) {
      for (const f of ["effective", "permitted", "inheritable"] as const) {
        if (!v.data[f].equals(k.data[f]))
          d.push(`capget data.${f}: ${engine} ${v.data[f].toHex()}, kernel ${k.data[f].toHex()}`);
      }
    } else if (Boolean(v.data) !== Boolean(k.data))
      d.push(`capget data: ${engine} ${v.data ? "copied" : "none"}, kernel ${k.data ? "copied" : "none"}`);
  }
  if (v.op.op === "execve" && v.ok && k.secure !== undefined && v.secureExec !== k.secure)
    d.push(`AT_SECURE: ${engine} ${v.secureExec}, kernel ${k.secure}`);
  for (const c of diffStates(asShown(v.state), asShown(k.state))) {
    const show = (x: unknown) => (x instanceof CapSet ? x.toHex() : Array.isArray(x) ? `[${x.join(",")}]` : String(x));
    d.push(`${c.field}: ${engine} ${show(c.before)}, kernel ${show(c.after)}`);
  }
  return d;
}

/**
 * A state as the thread itself sees it, which is what the kernel can be asked: unmapped ids as
 * the overflow id. The user namespace is compared through its effects (these ids, the errors of
 * set*id calls, the capabilities of a new namespace), not as a record.
 */
function asShown(s: ThreadState): ThreadState {
  return { ...s, ...shownIds(s), ns: null };
}

export interface CampaignResult {
  readonly trials: number;
  readonly steps: number;
  readonly divergences: readonly Divergence[];
  /** Trials whose start state the kernel could not be brought to (a runner defect if not 0). */
  readonly setupFailures: readonly { trial: Trial; stage: number }[];
  /** Trials cut at a step outside the model (nothing to compare from there; the arbitraries make none). */
  readonly notModelled: number;
  readonly kernelMs: number;
}

/**
 * Runs the trials on both and collects every divergence (the first step of each trial). `run`
 * is the kernel side: this machine's kernel by default, or a booted one (shim/boot.ts).
 */
export function runCampaign(
  trials: readonly Trial[],
  profile: KernelProfile,
  run: (trials: readonly Trial[]) => readonly KernelTrial[] = runOnKernel,
): CampaignResult {
  const start = process.hrtime.bigint();
  const kernel = run(trials);
  return compareCampaign(trials, kernel, profile, Number(process.hrtime.bigint() - start) / 1e6);
}

/** The engine's side of runCampaign, given the kernel's answers (taken in `kernelMs`). */
export function compareCampaign(
  trials: readonly Trial[],
  kernel: readonly KernelTrial[],
  profile: KernelProfile,
  kernelMs: number,
): CampaignResult {
  const divergences: Divergence[] = [];
  const setupFailures: { trial: Trial; stage: number }[] = [];
  let steps = 0,
    notModelled = 0;
  trials.forEach((trial, i) => {
    const k = kernel[i]!;
    if (k.setup !== 0) {
      setupFailures.push({ trial, stage: k.setup });
      return;
    }
    const verdicts = simulateSequence(trial.state, trial.ops, { kernel: profile });
    for (let s = 0; s < verdicts.length; s++) {
      if (!verdicts[s]!.modelled) {
        notModelled++;
        break;
      }
      steps++;
      const differences = compareStep(verdicts[s]!, k.steps[s]!);
      if (differences.length) {
        divergences.push({ trial, step: s, differences, engine: verdicts[s]!, kernel: k.steps[s]! });
        break;
      }
    }
  });
  return { trials: trials.length, steps, divergences, setupFailures, notModelled, kernelMs };
}

/** A human report of one divergence, with a scenario that reproduces it. */
export function describeDivergence(d: Divergence, profile: KernelProfile): string {
  const ops = d.trial.ops.slice(0, d.step + 1);
  const scenario = toScenario(
    profile.version,
    d.trial.state as ThreadState,
    ops,
    "reproducer found by capgate's differential test",
  );
  return [
    `engine and kernel disagree at step ${d.step + 1} (${describeOp(d.trial.ops[d.step]!)}); engine rule ${d.engine.rule}:`,
    ...d.differences.map((x) => `  ${x}`),
    "reproduce with `capgate simulate FILE` on:",
    JSON.stringify(scenario, null, 2),
  ].join("\n");
}
