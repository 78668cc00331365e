import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CapSet,
  simulate,
  preflightCapset,
  simulateBatch,
  simulateSequence,
  kernelProfile,
  CapsetCheckBatch,
  statesEqual,
  stateProblem,
  type ThreadState,
  type Op,
} from "../src/index.js";
import { referenceCapsetCheck } from "../src/reference.js";
import { threadStateArb, capsetOpArb, opArb, scenarioArb, capSetArb } from "../src/fuzz/arbitraries.js";

const profile = kernelProfile();
const runs = Number(process.env["CAPGATE_PROPERTY_RUNS"] ?? 2000);
const params = { numRuns: runs, seed: Number(process.env["CAPGATE_SEED"] ?? 0x5eed) };

const stateAndOp = threadStateArb(profile).chain((state) => opArb(state, profile).map((op) => ({ state, op })));
const stateAndCapset = threadStateArb(profile).chain((state) =>
  capsetOpArb(state, profile).map((op) => ({ state, op })),
);

/** What execve may add to permitted: B ∪ I (root rules), file caps within B ∪ I, ambient ⊆ P ∩ I. */
function execAllowance(before: ThreadState): CapSet {
  return before.bounding.union(before.inheritable);
}

test("a successful capset never grows permitted", () => {
  fc.assert(
    fc.property(stateAndCapset, ({ state, op }) => {
      const v = simulate(state, op);
      if (v.ok) assert.ok(v.state.permitted.isSubsetOf(state.permitted));
    }),
    params,
  );
});

test("after every step effective ⊆ permitted and ambient ⊆ permitted ∩ inheritable", () => {
  fc.assert(
    fc.property(scenarioArb(profile, 10), ({ state, ops }) => {
      for (const v of simulateSequence(state, ops)) {
        assert.equal(stateProblem(v.state, profile), null, `${v.rule}: ${stateProblem(v.state, profile)}`);
      }
    }),
    params,
  );
});

test("a failed step leaves the state unchanged", () => {
  fc.assert(
    fc.property(stateAndOp, ({ state, op }) => {
      const v = simulate(state, op);
      if (!v.ok) {
        assert.equal(v.ret, -1);
        assert.ok(statesEqual(v.state, state));
      }
    }),
    params,
  );
});

test("the capset verdict does not depend on bits above CAP_LAST_CAP", () => {
  const noise = fc.tuple(
    fc.integer({ min: 0, max: 0x7fffff }),
    fc.integer({ min: 0, max: 0x7fffff }),
    fc.integer({ min: 0, max: 0x7fffff }),
  );
  fc.assert(
    fc.property(stateAndCapset, noise, ({ state, op }, [a, b, c]) => {
      if (op.op !== "capset") return;
      const high = (n: number) => new CapSet(0, n << 9); // bits 41..63
      const noisy: Op = {
        ...op,
        effective: (op.effective ?? state.effective).union(high(a)),
        permitted: (op.permitted ?? state.permitted).union(high(b)),
        inheritable: (op.inheritable ?? state.inheritable).union(high(c)),
      };
      const clean: Op = {
        ...op,
        effective: (op.effective ?? state.effective).intersect(profile.all),
        permitted: (op.permitted ?? state.permitted).intersect(profile.all),
        inheritable: (op.inheritable ?? state.inheritable).intersect(profile.all),
      };
      const x = simulate(state, noisy),
        y = simulate(state, clean);
      assert.equal(x.rule, y.rule);
      assert.equal(x.errno, y.errno);
      assert.ok(statesEqual(x.state, y.state));
    }),
    params,
  );
});

test("batch and single-call paths agree on every record", () => {
  fc.assert(
    fc.property(fc.array(stateAndOp, { minLength: 1, maxLength: 64 }), (records) => {
      const batch = simulateBatch(records);
      records.forEach(({ state, op }, i) => {
        const single = simulate(state, op);
        const b = batch[i]!;
        assert.equal(b.rule, single.rule);
        assert.equal(b.ret, single.ret);
        assert.equal(b.errno, single.errno);
        assert.ok(b.fault.equals(single.fault));
        assert.equal(b.noteBits, single.noteBits);
        assert.ok(statesEqual(b.state, single.state));
      });
    }),
    { ...params, numRuns: Math.max(50, runs / 20) },
  );
});

