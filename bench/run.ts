// npm run bench: throughput of the engine, printed as a table and written to bench/results/.
// Not a test: numbers, not pass/fail. Each figure is the best of several timed rounds.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { preflightCapset, simulate, kernelProfile, CapsetCheckBatch, type Op, type ThreadState } from "../src/index.js";
import { referenceCapsetCheck } from "../src/reference.js";
import { referenceCapsetCheckWords } from "../src/reference.js";
import { engine, words, allocate, release } from "../src/engine/wasm.js";
import { writeState, encodeOp } from "../src/engine/codec.js";
import { STATE_SIZE, OP_SIZE, RESULT_SIZE, CHECK_SIZE } from "../src/engine/contract.js";
import { threadStateArb, capsetOpArb, prctlOpArb, uidOpArb, execveOpArb } from "../src/fuzz/arbitraries.js";

const profile = kernelProfile();
const quick = process.argv.includes("--quick");
const ROUND_MS = quick ? 150 : 400;
const ROUNDS = quick ? 3 : 5;

/** Runs `body` (which does `per` operations) repeatedly for ROUND_MS per round; best ns/op. */
function measure(per: number, body: () => void): { nsPerOp: number; opsPerSec: number } {
  for (let i = 0; i < 3; i++) body(); // warm-up
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    const budget = BigInt(ROUND_MS) * 1_000_000n;
    while (elapsed < budget) {
      body();
      ops += per;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / ops);
  }
  return { nsPerOp: best, opsPerSec: 1e9 / best };
}

const seed = 42;
// states of the initial namespace, the common case (and the one measured before namespaces)
const states: ThreadState[] = fc.sample(threadStateArb(profile, { userns: false }), { numRuns: 1024, seed });
const capsets = states.map((s, i) => fc.sample(capsetOpArb(s, profile), { numRuns: 1, seed: seed + i })[0]!) as Array<
  Extract<Op, { op: "capset" }>
>;
const requests = capsets.map((op, i) => ({
  effective: (op.effective ?? states[i]!.effective).intersect(profile.all),
  permitted: (op.permitted ?? states[i]!.permitted).intersect(profile.all),
  inheritable: (op.inheritable ?? states[i]!.inheritable).intersect(profile.all),
}));
const N = states.length,
  MASK = N - 1;

const results: Record<string, { nsPerOp: number; opsPerSec: number; note: string }> = {};
const record = (name: string, r: { nsPerOp: number; opsPerSec: number }, note: string) => {
  results[name] = { ...r, note };
};

// 1. Single pre-flight through the public API (state object in, Verdict out).
{
  let i = 0,
    sink = 0;
  record(
    "preflightCapset, 1024 random pairs",
    measure(4096, () => {
      for (let k = 0; k < 4096; k++) {
        const j = i++ & MASK;
        sink += preflightCapset(states[j]!, requests[j]!).ok ? 1 : 0;
      }
    }),
    "one capset pre-flight: marshal state + request, one wasm call, Verdict object",
  );
  if (sink < 0) console.log(sink);
}
// 1a. A program pre-flighting its own capset: the same state and request each time.
{
  // a successful pre-flight that leaves ambient alone (the common case)
  const state = states.find((s, j) => {
    const v = preflightCapset(s, requests[j]!);
    return v.ok && v.noteBits === 0;
  })!;
  const request = requests[states.indexOf(state)]!;
  let sink = 0;
  record(
    "preflightCapset, one state repeated",
    measure(4096, () => {
      for (let k = 0; k < 4096; k++) sink += preflightCapset(state, request).ok ? 1 : 0;
    }),
    "the same pre-flight again and again (branch predictors warm)",
  );
  if (sink < 0) console.log(sink);
}
// 1b. The same, reading the message too (what an explaining caller pays).
{
  let i = 0,
    sink = 0;
  record(
    "preflightCapset + message",
    measure(2048, () => {
      for (let k = 0; k < 2048; k++) {
        const j = i++ & MASK;
        sink += preflightCapset(states[j]!, requests[j]!).message.length;
      }
    }),
    "as above, and the explanation sentence is built",
  );
  if (sink < 0) console.log(sink);
}

