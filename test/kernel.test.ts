// Differential tests against the real kernel: the engine's verdict for every step must be the
// kernel's. They run in throwaway threads of native/capfuzz inside a new user namespace; the
// test runner's own capabilities are never touched. Under CI=true they must run, not skip.
import { prctlHandling } from "../src/kernel/profiles.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { kernelProfile, type KernelProfile } from "../src/kernel/profiles.js";
import { childNamespace } from "../src/userns.js";
import { why, skip } from "../fixtures/kernel-gate.js";
import {
  compareTrials,
  describeDivergence,
  describeHarnessFault,
  runFuzzCampaign,
  runningKernel,
} from "../verify/campaign.js";
import { compareStep } from "../src/compare.js";
import { runOnKernel, runOnKernelAsync, type Trial } from "../verify/runner.js";
import { threadState, stateProblem } from "../src/state.js";
import { PRCTL } from "../src/kernel/constants.js";
import { CapSet } from "../src/capabilities/set.js";
import { simulate, simulateSequence } from "../src/simulate.js";
import { trialArb, runnerMapsAllIds } from "../verify/trials.js";
import { readFileSync } from "node:fs";

const profile = kernelProfile(process.env["CAPGATE_KERNEL"] ?? "6.18");
const TRIALS = Number(process.env["CAPGATE_KERNEL_TRIALS"] ?? 20000);
const uids = runnerMapsAllIds();
/** The engine's and this kernel's answers for these trials, compared. */
const runCampaign = (trials: readonly Trial[], p: KernelProfile) => compareTrials(trials, runOnKernel(trials), p);

test("this machine's kernel is the one the default profile models", { skip }, () => {
  const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
  assert.equal(lastCap, profile.lastCap, "CAP_LAST_CAP of this kernel");
});

test(
  "a trial in a process of its own whose answer outgrows a pipe (300 steps) completes and agrees",
  { skip, timeout: 30_000 },
  () => {
    const state = threadState({ ns: childNamespace({ uidMap: [[0, 0, 1]], gidMap: [[0, 0, 1]] }) });
    const ops = Array.from({ length: 300 }, (_, i) =>
      i % 2 ? { op: "capget" as const } : { op: "prctl" as const, option: PRCTL.PR_CAPBSET_DROP, arg2: (i >> 1) % 41 },
    );
    const r = runCampaign([{ state, ops }], profile);
    assert.deepEqual([r.setupFailures.length, r.divergences.length, r.steps], [0, 0, 300]);
  },
);

test(
  "runOnKernelAsync (a runner working while the caller makes the next batch) answers as runOnKernel does",
  { skip },
  async () => {
    const trials = fc.sample(trialArb(profile, { maxSteps: 12, uids }), { numRuns: 300, seed: 13 });
    const pending = runOnKernelAsync(trials);
    const blocking = runOnKernel(trials);
    assert.deepEqual(await pending, blocking);
    await assert.rejects(
      runOnKernelAsync([{ state: { ...threadState(), ns: { ...childNamespace({}), level: 2 } }, ops: [] }]),
      /at most one user namespace down/,
    );
  },
);