test("the preflightCapset fast path agrees with simulate on everything observable", () => {
  fc.assert(
    fc.property(stateAndCapset, ({ state, op }) => {
      if (op.op !== "capset" || op.data === false) return;
      const request = {
        effective: op.effective,
        permitted: op.permitted,
        inheritable: op.inheritable,
        version: op.version,
        pid: op.pid,
      };
      const fast = preflightCapset(state, request);
      const full = simulate(state, op);
      assert.equal(fast.rule, full.rule);
      assert.equal(fast.ok, full.ok);
      assert.equal(fast.ret, full.ret);
      assert.equal(fast.errno, full.errno);
      assert.equal(fast.version, full.version);
      assert.ok(fast.fault.equals(full.fault));
      assert.ok(fast.aux.equals(full.aux));
      assert.equal(fast.noteBits, full.noteBits);
      assert.ok(statesEqual(fast.state, full.state), "new state");
      assert.equal(fast.message, full.message);
      assert.equal(fast.hint, full.hint);
    }),
    params,
  );
});

test("a sequence equals the same steps run one by one", () => {
  fc.assert(
    fc.property(scenarioArb(profile, 12), ({ state, ops }) => {
      const seq = simulateSequence(state, ops);
      let s = state;
      ops.forEach((op, i) => {
        const v = simulate(s, op);
        assert.equal(seq[i]!.rule, v.rule);
        assert.ok(statesEqual(seq[i]!.state, v.state));
        s = v.state;
      });
    }),
    { ...params, numRuns: Math.max(100, runs / 5) },
  );
});

/** A capset op's three sets (omitted ones from the state), within the profile's capabilities. */
function clampedRequest(state: ThreadState, op: Extract<Op, { op: "capset" }>) {
  return {
    effective: (op.effective ?? state.effective).intersect(profile.all),
    permitted: (op.permitted ?? state.permitted).intersect(profile.all),
    inheritable: (op.inheritable ?? state.inheritable).intersect(profile.all),
  };
}

test("the wasm engine and the plain-TypeScript reference agree on the four capset checks", () => {
  const batch = new CapsetCheckBatch(256);
  fc.assert(
    fc.property(fc.array(stateAndCapset, { minLength: 1, maxLength: 256 }), (records) => {
      records.forEach(({ state, op }, i) => {
        if (op.op !== "capset") return;
        const req = clampedRequest(state, op);
        batch.set(i, state, req);
      });
      batch.setCount(records.length);
      batch.run();
      records.forEach(({ state, op }, i) => {
        if (op.op !== "capset") return;
        const req = clampedRequest(state, op);
        const expected = referenceCapsetCheck(state, req);
        assert.equal(batch.rule(i), expected);
        // and the full evaluator, for V3 self-targeted calls, says the same
        const full = simulate(state, { op: "capset", ...req });
        assert.equal(full.rule, expected);
      });
    }),
    { ...params, numRuns: Math.max(50, runs / 20) },
  );
});

test("every CapsetCheckBatch owns its records: two batches filled and run interleaved, with simulateBatch between, agree with the single-call pre-flight", async () => {
  const { regionBytesInUse } = await import("../src/engine/wasm.js");
  const inUse = regionBytesInUse();
  const request = (state: ThreadState, op: Op) => (op.op !== "capset" ? null : clampedRequest(state, op));
  fc.assert(
    fc.property(
      fc.array(stateAndCapset, { minLength: 1, maxLength: 64 }),
      fc.array(stateAndCapset, { minLength: 1, maxLength: 64 }),
      (left, right) => {
        const a = new CapsetCheckBatch(64),
          b = new CapsetCheckBatch(64);
        try {
          const fill = (batch: CapsetCheckBatch, records: typeof left, i: number) => {
            const r = records[i]!,
              req = request(r.state, r.op) ?? {
                effective: r.state.effective,
                permitted: r.state.permitted,
                inheritable: r.state.inheritable,
              };
            batch.set(i, r.state, req);
          };
          for (let i = 0; i < Math.max(left.length, right.length); i++) {
            if (i < left.length) fill(a, left, i);
            if (i < right.length) fill(b, right, i);
          }
          a.run();
          simulateBatch(right.map(({ state, op }) => ({ state, op })));
          b.run();
          a.run();
          for (const [batch, records] of [
            [a, left],
            [b, right],
          ] as const) {
            records.forEach(({ state, op }, i) => {
              const req = request(state, op) ?? {
                effective: state.effective,
                permitted: state.permitted,
                inheritable: state.inheritable,
              };
              assert.equal(batch.rule(i), preflightCapset(state, req).rule, `record ${i}`);
            });
          }
        } finally {
          a.dispose();
          b.dispose();
        }
      },
    ),
    { ...params, numRuns: Math.max(50, runs / 20) },
  );
  assert.equal(regionBytesInUse(), inUse, "every region is given back");
  const gone = new CapsetCheckBatch(1);
  gone.dispose();
  assert.throws(() => gone.run(), /disposed/);
});