// 2. Batch checks resident in wasm.
const BATCH = 4096;
const batch = new CapsetCheckBatch(BATCH);
for (let k = 0; k < BATCH; k++) batch.set(k, states[k & MASK]!, requests[(k * 7) & MASK]!);
record(
  "capset checks, batch resident in wasm",
  measure(BATCH, () => {
    batch.run();
  }),
  `${BATCH} records of the four cap_capset checks per call`,
);

// 3. Baselines: the same four checks in plain TypeScript, on the same data.
const copy = new Uint32Array(words().buffer.slice(batch.wordOffset * 4, batch.wordOffset * 4 + BATCH * CHECK_SIZE));
{
  const out = new Uint8Array(BATCH);
  record(
    "baseline: plain TS on u32 words",
    measure(BATCH, () => {
      for (let k = 0; k < BATCH; k++) out[k] = referenceCapsetCheckWords(copy, k * (CHECK_SIZE >>> 2));
    }),
    "hand-written TypeScript, same records, same memory layout",
  );
}
{
  let sink = 0;
  record(
    "baseline: plain TS on CapSet objects",
    measure(4096, () => {
      for (let k = 0; k < 4096; k++) {
        const j = k & MASK;
        sink += referenceCapsetCheck(states[j]!, requests[j]!).length;
      }
    }),
    "the idiomatic TypeScript version (src/reference.ts)",
  );
  if (sink < 0) console.log(sink);
}

// 4. Every op kind: single calls through simulate(), and raw batches in wasm.
const kinds: Array<[string, (s: ThreadState) => fc.Arbitrary<Op>]> = [
  ["capset", (s) => capsetOpArb(s, profile)],
  ["capget", () => fc.constant({ op: "capget" as const })],
  ["prctl", (s) => prctlOpArb(s, profile)],
  ["set*uid", (s) => uidOpArb(s)],
  ["execve", () => execveOpArb(profile)],
];
for (const [kind, arb] of kinds) {
  const ops = states.map((s, i) => fc.sample(arb(s), { numRuns: 1, seed: seed + 7 * i })[0]!);
  let i = 0,
    sink = 0;
  record(
    `simulate ${kind} (public API)`,
    measure(2048, () => {
      for (let k = 0; k < 2048; k++) {
        const j = i++ & MASK;
        sink += simulate(states[j]!, ops[j]!).ret;
      }
    }),
    "single call with Verdict",
  );
  if (sink === 0.5) console.log(sink);
  // the general batch entry point, records resident in wasm memory
  const inBytes = N * (STATE_SIZE + OP_SIZE);
  const base = allocate(inBytes + N * (RESULT_SIZE + STATE_SIZE));
  const w = words();
  states.forEach((s, j) => {
    const at = (base >>> 2) + j * ((STATE_SIZE + OP_SIZE) >>> 2);
    writeState(w, at, s);
    encodeOp(w, at + (STATE_SIZE >>> 2), ops[j]!, s);
  });
  record(
    `batch ${kind} (in wasm)`,
    measure(N, () => {
      engine.evaluateBatch(profile.word, base, base + inBytes, N);
    }),
    "full evaluation: result + new state per record",
  );
  release(base);
}