test(
  `engine and kernel agree on every step of ${TRIALS} random trials (seeded)`,
  { skip, timeout: 240_000 },
  async () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    // steps of the v2 kinds, counted as they are generated (each ran unless an earlier step diverged)
    const v2 = {
      nosuid: 0,
      script: 0,
      gidCalls: 0,
      setgroups: 0,
      setgidFiles: 0,
      ptraced: 0,
      unshare: 0,
      nsStarts: 0,
      tasks: 0,
    };
    const GID_CALLS = new Set(["setgid", "setegid", "setregid", "setresgid", "setfsgid"]);
    const count = (batch: readonly Trial[]) => {
      for (const t of batch) {
        if (t.state.ns) v2.nsStarts++;
        for (const op of t.ops) {
          if (op.op === "execve") {
            if (op.file.interpreter) v2.script++;
            if ((op.file.interpreter ?? op.file).nosuid) v2.nosuid++;
            if ((op.file.interpreter ?? op.file).setgid) v2.setgidFiles++;
            if (op.ptraced) v2.ptraced++;
          }
          if (GID_CALLS.has(op.op)) v2.gidCalls++;
          if (op.op === "setgroups") v2.setgroups++;
          if (op.op === "unshare") v2.unshare++;
          if (op.op === "capget" && op.target) v2.tasks++;
        }
      }
    };
    // the campaign `capgate verify --fuzz` runs, with 4 trials to a start state (the runner sets
    // a state up once for them); a divergence is reported only once its reproducer repeats it
    const r = await runFuzzCampaign({
      profile,
      trials: TRIALS,
      seed: Number(process.env["CAPGATE_SEED"] ?? 20261122),
      side: runningKernel(),
      perState: 4,
      onBatch: count,
    });
    console.log(
      `# kernel differential (an execve ends ~25% of trials, and stands mid-sequence in others): ${r.trials} trials, ${r.steps} steps, ${(r.steps / (r.kernelMs / 1000)).toFixed(0)} steps/s, ${(r.trials / (r.kernelMs / 1000)).toFixed(0)} trials/s on the kernel side; uid changes ${uids ? "included" : "left out (not root)"}; execs of #! scripts ${v2.script}, of files on a nosuid mount ${v2.nosuid}, of set-gid files ${v2.setgidFiles}, under a tracer ${v2.ptraced}; setgid-family calls ${v2.gidCalls}, setgroups ${v2.setgroups}, unshare ${v2.unshare}; trials starting in a child user namespace ${v2.nsStarts}; capget of real sibling tasks ${v2.tasks}`,
    );
    if (r.setupFailures.length)
      assert.fail(
        `the runner could not reach a start state (stage ${r.setupFailures[0]!.stage}): ${JSON.stringify(r.setupFailures[0]!.trial.state)}`,
      );
    if (r.divergences.length) assert.fail(describeDivergence(r.divergences[0]!, profile));
    if (r.harnessFaults.length) assert.fail(describeHarnessFault(r.harnessFaults[0]!, profile));
    assert.equal(r.trials, TRIALS);
    assert.ok(v2.script > 100 && v2.nosuid > 100, "the campaign covers scripts and nosuid mounts");
    if (uids)
      for (const [kind, n] of Object.entries(v2))
        assert.ok(n > 100, `the campaign covers ${kind} (${n} steps or trials)`);
  },
);

test("the differential notices a wrong model (the 4.2 profile, which has no ambient set)", { skip }, () => {
  assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
  // start states a 4.2 thread can be in too (no capability above 37, no ambient set), so that the
  // two models differ in their answers, not in what they accept
  const old = kernelProfile("4.2");
  const trials = fc.sample(trialArb(old, { uids }), { numRuns: 400, seed: 7 });
  const right = runCampaign(trials, profile);
  assert.equal(right.divergences.length, 0);
  const wrong = runCampaign(trials, old);
  assert.ok(wrong.divergences.length > 0, "a model without ambient must disagree with this kernel");
  assert.ok(wrong.divergences.some((d) => d.engine.rule === "prctl.option-unknown"));
  assert.match(
    describeDivergence(wrong.divergences[0]!, kernelProfile("4.2")),
    /reproduce with `capgate simulate FILE`/,
  );
});

test(
  "the differential notices the other exec set-id rule (6.12's new euid vs old real uid, or 6.17's new euid vs old euid)",
  { skip },
  () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    assert.ok(uids, "needs uid changes (root) to reach euid != ruid states");
    const [major, minor] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map(Number) as [
      number,
      number,
    ];
    const here = kernelProfile(`${major}.${minor}`);
    // The profile with the other rule: whichever side of the change this kernel is on, the control must differ.
    const other = kernelProfile(here.features.execIdChanged ? "6.12" : "6.18");
    const trials = fc
      .sample(trialArb(here, { uids, execRate: 1 }), { numRuns: 1500, seed: 11 })
      .filter((t) => stateProblem(t.state, other) === null);
    assert.equal(runCampaign(trials, here).divergences.length, 0, `the ${here.version} profile agrees on execve`);
    // (the profiles also differ in the EXEC securebits of 6.14, so some prctl steps differ too)
    const onExec = runCampaign(trials, other).divergences.filter((d) => d.trial.ops[d.step]!.op === "execve");
    assert.ok(onExec.length > 0, `${other.version}'s exec rule must differ from this kernel's`);
    assert.ok(
      onExec.some((d) => d.differences.some((x) => /^(euid|ambient|AT_SECURE)/.test(x))),
      "in the set-id decision",
    );
  },
);

