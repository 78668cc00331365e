// capgate verify: the flags, the kernel side they choose, and the rendering. What it decides
// (the campaign, the comparison, whether a divergence is a fact) is verify/'s, reachable from
// the library as `capgate/verify`; this file is loaded only for this command.
import { profileText } from "../kernel/profiles.js";
import { noteProfile } from "./profile.js";
import { terminalSafe } from "./escape.js";
import { EXIT_NOT_MODELLED, loadScenario } from "./simulate.js";
import { kernelArg } from "./args.js";
import { describeOp, outcomeText } from "../formats/describe.js";
import { errnoName } from "../kernel/errno-text.js";
import { releaseProfile, type KernelProfile } from "../kernel/profiles.js";
import { style, table } from "./style.js";
import { UsageError } from "./errors.js";
import { CapgateSystemError } from "../errors.js";

/** Exit statuses of verify beyond 0 (agree), 1 (a divergence its reproducer repeated), 2 (bad input) and 3 (outside the model). */
export const EXIT_HARNESS_FAULT = 4;

/** The exit status of each outcome (verify/campaign.ts's VerifyOutcome). */
const STATUS = {
  held: 0,
  divergent: 1,
  "not-modelled": EXIT_NOT_MODELLED,
  "harness-fault": EXIT_HARNESS_FAULT,
} as const;

export interface VerifyOptions {
  json?: boolean;
  fuzz?: boolean;
  trials?: string;
  seed?: string;
  kernel?: string;
  boot?: string;
  cc?: string;
  qemu?: string;
  container?: boolean;
  runtime?: string;
}

type Verify = typeof import("../../verify/index.js");

/** The profile of a booted kernel's release, as bad input when there is none. */
function bootedProfile(release: string): KernelProfile {
  try {
    const profile = releaseProfile(release);
    if (profile) return profile;
  } catch (e) {
    throw new UsageError(`kernel ${release}: ${(e as Error).message}`);
  }
  throw new UsageError(`cannot tell the version of kernel ${JSON.stringify(release)}`);
}

/** Ends an interrupted run cleanly: its runners and guests killed, its private files removed. */
function onInterrupt(v: Verify): () => void {
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) => {
    const handler = () => {
      v.abandonRuns();
      v.abandonBoots();
      process.stderr.write(`\ncapgate: verify interrupted (${signal}); its runners and files are gone\n`);
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.off(signal, handler));
}

export async function verifyCommand(file: string | undefined, opts: VerifyOptions): Promise<number> {
  if (opts.runtime !== undefined && !opts.container) throw new UsageError("--runtime goes with --container");
  if (opts.container) return containers(file, opts);
  const v = await import("../../verify/index.js");
  const { currentProfile } = await import("../../shim/thread-state.js");
  if (opts.fuzz && file) throw new UsageError("give either a scenario FILE or --fuzz, not both");
  if (!opts.fuzz && !file) throw new UsageError("verify needs a scenario FILE, or --fuzz");
  if (opts.qemu !== undefined && opts.boot === undefined) throw new UsageError("--qemu goes with --boot");
  v.setCompiler(opts.cc);
  // The kernel side: this machine's kernel, or one booted under qemu (--boot IMAGE).
  let side: import("../../verify/index.js").KernelSide;
  let bootProfile: KernelProfile | null = null;
  if (opts.boot !== undefined) {
    let image;
    try {
      image = v.openKernelImage(opts.boot);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!image.release)
      throw new UsageError(`${opts.boot}: not a bootable x86 kernel image (bzImage): no setup header names a version`);
    bootProfile = bootedProfile(image.release);
    const why = v.bootUnavailable(opts.qemu);
    if (why) throw new UsageError(`cannot boot ${opts.boot}: ${why}`);
    side = v.bootedKernel(image, { ...(opts.qemu !== undefined && { qemu: opts.qemu }) });
  } else {
    const why = v.runnerUnavailable();
    if (why) throw new UsageError(`cannot run on the kernel here: ${why}`);
    side = v.runningKernel();
  }
  const stop = onInterrupt(v);
  try {
    return opts.fuzz
      ? await fuzz(v, side, opts, bootProfile, currentProfile)
      : await scenario(v, side, file ?? "", opts, bootProfile); // (checked above: a FILE without --fuzz)
  } catch (e) {
    if (e instanceof v.BootFailure) {
      process.stderr.write(`capgate: ${terminalSafe(e.message)}\n`);
      return e.exitStatus;
    }
    throw e;
  } finally {
    stop();
  }
}