// 5. The kernel side of the differential tests: trials (sequences) and steps per second.
{
  const { runnerUnavailable, runOnKernel } = await import("../verify/runner.js");
  const { trialGroupArb, runnerMapsAllIds } = await import("../verify/trials.js");
  const why = runnerUnavailable();
  if (why) console.log(`(kernel figures skipped: ${why})`);
  else {
    const cases = [
      ["no execve, up to 12 steps, 4 per start state", 0, 12, 4],
      ["no execve, initial namespace only: no unshare, no start state in a child namespace", 0, 12, 4, false],
      ["execve: ends 25% of trials, mid-sequence in ~35%, 4 per start state", 0.25, 12, 4],
      ["verify --fuzz's mix: up to 12 steps, execve as above, a fresh start state each", 0.25, 12, 1],
      ["one step per trial, 8 per start state", 0, 1, 8],
      ["one step per trial, a fresh start state each", 0, 1, 1],
      ["one step per trial, a fresh start state each, initial namespace only", 0, 1, 1, false],
    ] as const;
    for (const [label, execRate, maxSteps, perState, userns] of cases) {
      const options = { uids: runnerMapsAllIds(), execRate, maxSteps, perState, ...(userns === false && { userns }) };
      const groups = fc.sample(trialGroupArb(profile, options), {
        numRuns: (quick ? 2000 : 8000) / perState,
        seed: 9,
      });
      const sample = groups.flat();
      const steps = sample.reduce((n, t) => n + t.ops.length, 0);
      let best = Infinity;
      for (let r = 0; r < (quick ? 1 : 3); r++) {
        const t0 = process.hrtime.bigint();
        runOnKernel(sample);
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      }
      record(
        `kernel trials (${label})`,
        { nsPerOp: (best * 1e6) / sample.length, opsPerSec: sample.length / (best / 1000) },
        `${(steps / (best / 1000) / 1000).toFixed(1)} k steps/s; each step read back from the kernel`,
      );
    }
  }
}

// 5b. capgate verify --fuzz end to end, as a user runs it: trials made (fast-check), run on the
// kernel (the runner works on one batch while the next is made) and compared with the engine.
let campaign: { trials: number; trialsPerSecond: number; divergences: number } | undefined;
{
  const { runnerUnavailable } = await import("../verify/runner.js");
  const { spawnSync } = await import("node:child_process");
  if (!runnerUnavailable()) {
    const trials = quick ? 4000 : 20000;
    const cli = new URL("../src/cli/main.js", import.meta.url).pathname;
    const r = spawnSync(
      process.execPath,
      [cli, "verify", "--fuzz", "--trials", String(trials), "--seed", "9", "--json"],
      { encoding: "utf8" },
    );
    if (r.status === 0) {
      const j = JSON.parse(r.stdout) as { trials: number; trialsPerSecond: number; divergences: number };
      campaign = { trials: j.trials, trialsPerSecond: j.trialsPerSecond, divergences: j.divergences };
      record(
        `capgate verify --fuzz --trials ${trials}, end to end`,
        { nsPerOp: 1e9 / j.trialsPerSecond, opsPerSec: j.trialsPerSecond },
        `${j.divergences} divergences; a million trials in ${(1e6 / j.trialsPerSecond / 60).toFixed(1)} min`,
      );
    } else console.log(`(verify --fuzz failed: ${r.stderr.trim()})`);
  }
}

