// CLI commands that read or run on the real kernel: show and verify. They import the shim
// lazily, so the engine-only commands never load ffi-rs.
import { readFileSync } from "node:fs";
import { InputError } from "../parse/errors.js";
import { kernelProfile } from "../kernel/profiles.js";
import { CapSet } from "../capabilities/set.js";
import { securebitNames } from "../kernel/constants.js";
import { loadScenario } from "./simulate.js";
import { describeOp } from "./describe.js";
import { style, table } from "./style.js";
import { UsageError } from "./errors.js";

/** The libcap text of a thread's three sets, as getpcaps and capsh --print show it. */
export function capText(permitted: CapSet, effective: CapSet, inheritable: CapSet): string {
  // Group capabilities by their flag combination, libcap-style ("cap_a,cap_b=ep cap_c+i").
  const groups = new Map<string, number[]>();
  for (let cap = 0; cap < 64; cap++) {
    const flags = (effective.has(cap) ? "e" : "") + (inheritable.has(cap) ? "i" : "") + (permitted.has(cap) ? "p" : "");
    if (!flags) continue;
    groups.set(flags, [...(groups.get(flags) ?? []), cap]);
  }
  if (!groups.size) return "=";
  return [...groups.entries()].map(([flags, caps]) => `${new CapSet(0, 0).with(...caps).names().map((n) => n.toLowerCase()).join(",")}=${flags}`).join(" ");
}

export async function showCommand(pid: string | undefined, opts: { json?: boolean }): Promise<number> {
  const { parseStatus } = await import("../../shim/thread-state.js");
  const target = pid ?? "self";
  if (pid !== undefined && !/^\d+$/.test(pid)) throw new UsageError(`PID must be a number, got ${JSON.stringify(pid)}`);
  let text: string;
  try {
    text = readFileSync(`/proc/${target}/status`, "utf8");
  } catch {
    throw new InputError(`/proc/${target}/status`, pid ? `no process ${pid}` : "cannot read");
  }
  const s = parseStatus(text);
  let securebits: number | null = null;
  if (pid === undefined) {
    const { prctl } = await import("../../shim/libc.js");
    securebits = prctl(27).ret >>> 0;
  }
  const caps = capText(s.permitted, s.effective, s.inheritable);
  if (opts.json) {
    process.stdout.write(JSON.stringify({
      pid: pid === undefined ? process.pid : Number(pid), name: s.name, caps, permitted: s.permitted.toHex(), effective: s.effective.toHex(),
      inheritable: s.inheritable.toHex(), bounding: s.bounding.toHex(), ambient: s.ambient.toHex(), securebits,
      noNewPrivs: s.noNewPrivs, ruid: s.ruid, euid: s.euid, suid: s.suid, fsuid: s.fsuid,
    }, null, 2) + "\n");
    return 0;
  }
  const rows = [
    ["pid", `${pid ?? process.pid} (${s.name})`],
    ["capabilities", caps],
    ["bounding", s.bounding.size === 41 ? "all" : s.bounding.names().map((n) => n.toLowerCase()).join(",") || "none"],
    ["ambient", s.ambient.names().map((n) => n.toLowerCase()).join(",") || "none"],
    ["securebits", securebits === null ? "(only for the calling process)" : `0x${securebits.toString(16)}${securebits ? ` (${securebitNames(securebits).join(", ")})` : ""}`],
    ["no_new_privs", s.noNewPrivs ? "1" : "0"],
    ["uid", `${s.ruid} ${s.euid} ${s.suid} ${s.fsuid} (real, effective, saved, fs)`],
  ];
  process.stdout.write(table(rows.map(([k, v]) => [style.dim(k!), v!])) + "\n");
  return 0;
}