test(
  "every prctl option number, with zero arguments, from full and from empty sets: where the engine answers, the kernel agrees; it answers every number no kernel has",
  { skip },
  () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    const options = [...Array.from({ length: 101 }, (_, i) => i), 0x59616d61, 0x53564d41, 0x41555856, -1];
    const starts = [
      threadState({ uid: 0 }, profile),
      threadState({ uid: 0, permitted: CapSet.EMPTY, effective: CapSet.EMPTY }, profile),
    ];
    // one trial per option: a prctl with zero arguments, then a read of keep-caps (the thread is
    // still there and still itself)
    const trials = starts.flatMap((state) =>
      options.map((option) => ({
        state,
        ops: [
          { op: "prctl" as const, option, arg2: 0 },
          { op: "prctl" as const, option: 7, arg2: 0 },
        ],
      })),
    );
    const r = runCampaign(trials, profile);
    assert.deepEqual(r.setupFailures, []);
    assert.deepEqual(
      r.divergences.map((d) => describeDivergence(d, profile).split("\n")[0]),
      [],
      "no divergence where the engine answers",
    );
    // the engine answered (as the kernel) for exactly the modelled options and the unknown numbers
    const answered = options.filter(
      (option) => simulate(starts[1]!, { op: "prctl", option, arg2: 0 }, { kernel: profile }).modelled,
    );
    assert.ok(answered.includes(0) && answered.includes(100) && answered.includes(-1));
    // numbers between options, and other architectures' options (EINVAL on x86-64): answered too
    assert.ok(answered.includes(17) && answered.includes(48) && answered.includes(50) && answered.includes(74));
    // PR_RSEQ_SLICE_EXTENSION (79) arrived in 7.0: this kernel's profile answers it only before
    assert.equal(answered.includes(79), prctlHandling(profile, 79) === "unknown");
    assert.ok(answered.includes(57) && answered.includes(35), "the CAP_SYS_RESOURCE checks, without it");
    assert.ok(!answered.includes(3) && !answered.includes(0x59616d61), "PR_GET_DUMPABLE, PR_SET_PTRACER: outside");
    // the trials cut at a step outside the model are exactly those the engine does not answer
    assert.equal(
      r.notModelled,
      trials.filter((t) => !simulate(t.state, t.ops[0]!, { kernel: profile }).modelled).length,
    );
  },
);

test(
  "the differential notices a model that ignores nosuid mounts (the runner's files really are on one)",
  { skip },
  () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    const state = threadState({ uid: 1000, permitted: CapSet.EMPTY, effective: CapSet.EMPTY }, profile);
    const files = [
      { caps: { permitted: CapSet.of(13), inheritable: CapSet.EMPTY, effective: true }, nosuid: true },
      { setuid: true, owner: 0, nosuid: true },
    ];
    const trials = files.map((file) => ({ state, ops: [{ op: "execve" as const, file }] }));
    const right = runCampaign(trials, profile);
    assert.deepEqual([right.divergences.length, right.setupFailures.length, right.steps], [0, 0, 2]);
    // the same kernel answers against a model that reads the files as if nosuid were not there
    const blind = trials.map((t) => ({
      ...t,
      ops: t.ops.map((op) => ({ ...op, file: { ...op.file, nosuid: false } })),
    }));
    const verdicts = blind.map((t) => simulateSequence(t.state, t.ops, { kernel: profile })[0]!);
    assert.ok(verdicts[0]!.state.permitted.has(13), "blind, the caps would be granted");
    assert.equal(verdicts[1]!.state.euid, 0, "blind, the setuid bit would be honoured");
    const wrong = runCampaign(blind, profile);
    assert.equal(wrong.divergences.length, 0, "on an ordinary mount the kernel grants them too");
    // so what the nosuid trials measured is the mount flag: the kernel granted nothing there
    const k = runOnKernel(trials);
    assert.deepEqual(
      k.map((r) => [r.steps[0]!.state.permitted.isEmpty, r.steps[0]!.state.euid]),
      [
        [true, 1000],
        [true, 1000],
      ],
    );
  },
);

test(
  "#! scripts: the kernel takes the credentials from the interpreter, and the differential notices a model that reads the script's own bits",
  { skip },
  () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    const state = threadState({ uid: 1000, permitted: CapSet.EMPTY, effective: CapSet.EMPTY }, profile);
    const script = {
      setuid: true,
      owner: 0,
      caps: { permitted: CapSet.of(13), inheritable: CapSet.EMPTY, effective: true },
    };
    const interpreters = [{}, { caps: { permitted: CapSet.of(12), inheritable: CapSet.EMPTY, effective: true } }];
    const trials = interpreters.map((interpreter) => ({
      state,
      ops: [{ op: "execve" as const, file: { ...script, interpreter } }],
    }));
    const right = runCampaign(trials, profile);
    assert.deepEqual([right.divergences.length, right.setupFailures.length, right.steps], [0, 0, 2]);
    // the kernel's answers against a model that takes the script for the program
    const kernel = runOnKernel(trials);
    const blind = trials.map((t, i) => {
      const v = simulateSequence(t.state, [{ op: "execve", file: script }], { kernel: profile })[0]!;
      return compareStep(v, kernel[i]!.steps[0]!);
    });
    assert.ok(
      blind.every((d) => d.length > 0),
      "reading the script's setuid bit and capabilities disagrees with the kernel",
    );
    assert.deepEqual(
      kernel.map((k) => [k.steps[0]!.state.euid, k.steps[0]!.state.permitted.names()]),
      [
        [1000, []],
        [1000, ["CAP_NET_ADMIN"]],
      ],
    );
  },
);