// 6. capgate watch: the cost of one look at every thread, with 500 extra processes running.
let watchCpu: { perLookMs: number; percentAt200ms: number; firstSecondsPercent: number; processes: number } | undefined;
{
  const { Poller } = await import("../src/watch/poller.js");
  const { spawn } = await import("node:child_process");
  const { readdirSync, readFileSync } = await import("node:fs");
  const sleepers = Array.from({ length: 500 }, () => spawn("sleep", ["120"], { stdio: "ignore" }));
  await new Promise((r) => setTimeout(r, 500));
  const processes = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).length;
  const poller = new Poller(null);
  poller.poll(); // the first look opens a descriptor per task
  // the first 5 s (25 looks): every process every look
  const busy0 = process.cpuUsage();
  for (let k = 0; k < 24; k++) poller.poll();
  const busy = process.cpuUsage(busy0);
  const busyMs = (busy.user + busy.system) / 1000 / 24;
  // then the steady state: quiet processes every other look
  for (let k = 0; k < 6; k++) poller.poll();
  const looks = quick ? 20 : 60;
  const cpu0 = process.cpuUsage(),
    t0 = process.hrtime.bigint();
  for (let k = 0; k < looks; k++) poller.poll();
  const cpu = process.cpuUsage(cpu0),
    wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  poller.close();
  // for comparison: reading every status file by path, as the watcher did before
  const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const r0 = process.cpuUsage();
  for (const p of pids) {
    try {
      readFileSync(`/proc/${p}/status`, "utf8");
    } catch {
      /* gone */
    }
  }
  const readUs = (process.cpuUsage(r0).user + process.cpuUsage(r0).system) / pids.length;
  for (const c of sleepers) c.kill();
  const perLookMs = (cpu.user + cpu.system) / 1000 / looks;
  watchCpu = {
    perLookMs,
    percentAt200ms: (perLookMs / 200) * 100,
    firstSecondsPercent: (busyMs / 200) * 100,
    processes,
  };
  record(
    `watch --all: one look at every thread (${processes} processes)`,
    { nsPerOp: (perLookMs * 1e6) / processes, opsPerSec: processes / (perLookMs / 1000) },
    `steady: ${perLookMs.toFixed(2)} ms CPU a look, ${((perLookMs / 200) * 100).toFixed(1)}% of a core at the default 200 ms (wall ${(wallMs / looks).toFixed(2)} ms); the first 5 s ${busyMs.toFixed(2)} ms, ${((busyMs / 200) * 100).toFixed(1)}%; reading a status file by path: ${readUs.toFixed(1)} µs`,
  );
}

// 7. Every kernel npm run verify:kernels has cached: boot under qemu plus 2,000 trials of the
// default mix, the unit of the eleven-kernel matrix (--no-kernels leaves it out).
const booted: Array<{ release: string; seconds: number; divergences: number }> = [];
if (!process.argv.includes("--no-kernels")) {
  const { bootUnavailable, bootedKernel, openKernelImage } = await import("../verify/boot.js");
  const { runFuzzCampaign } = await import("../verify/campaign.js");
  const { releaseProfile } = await import("../src/kernel/profiles.js");
  const cache = join(process.env["CAPGATE_KERNELS"] || join(homedir(), ".cache", "capgate", "kernels"), "images");
  const images = existsSync(cache)
    ? readdirSync(cache)
        .map((d) => join(cache, d, "vmlinuz"))
        .filter((f) => existsSync(f))
    : [];
  const why = bootUnavailable();
  if (why || !images.length)
    console.error(`bench: no booted kernels (${why ?? `no images in ${cache}: run npm run verify:kernels first`})`);
  const trials = quick ? 300 : 2000;
  const seen = new Set<string>();
  for (const path of images) {
    if (why) break;
    const image = openKernelImage(path);
    // one boot a release (the cache may hold a kernel's signed and unsigned packages)
    if (seen.has(image.release ?? path)) continue;
    seen.add(image.release ?? path);
    const profile = (image.release && releaseProfile(image.release)) || kernelProfile();
    const t0 = Date.now();
    const r = await runFuzzCampaign({ profile, trials, seed: 20261128, side: bootedKernel(image) });
    const seconds = (Date.now() - t0) / 1000;
    booted.push({ release: image.release ?? path, seconds, divergences: r.divergences.length });
    record(
      `boot + ${trials} trials: ${image.release}`,
      { nsPerOp: (seconds * 1e9) / trials, opsPerSec: trials / seconds },
      `${seconds.toFixed(1)} s (${r.divergences.length} divergences)`,
    );
  }
}

