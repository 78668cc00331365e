// apply() and the Launcher against a fake kernel (fixtures/fake-kernel.ts): the refuse, the
// divergence and the partial-launch paths, without a namespace, root or a real capability change.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { CapSet, threadState, CAP, PRCTL } from "../src/index.js";
import { setSyscaller } from "../shim/libc.js";
import { apply, RefusedByModel, ModelDivergence } from "../shim/apply.js";
import { Launcher, LaunchRefused } from "../shim/launcher.js";
import { FakeKernel } from "../fixtures/fake-kernel.js";
import { decodeResults } from "../verify/runner.js";
import { SP, STEP_SIZE } from "../src/engine/contract.js";

afterEach(() => setSyscaller(null));

const user = () => threadState({ uid: 1000, permitted: CapSet.of(CAP.NET_BIND_SERVICE), effective: CapSet.EMPTY });

test("apply() refuses what the engine says fails, and makes no call", () => {
  const k = new FakeKernel(user());
  setSyscaller(k);
  assert.throws(
    () =>
      apply({
        op: "capset",
        effective: CapSet.EMPTY,
        permitted: CapSet.of(CAP.NET_BIND_SERVICE, CAP.NET_RAW),
        inheritable: CapSet.EMPTY,
      }),
    (e: unknown) => e instanceof RefusedByModel && e.verdict.rule === "capset.permitted-grows" && e.exitStatus === 1,
  );
  assert.ok(!k.calls.includes("capset"), "nothing was done");
});

test("apply() refuses a call outside the model even when forced, and makes no call", () => {
  const k = new FakeKernel(threadState());
  setSyscaller(k);
  assert.throws(
    () => apply({ op: "prctl", option: 4, arg2: 0 }, { force: true }), // PR_SET_DUMPABLE
    (e: unknown) => e instanceof RefusedByModel && e.verdict.rule === "prctl.not-modelled" && !e.verdict.modelled,
  );
  assert.ok(!k.calls.includes("prctl"), "nothing was done");
});

test("apply() makes the call and proves it by reading the state back", () => {
  const k = new FakeKernel(user());
  setSyscaller(k);
  const r = apply({
    op: "capset",
    effective: CapSet.of(CAP.NET_BIND_SERVICE),
    permitted: CapSet.of(CAP.NET_BIND_SERVICE),
    inheritable: CapSet.EMPTY,
  });
  assert.equal(r.verdict.rule, "capset.ok");
  assert.ok(r.after.effective.equals(CapSet.of(CAP.NET_BIND_SERVICE)));
  assert.ok(k.state.effective.equals(CapSet.of(CAP.NET_BIND_SERVICE)));
});

test("apply(): a kernel that answers 0 but changes nothing is a ModelDivergence, with a reproducer", () => {
  const k = new FakeKernel(threadState()).ignore("prctl:24");
  setSyscaller(k);
  assert.throws(
    () => apply({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: CAP.SYS_ADMIN }),
    (e: unknown) => {
      assert.ok(e instanceof ModelDivergence);
      assert.deepEqual(e.differences, ["bounding: predicted 0x1ffffdfffff, kernel 0x1ffffffffff"]);
      assert.equal((e.reproducer as { steps: unknown[] }).steps.length, 1);
      return true;
    },
  );
});

test("apply(): a kernel refusal the engine did not predict (seccomp) is a ModelDivergence with the errno", () => {
  setSyscaller(new FakeKernel(threadState()).refuse("capset", 1));
  assert.throws(
    () => apply({ op: "capset", effective: CapSet.EMPTY, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY }),
    (e: unknown) => e instanceof ModelDivergence && e.kernel.ret === -1 && e.kernel.errno === 1,
  );
});

test("the Launcher plans gid calls first and stops at a refused step, naming what it had applied", () => {
  const k = new FakeKernel(threadState()).refuse("setresuid", 1);
  setSyscaller(k);
  const launcher = new Launcher({
    program: "/bin/true",
    env: {},
    user: "1000",
    group: "1000",
    groups: ["1000", "27"],
    keep: CapSet.of(CAP.NET_BIND_SERVICE),
    ambient: CapSet.of(CAP.NET_BIND_SERVICE),
  });
  const p = launcher.plan();
  assert.ok(p.ok);
  assert.deepEqual(
    p.calls.slice(0, 2).map((c) => c.label),
    ["setgroups 27,1000", "setresgid 1000 1000 1000"],
  );
  assert.deepEqual([p.predicted.ruid, p.gid, p.groups], [1000, 1000, [27, 1000]], "groups as the kernel keeps them");
  assert.throws(
    () => launcher.launch(p),
    (e: unknown) => {
      assert.ok(e instanceof LaunchRefused);
      const step = p.calls.findIndex((c) => c.label.startsWith("setresuid")) + 1;
      assert.equal(e.step, step);
      assert.equal(e.errno, 1);
      assert.equal(e.applied.length, step - 1);
      assert.match(
        e.message,
        new RegExp(
          `^step ${step} \\(setresuid 1000 1000 1000\\) refused by the kernel: EPERM \\(operation not permitted\\); the program was not run; the process is partly changed: steps 1-${step - 1} \\(setgroups 27,1000; setresgid 1000 1000 1000;`,
        ),
      );
      return true;
    },
  );
  assert.deepEqual(
    k.gids,
    { rgid: 1000, egid: 1000, sgid: 1000, groups: [27, 1000] },
    "the gid calls were made and read back",
  );
});

test("the Launcher: a gid call the kernel ignores is caught by the read-back; without CAP_SETGID no plan", () => {
  setSyscaller(new FakeKernel(threadState()).ignore("setgroups"));
  const launcher = new Launcher({ program: "/bin/true", env: {}, groups: ["4"] });
  assert.throws(
    () => launcher.launch(),
    /step 1 \(setgroups 4\) was not what capgate predicted: groups: predicted \[4\], kernel \[\]; the program was not run; the process is unchanged/,
  );
  setSyscaller(new FakeKernel(threadState({ effective: CapSet.EMPTY })));
  const p = new Launcher({ program: "/bin/true", env: {}, groups: ["4"] }).plan();
  assert.deepEqual(p.ok ? [] : p.reasons, [
    "setgroups 4: CAP_SETGID is not in the effective set, which setgroups always requires (raise CAP_SETGID in effective first (it is permitted))",
  ]);
});

test("decodeResults: a trial whose setup failed still takes its step records' room; the next trial reads its own", () => {
  const STEP_WORDS = STEP_SIZE >>> 2;
  const trials = [
    { state: threadState(), ops: [{ op: "capget" as const }, { op: "capget" as const }] },
    {
      state: threadState(),
      ops: [{ op: "capset" as const, effective: CapSet.EMPTY, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY }],
    },
  ];
  // the runner's output: per trial the setup status, the op count, then a record per op
  const w = new Uint32Array(2 + 2 * STEP_WORDS + 2 + STEP_WORDS);
  w.set([10, 2], 0); // setup failed at stage 10; its two records are written all the same
  w[2 + SP.ret] = 0xdeadbeef;
  const second = 2 + 2 * STEP_WORDS;
  w.set([0, 1], second);
  w[second + 2 + SP.ret] = -1 >>> 0;
  w[second + 2 + SP.errno] = 1;
  const [a, b] = decodeResults(Buffer.from(w.buffer), trials);
  assert.deepEqual([a!.setup, a!.steps.length], [10, 0]);
  assert.deepEqual([b!.setup, b!.steps.length, b!.steps[0]!.ret, b!.steps[0]!.errno], [0, 1, -1, 1]);
});