async function fuzz(
  v: Verify,
  side: import("../../verify/index.js").KernelSide,
  opts: VerifyOptions,
  bootProfile: KernelProfile | null,
  currentProfile: () => KernelProfile,
): Promise<number> {
  const profile = noteProfile(opts.kernel ? kernelArg(opts.kernel) : (bootProfile ?? currentProfile()));
  const trials = trialsArg(opts.trials, 5000, 10_000_000);
  const seed = seedArg(opts.seed);
  const progress = process.stderr.isTTY === true && !opts.json;
  const r = await v.runFuzzCampaign({
    profile,
    trials,
    seed,
    side,
    onProgress: progress
      ? ({ done, total, divergent, elapsedMs }) => {
          const rate = done / (elapsedMs / 1000);
          process.stderr.write(
            `\r\x1b[K  ${done}/${total} trials, ${rate.toFixed(0)} trials/s, ${divergent} divergent, ~${Math.ceil((total - done) / rate)} s left`,
          );
        }
      : undefined,
  });
  if (progress) process.stderr.write("\r\x1b[K");
  const booted = opts.boot !== undefined;
  const summary = v.campaignJson(r, booted);
  const status = STATUS[v.campaignOutcome(r)];
  if (opts.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    return status;
  }
  // a trial whose start state could not be reached proves nothing: never "held"
  const failed = r.setupFailures[0];
  const verdict = r.divergences.length
    ? style.red(`${r.divergences.length} disagree (each repeated by its reproducer)`)
    : r.harnessFaults.length
      ? style.red(
          `${r.harnessFaults.length} disagreement(s) that their reproducers did not repeat: a fault of the test harness, not of the model`,
        )
      : failed
        ? style.red(
            `${r.setupFailures.length} could not be brought to their start state (the first at: ${v.setupStageText(failed.stage)})`,
          )
        : style.green("the model held on every step");
  const where = booted
    ? `on the booted kernel ${r.release} (profile ${profile.version}${profile.newerThanProfile ? ", the newest" : ""})`
    : `on kernel ${profileText(profile)}`;
  process.stdout.write(
    `${r.trials} trials (${r.steps} steps) ${where}, seed ${seed}: ${verdict}` +
      ` (${String(summary["trialsPerSecond"])} trials/s${r.everyId ? "" : "; uid changes left out: not root over every id"})\n`,
  );
  for (const [op, n] of Object.entries(v.differingOps(r.divergences))) process.stdout.write(`  ${op}: ${n}\n`);
  if (r.divergences[0]) process.stdout.write(v.describeDivergence(r.divergences[0], profile) + "\n");
  else if (r.harnessFaults[0]) process.stdout.write(v.describeHarnessFault(r.harnessFaults[0], profile) + "\n");
  return status;
}