export async function verifyCommand(file: string | undefined, opts: { json?: boolean; fuzz?: boolean; trials?: string; seed?: string; kernel?: string }): Promise<number> {
  const { runnerUnavailable } = await import("../../shim/kernel-runner.js");
  const { runCampaign, describeDivergence, compareStep } = await import("../../shim/differential.js");
  const { trialArb, runnerMapsAllIds } = await import("../../shim/trials.js");
  const { currentProfile } = await import("../../shim/thread-state.js");
  const why = runnerUnavailable();
  if (why) throw new UsageError(`cannot run on the kernel here: ${why}`);
  if (opts.fuzz) {
    const profile = opts.kernel ? kernelProfile(opts.kernel) : currentProfile();
    if (file) throw new UsageError("give either a scenario FILE or --fuzz, not both");
    const trials = opts.trials === undefined ? 5000 : Number(opts.trials);
    const seed = opts.seed === undefined ? Date.now() % 2 ** 31 : Number(opts.seed);
    if (!Number.isInteger(trials) || trials < 1 || trials > 10_000_000) throw new UsageError(`--trials must be an integer from 1 to 10000000, got ${opts.trials}`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${opts.seed}`);
    const uids = runnerMapsAllIds();
    const { default: fc } = await import("fast-check");
    const start = Date.now();
    const sample = fc.sample(trialArb(profile, { uids, maxSteps: 12 }), { numRuns: trials, seed });
    const r = runCampaign(sample, profile);
    // Which ops differ, by op and rule, so a user on another kernel sees the shape of it.
    const byOp = new Map<string, number>();
    for (const d of r.divergences) {
      const key = `${d.trial.ops[d.step]!.op} (${d.engine.rule})`;
      byOp.set(key, (byOp.get(key) ?? 0) + 1);
    }
    const summary = {
      kernel: profile.version, seed, trials: r.trials, steps: r.steps, divergences: r.divergences.length, setupFailures: r.setupFailures.length,
      uidChanges: uids, kernelMs: Math.round(r.kernelMs), totalMs: Date.now() - start,
      stepsPerSecond: Math.round(r.steps / (r.kernelMs / 1000)), differingOps: Object.fromEntries(byOp),
      first: r.divergences[0] ? describeDivergence(r.divergences[0], profile) : null,
    };
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else {
      process.stdout.write(`${r.trials} trials (${r.steps} steps) on kernel ${profile.version}, seed ${seed}: ${r.divergences.length ? style.red(`${r.divergences.length} disagree`) : style.green("the model held on every step")}` +
        ` (${summary.stepsPerSecond} steps/s${uids ? "" : "; uid changes left out: not root"})\n`);
      for (const [op, n] of byOp) process.stdout.write(`  ${op}: ${n}\n`);
      if (summary.first) process.stdout.write(summary.first + "\n");
    }
    return r.divergences.length || r.setupFailures.length ? 1 : 0;
  }

  if (!file) throw new UsageError("verify needs a scenario FILE, or --fuzz");
  const scenario = loadScenario(file, opts.kernel);
  const { runnerSupports, runOnKernel } = await import("../../shim/kernel-runner.js");
  const ops = scenario.steps.map((s) => s.op);
  const cut = ops.findIndex((op, i) => !runnerSupports(op, i, ops.length));
  if (cut >= 0) throw new UsageError(`${file}: step ${cut + 1} (${ops[cut]!.op}) cannot run on the kernel here: an execve must be the last step, with a v2 or v3 xattr`);
  const kernel = runOnKernel([{ state: scenario.state, ops }])[0]!;
  if (kernel.setup !== 0) throw new UsageError(`${file}: the kernel could not be brought to the scenario's start state (stage ${kernel.setup})`);
  const { simulateSequence } = await import("../simulate.js");
  const verdicts = simulateSequence(scenario.state, ops, { kernel: scenario.profile });
  const rows: string[][] = [[style.dim("#"), style.dim("call"), style.dim("engine"), style.dim("kernel"), style.dim("agree")]];
  const report: unknown[] = [];
  let disagree = 0;
  verdicts.forEach((v, i) => {
    const k = kernel.steps[i]!;
    const diff = compareStep(v, k);
    if (diff.length) disagree++;
    const kernelText = k.ret === -1 ? `errno ${k.errno}` : `ok${k.ret ? ` → ${k.ret}` : ""}`;
    rows.push([String(i + 1), describeOp(v.op), v.ok ? `ok${v.ret ? ` → ${v.ret}` : ""}` : `${v.errno} (${v.rule})`, kernelText, diff.length ? style.red(diff.join("; ")) : style.green("yes")]);
    report.push({ op: v.op.op, engine: { ok: v.ok, ret: v.ret, errno: v.errno, rule: v.rule }, kernel: { ret: k.ret, errno: k.errno }, agree: diff.length === 0, differences: diff });
  });
  if (opts.json) process.stdout.write(JSON.stringify({ kernel: scenario.profile.version, steps: report, agree: disagree === 0 }, null, 2) + "\n");
  else process.stdout.write(`${style.bold(file)} on the running kernel (model: ${scenario.profile.version})\n\n${table(rows)}\n\n${disagree ? style.red(`${disagree} step(s) disagree`) : style.green("engine and kernel agree on every step")}\n`);
  return disagree ? 1 : 0;
}
