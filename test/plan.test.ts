import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CapSet, kernelProfile, simulateSequence, threadState, type Op } from "../src/index.js";
import { plan } from "../src/plan/planner.js";
import { unmet, type PlanTarget } from "../src/plan/target.js";
import { threadStateArb, opArb, capSetArb } from "../src/fuzz/arbitraries.js";

const profile = kernelProfile();
const small = fc
  .uniqueArray(fc.integer({ min: 0, max: profile.lastCap }), { maxLength: 3 })
  .map((c) => CapSet.of(...c));
const targetArb: fc.Arbitrary<PlanTarget> = fc
  .record({
    uid: fc.constantFrom(0, 1000),
    want: small,
    bounding: fc.option(
      fc.oneof(
        small.map((s) => ({ exclude: s })),
        capSetArb(profile).map((s) => ({ exactly: s })),
      ),
      { nil: undefined },
    ),
    noNewPrivs: fc.option(fc.constant(true), { nil: undefined }),
    cannotRegain: fc.boolean(),
    fileCaps: fc.option(
      fc.record({ permitted: small, inheritable: fc.constant(CapSet.EMPTY), effective: fc.boolean() }),
      { nil: undefined, freq: 4 },
    ),
  })
  .map((t) => ({
    uid: t.uid,
    permitted: { exactly: t.want },
    effective: { exactly: t.want },
    ...(t.bounding && { bounding: t.bounding }),
    ...(t.noNewPrivs && { noNewPrivs: true }),
    ...(t.cannotRegain && { cannotRegain: true }),
    ...(t.fileCaps && { file: { caps: t.fileCaps } }),
  }));

test("the examples of the issue: a web server, a backup job, a Tracee-style set-up", () => {
  const root = threadState();
  const web = plan(root, { uid: 1000, permitted: { exactly: CapSet.of(10) }, effective: { exactly: CapSet.of(10) } });
  assert.ok(web.ok);
  assert.deepEqual(
    web.steps.map((s) => s.verdict.rule),
    ["capset.ok", "keepcaps.set", "setuid.ok", "ambient.raise", "execve.ok"],
  );
  const tracee = plan(root, {
    permitted: { exactly: CapSet.of(12, 38, 39) },
    effective: { exactly: CapSet.of(12, 38, 39) },
    bounding: { exactly: CapSet.of(12, 38, 39) },
    cannotRegain: true,
  });
  assert.ok(tracee.ok);
  assert.equal(tracee.final.bounding.toHex(), CapSet.of(12, 38, 39).toHex());
  const noway = plan(threadState({ uid: 1000, permitted: CapSet.EMPTY, effective: CapSet.EMPTY }), {
    permitted: { include: CapSet.of(21) },
  });
  assert.equal(noway.ok, false);
  assert.match((noway as { reasons: readonly string[] }).reasons[0]!, /CAP_SYS_ADMIN is not permitted now/);
  const nobounding = plan(
    threadState({
      bounding: profile.all.without(21),
      permitted: profile.all.without(21),
      effective: profile.all.without(21),
    }),
    { uid: 1000, permitted: { include: CapSet.of(21) } },
  );
  assert.match(
    (nobounding as { reasons: readonly string[] }).reasons[0]!,
    /CAP_SYS_ADMIN is not permitted and not in the bounding set/,
  );
});

test("every plan found, replayed on the engine, meets its target; every step succeeds", () => {
  let found = 0,
    impossible = 0;
  fc.assert(
    fc.property(threadStateArb(profile), targetArb, (start, target) => {
      const p = plan(start, target, { maxStates: 3000 });
      if (!p.ok) {
        impossible++;
        return;
      }
      found++;
      const replay = simulateSequence(
        start,
        p.steps.map((s) => s.verdict.op),
      );
      assert.ok(
        replay.every((v) => v.ok),
        "every planned call succeeds",
      );
      assert.deepEqual(unmet(target, replay[replay.length - 1]!.state), []);
      assert.equal(p.steps[p.steps.length - 1]!.verdict.op.op, "execve");
    }),
    { numRuns: 300, seed: 77 },
  );
  assert.ok(found > 20 && impossible > 20, `found ${found}, impossible ${impossible}: both kinds must be exercised`);
});

test("where the planner says impossible, a bounded random search finds no counter-example", () => {
  let checked = 0;
  fc.assert(
    fc.property(threadStateArb(profile), targetArb, fc.integer(), (start, target, seed) => {
      const p = plan(start, target, { maxStates: 3000 });
      if (p.ok) return;
      checked++;
      const exec: Op = { op: "execve", file: target.file ?? {} };
      for (const ops of fc.sample(
        fc.array(
          opArb(start, profile).filter((op) => op.op !== "execve"),
          { maxLength: 8 },
        ),
        { numRuns: 60, seed },
      )) {
        const v = simulateSequence(start, [...ops, exec]);
        if (!v.every((x) => x.ok)) continue;
        assert.notDeepEqual(unmet(target, v[v.length - 1]!.state), [], `counter-example: ${JSON.stringify(ops)}`);
      }
    }),
    { numRuns: 200, seed: 78 },
  );
  assert.ok(checked > 20);
});