// 8. capgate verify --container: containers predicted and run for real, per runtime (root;
// --no-containers leaves it out). The figure is whole trials: build nothing, run one container,
// read its credentials, compare.
const containers: Array<{ runtime: string; trialsPerSecond: number; divergences: number }> = [];
if (!process.argv.includes("--no-containers")) {
  const { runContainerCampaign } = await import("../verify/container.js");
  const { currentProfile } = await import("../shim/thread-state.js");
  for (const runtime of ["runc", "docker"] as const) {
    try {
      const trials = runtime === "runc" ? (quick ? 50 : 200) : quick ? 20 : 60;
      const r = await runContainerCampaign({ runtime, trials, seed: 20261208, profile: currentProfile() });
      // the lab's set-up (compiling the reporter, images, a dockerd) is inside r.seconds
      const perSecond = r.trials / r.seconds;
      containers.push({ runtime, trialsPerSecond: Number(perSecond.toFixed(1)), divergences: r.divergences.length });
      record(
        `verify --container --runtime ${runtime}`,
        { nsPerOp: (r.seconds * 1e9) / r.trials, opsPerSec: perSecond },
        `${perSecond.toFixed(1)} containers/s end to end (${r.trials} trials, set-up included; ${r.divergences.length} divergences)`,
      );
    } catch (e) {
      console.error(`bench: no ${runtime} figures (${(e as Error).message.split("\n")[0]})`);
    }
  }
}

const rows = Object.entries(results).map(([name, r]) => [
  name,
  r.nsPerOp.toFixed(r.nsPerOp < 10 ? 2 : 1),
  (r.opsPerSec / 1e6).toFixed(r.opsPerSec < 1e7 ? 2 : 1),
  r.note,
]);
const width = rows.reduce((m, r) => r.map((c, i) => Math.max(m[i] ?? 0, c.length)), [] as number[]);
const header = ["benchmark", "ns/op", "M ops/s", "what"];
console.log(
  [header, ...rows]
    .map((r) =>
      r
        .map((c, i) =>
          i === 3
            ? c
            : i === 0
              ? c.padEnd(Math.max(width[i]!, header[i]!.length))
              : c.padStart(Math.max(width[i]!, header[i]!.length)),
        )
        .join("  "),
    )
    .join("\n"),
);

const single = results["preflightCapset, one state repeated"]!.nsPerOp;
const singleRandom = results["preflightCapset, 1024 random pairs"]!.nsPerOp;
const batchRate = results["capset checks, batch resident in wasm"]!.opsPerSec;
const baseline = results["baseline: plain TS on u32 words"]!.opsPerSec;
const fresh = results["kernel trials (one step per trial, a fresh start state each, initial namespace only)"];
const freshMix = results["kernel trials (one step per trial, a fresh start state each)"];
if (campaign && fresh && freshMix)
  console.log(
    `\nkernel differential (issue 13): verify --fuzz ${campaign.trialsPerSecond} trials/s end to end (was 185; goal 1,100); ` +
      `one-step trials from fresh start states ${Math.round(fresh.opsPerSec)}/s in the initial namespace, ${Math.round(freshMix.opsPerSec)}/s with the namespace mix (was 6.0k/s before namespaces were modelled; goal 20k/s)`,
  );
if (booted.length)
  console.log(
    `\nbooted kernels: ${booted.length}, boot + ${quick ? 300 : 2000} trials each, ${booted.reduce((t, b) => t + b.seconds, 0).toFixed(0)} s in all (goal for the eleven: under 600 s)`,
  );
console.log(
  `\ntargets: single pre-flight ${single.toFixed(1)} ns repeated, ${singleRandom.toFixed(1)} ns over random pairs (target <= 50), batch ${(batchRate / 1e6).toFixed(0)} M checks/s (target >= 300); batch is ${(batchRate / baseline).toFixed(2)}x the hand-written TS baseline`,
);

const out = {
  node: process.version,
  date: new Date().toISOString(),
  kernelProfile: profile.version,
  quick,
  results,
  watchCpu,
  campaign,
  containers,
};
mkdirSync(new URL("../../bench/results/", import.meta.url), { recursive: true });
writeFileSync(new URL("../../bench/results/latest.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
console.log("written to bench/results/latest.json");