async function scenario(
  v: Verify,
  side: import("../../verify/index.js").KernelSide,
  file: string,
  opts: VerifyOptions,
  bootProfile: KernelProfile | null,
): Promise<number> {
  const s = loadScenario(file, opts.kernel ?? bootProfile?.version);
  noteProfile(s.profile);
  const problem = v.scenarioProblem(s, side.everyId);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  const r = await v.verifyScenario(s, side);
  if (r.setupFailure !== null) {
    const { runnerGroups } = await import("../../verify/index.js");
    throw new CapgateSystemError(
      `${file}: the kernel could not be brought to the scenario's start state (${v.setupStageText(r.setupFailure)})` +
        (side.everyId
          ? ""
          : r.setupFailure === 10
            ? `: a normal user cannot change supplementary groups there (setgroups is denied); give "groups": ${JSON.stringify(runnerGroups())} in the state, or run as root`
            : ": as a normal user the throwaway namespace maps only uid 0; run capgate verify as root for other uids and gids"),
      2,
    );
  }
  const disagree = r.steps.filter((s) => s.differences.length).length;
  const where = r.release ? `on the booted kernel ${r.release}` : "on the running kernel";
  if (opts.json) process.stdout.write(JSON.stringify(v.scenarioReportJson(r, opts.boot !== undefined), null, 2) + "\n");
  else {
    const rows: string[][] = [
      [style.dim("#"), style.dim("call"), style.dim("engine"), style.dim("kernel"), style.dim("agree")],
    ];
    r.steps.forEach(({ verdict: x, kernel: k, differences }, i) =>
      rows.push([
        String(i + 1),
        describeOp(x.op),
        x.ok ? outcomeText(x) : `${outcomeText(x)} (${x.rule})`,
        k.ret === -1 ? `${errnoName(k.errno)}` : `ok${k.ret ? ` → ${k.ret}` : ""}`,
        !x.modelled ? style.yellow("—") : differences.length ? style.red(differences.join("; ")) : style.green("yes"),
      ]),
    );
    process.stdout.write(
      `${style.bold(terminalSafe(file))} ${where} (model: ${profileText(s.profile)})\n\n${table(rows)}\n\n${
        r.harnessFault
          ? style.red(
              `${disagree} step(s) disagreed, but not when the scenario ran again: a fault of the test harness, not of the model`,
            )
          : disagree
            ? style.red(`${disagree} step(s) disagree (the same on a second run)`)
            : r.outside >= 0
              ? style.yellow(
                  `engine and kernel agree up to step ${r.outside + 1}, which is outside the model (nothing after it is compared)`,
                )
              : style.green("engine and kernel agree on every step")
      }\n`,
    );
  }
  if (disagree && !side.everyId && !r.harnessFault)
    process.stderr.write(
      "capgate: note: as a normal user the throwaway namespace maps only uid 0 and gid 0, so calls to other ids fail there with EINVAL; run capgate verify as root to check them\n",
    );
  return STATUS[v.scenarioOutcome(r)];
}

/** verify --container: random container specs run by runc or a private dockerd, compared with the prediction. */
async function containers(file: string | undefined, opts: VerifyOptions): Promise<number> {
  if (file || opts.fuzz || opts.boot !== undefined)
    throw new UsageError("--container runs its own random container specs: no FILE, --fuzz or --boot");
  const runtime = opts.runtime ?? "runc";
  if (runtime !== "runc" && runtime !== "docker")
    throw new UsageError(`--runtime must be runc or docker, got ${JSON.stringify(runtime)}`);
  const trials = trialsArg(opts.trials, runtime === "runc" ? 300 : 60, 1_000_000);
  const seed = seedArg(opts.seed);
  const { currentProfile } = await import("../../shim/thread-state.js");
  const profile = noteProfile(opts.kernel ? kernelArg(opts.kernel) : currentProfile());
  const c = await import("../../verify/container.js");
  const progress = process.stderr.isTTY === true && !opts.json;
  const r = await c.runContainerCampaign({
    runtime,
    trials,
    seed,
    profile,
    onProgress: progress ? (done, total) => process.stderr.write(`\r\x1b[K  ${done}/${total} containers`) : undefined,
  });
  if (progress) process.stderr.write("\r\x1b[K");
  if (opts.json) process.stdout.write(JSON.stringify(c.containerCampaignJson(r), null, 2) + "\n");
  else process.stdout.write(c.containerCampaignText(r, terminalSafe) + "\n");
  return r.divergences.length ? 1 : r.faults.length ? EXIT_HARNESS_FAULT : 0;
}

/** --trials: a whole number from 1 to `max` (default `fallback`). */
function trialsArg(text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--trials must be an integer from 1 to ${max}, got ${text}`);
  return n;
}

/** --seed: any safe integer (default: from the clock). */
function seedArg(text: string | undefined): number {
  if (text === undefined) return Date.now() % 2 ** 31;
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`--seed must be an integer, got ${text}`);
  return n;
}