test(
  "controls for the v2 rules: models that ignore in_group_p, the user namespace, the tracer, set-gid bits, unshare or the other task each disagree with the kernel",
  { skip },
  () => {
    assert.equal(why, null, `the kernel runner must run under CI: ${why}`);
    assert.ok(uids, "needs other ids (root) for gids, groups and namespaces");
    const NET_BIND = 10,
      NET_RAW = 13;
    const ambientUser = threadState(
      {
        uid: 1000,
        gid: 1000,
        groups: [27],
        permitted: CapSet.of(NET_BIND),
        effective: CapSet.EMPTY,
        inheritable: CapSet.of(NET_BIND),
        ambient: CapSet.of(NET_BIND),
      },
      profile,
    );
    const rootless = threadState(
      { ns: childNamespace({ uidMap: [[0, 1000, 1]], gidMap: [[0, 1000, 1]], setgroups: "deny" }) },
      profile,
    );
    const user = threadState({ uid: 1000, gid: 1000, permitted: CapSet.EMPTY, effective: CapSet.EMPTY }, profile);
    const fcaps = { caps: { permitted: CapSet.of(NET_RAW), inheritable: CapSet.EMPTY, effective: true } };
    const cases: Array<{
      name: string;
      trials: Trial[];
      blind: (t: Trial) => { trial: Trial; kernel?: KernelProfile };
    }> = [
      {
        name: "in_group_p (a set-gid file of a supplementary group keeps ambient on 6.17+)",
        trials: [{ state: ambientUser, ops: [{ op: "execve", file: { setgid: true, group: 27 } }] }],
        blind: (t) => ({ trial: t, kernel: kernelProfile("6.12") }),
      },
      {
        name: "the user namespace (uid 1000 is not mapped in a rootless container)",
        trials: [{ state: rootless, ops: [{ op: "setuid", uid: 1000 }] }],
        blind: (t) => ({ trial: { ...t, state: { ...t.state, ns: null } } }),
      },
      {
        name: "the tracer (file capabilities are cut under ptrace)",
        trials: [{ state: user, ops: [{ op: "execve", ptraced: true, file: fcaps }] }],
        blind: (t) => ({ trial: { ...t, ops: [{ op: "execve", file: fcaps }] } }),
      },
      {
        name: "set-gid bits (the egid becomes the file's group)",
        trials: [{ state: user, ops: [{ op: "execve", file: { setgid: true, group: 5 } }] }],
        blind: (t) => ({ trial: { ...t, ops: [{ op: "execve", file: { group: 5 } }] } }),
      },
      {
        name: "unshare (every capability over the new namespace)",
        trials: [{ state: user, ops: [{ op: "unshare", uidMap: [[0, 1000, 1]], gidMap: [[0, 1000, 1]] }] }],
        blind: (t) => ({ trial: { ...t, ops: [{ op: "capget" }] } }),
      },
      {
        name: "the other task (capget reads a real process with these sets)",
        trials: [
          {
            state: user,
            ops: [
              {
                op: "capget",
                pid: 4242,
                target: { effective: CapSet.of(NET_RAW), permitted: CapSet.of(NET_RAW), inheritable: CapSet.EMPTY },
              },
            ],
          },
        ],
        blind: (t) => ({
          trial: {
            ...t,
            ops: [
              {
                op: "capget",
                pid: 4242,
                target: { effective: CapSet.EMPTY, permitted: CapSet.of(NET_RAW), inheritable: CapSet.EMPTY },
              },
            ],
          },
        }),
      },
    ];
    for (const c of cases) {
      const right = runCampaign(c.trials, profile);
      assert.deepEqual([right.divergences.length, right.setupFailures.length], [0, 0], `${c.name}: the model agrees`);
      // the kernel's own answers, against the blind model
      const kernel = runOnKernel(c.trials);
      const differences = c.trials.flatMap((t, i) => {
        const b = c.blind(t);
        const v = simulateSequence(b.trial.state, b.trial.ops, { kernel: b.kernel ?? profile });
        return compareStep(v[0]!, kernel[i]!.steps[0]!);
      });
      assert.ok(differences.length > 0, `${c.name}: a model without the rule disagrees with the kernel`);
    }
  },
);