// unshare(CLONE_NEWUSER) starts over in a new namespace: every capability, securebits 0.
const newNamespace = (v: { op: Op; ok: boolean }) => v.op.op === "unshare" && v.ok;

test("bounding never grows and locked securebits never change within a user namespace, over any sequence", () => {
  fc.assert(
    fc.property(scenarioArb(profile, 12), ({ state, ops }) => {
      let s = state;
      for (const v of simulateSequence(state, ops)) {
        if (newNamespace(v)) {
          // from 7.3 the creator keeps the exec securebits and their locks (SECURE_ALL_UNPRIVILEGED)
          const kept = profile.features.usernsExecSecurebits ? s.securebits & 0xf00 : 0;
          assert.ok(v.state.bounding.equals(profile.all), "a new namespace starts with a full bounding set");
          assert.equal(v.state.securebits, kept, "a new namespace resets securebits (7.3: but the exec bits)");
          s = v.state;
          continue;
        }
        assert.ok(v.state.bounding.isSubsetOf(s.bounding), `bounding grew at ${v.rule}`);
        const locks = s.securebits & 0xaaa;
        const lockedValues = locks >>> 1;
        assert.equal(v.state.securebits & locks, locks, `a lock was cleared at ${v.rule}`);
        // execve clears KEEP_CAPS even when it is locked: the one sanctioned change.
        const mask = lockedValues & ~(v.op.op === "execve" ? 0x10 : 0);
        assert.equal(v.state.securebits & mask, s.securebits & mask, `a locked bit changed at ${v.rule}`);
        s = v.state;
      }
    }),
    params,
  );
});

test("no sequence grows permitted except through execve (or into a new user namespace), and execve only within bounding ∪ inheritable ∪ permitted", () => {
  fc.assert(
    fc.property(scenarioArb(profile, 12), ({ state, ops }) => {
      let s = state;
      for (const v of simulateSequence(state, ops)) {
        if (newNamespace(v)) {
          s = v.state;
          continue;
        }
        const grown = v.state.permitted.difference(s.permitted);
        if (v.op.op !== "execve") assert.ok(grown.isEmpty, `${v.rule} grew permitted by ${grown.toString()}`);
        else assert.ok(grown.isSubsetOf(execAllowance(s)), `execve granted ${grown.toString()} outside B ∪ I`);
        if (s.noNewPrivs && v.op.op === "execve") assert.ok(grown.isEmpty, "no_new_privs exec grew permitted");
        s = v.state;
      }
    }),
    params,
  );
});

test("CapSet set algebra matches BigInt arithmetic", () => {
  fc.assert(
    fc.property(capSetArb(profile), capSetArb(profile), (a, b) => {
      const A = a.toBigInt(),
        B = b.toBigInt();
      assert.equal(a.union(b).toBigInt(), A | B);
      assert.equal(a.intersect(b).toBigInt(), A & B);
      assert.equal(a.difference(b).toBigInt(), A & ~B);
      assert.equal(a.isSubsetOf(b), (A & ~B) === 0n);
      assert.equal(a.size, [...a].length);
      assert.ok(CapSet.fromHex(a.toHex()).equals(a));
      assert.ok(CapSet.fromBigInt(A).equals(a));
    }),
    params,
  );
});

test("simulateSequences (one engine call) equals simulateSequence on each item", async () => {
  const { simulateSequences } = await import("../src/simulate.js");
  const full = scenarioArb(profile, 6).map(({ state, ops }) => ({
    state,
    ops: ops.map((op): Op =>
      op.op === "capset"
        ? {
            ...op,
            effective: op.effective ?? state.effective,
            permitted: op.permitted ?? state.permitted,
            inheritable: op.inheritable ?? state.inheritable,
          }
        : op,
    ),
  }));
  fc.assert(
    fc.property(fc.array(full, { minLength: 1, maxLength: 20 }), (items) => {
      const batched = simulateSequences(items);
      items.forEach((it, i) => {
        const one = simulateSequence(it.state, it.ops);
        assert.deepEqual(
          batched[i]!.map((v) => v.rule),
          one.map((v) => v.rule),
        );
        batched[i]!.forEach((v, k) => assert.ok(statesEqual(v.state, one[k]!.state)));
      });
    }),
    { ...params, numRuns: Math.max(50, runs / 20) },
  );
});
