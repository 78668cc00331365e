// Every outside form of a state is a loop over one generated table (STATE_FORMS, from
// contract/engine.json records.state.forms). This test holds each consumer to every field of the
// table: for each field, a state that differs from a base state in that field alone must be told
// apart (or not, for identity) by the codec, diffStates, the JSON output, a written scenario read
// back, an expectation, withSets and threadState. A consumer that misses a field fails here, for
// a field added to the contract tomorrow as much as for today's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { STATE_FORMS, STATE_FIELD_NAMES, type StateFieldForm } from "../src/state-fields.js";
import { CapSet } from "../src/capabilities/set.js";
import { threadState, diffStates, stateProblem, type ThreadState } from "../src/state.js";
import { kernelProfile } from "../src/kernel/profiles.js";
import { childNamespace } from "../src/userns.js";
import { writeState, readState, withSets } from "../src/engine/state-codec.js";
import { STATE_SIZE } from "../src/engine/contract.js";
import { stateJson, checkExpectation } from "../src/scenario/run.js";
import { stateToScenario } from "../src/scenario/emit.js";
import { parseScenario, parseState } from "../src/scenario/parse.js";
import { simulate } from "../src/simulate.js";

const profile = kernelProfile();
const base = threadState(
  { permitted: CapSet.of(0, 1, 7), effective: CapSet.of(0, 1), inheritable: CapSet.of(0), uid: 0, groups: [3] },
  profile,
);

/** Values of a form to try in place of the base's (the first one a thread can hold is used). */
function candidates(f: StateFieldForm, was: unknown): unknown[] {
  switch (f.form) {
    case "set": {
      const s = was as CapSet;
      return [s.without(1), s.without(7), s.with(2), s.without(0), CapSet.of(0), CapSet.EMPTY, s.without(40)];
    }
    case "securebits":
      return [1, 4, 16];
    case "id":
      return [1000, 7];
    case "ids":
      return [[5], []];
    case "userns":
      return [childNamespace({ uidMap: [[0, 100000, 65536]], gidMap: [[0, 100000, 65536]] })];
    case "flag":
      return [!(was as boolean)];
    case "count":
      return [f.min === (was as number) ? f.min + 1 : f.min];
  }
}

/** The base state with one field changed to a value a thread can hold. */
function variant(f: StateFieldForm): ThreadState {
  const was = (base as unknown as Record<string, unknown>)[f.field];
  for (const v of candidates(f, was)) {
    const s = { ...base, [f.field]: v } as ThreadState;
    if (stateProblem(s, profile) === null && diffStates(base, s).length + (f.credential ? 0 : 1) > 0) return s;
  }
  throw new Error(`no variant of ${f.field} (form ${f.form}): give the test a value for the form`);
}

test("the table has a form for every field of the state record", () => {
  const formed = new Set(STATE_FORMS.map((f) => f.field as string));
  assert.deepEqual(
    STATE_FIELD_NAMES.filter((n) => n !== "kernelIds" && !formed.has(n)),
    [],
  );
});

for (const f of STATE_FORMS) {
  test(`state field ${f.field} (${f.form}): every outside form carries it`, () => {
    const other = variant(f);
    const get = (s: ThreadState) => (s as unknown as Record<string, unknown>)[f.field];

    // the codec: written and read back unchanged
    const w = new Uint32Array(STATE_SIZE >>> 2);
    writeState(w, 0, other);
    assert.deepEqual(get(readState(w, 0)), get(other), "the codec");

    // diffStates: exactly this field for a credential; nothing for identity
    assert.deepEqual(
      diffStates(base, other).map((c) => c.field),
      f.credential ? [f.field] : [],
      "diffStates",
    );

    // the JSON output: differs at the field's key for a credential; identity is not shown
    const a = stateJson(base),
      b = stateJson(other);
    const differing = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
    assert.deepEqual(differing, f.credential ? [f.key] : [], "stateJson");

    // a written scenario reads back as the same state
    const back = parseState(JSON.parse(JSON.stringify(stateToScenario(other))), profile);
    assert.deepEqual(get(back), get(other), "stateToScenario → parseState");
    assert.deepEqual(diffStates(back, other), [], "stateToScenario → parseState, every field");

    // an expectation on the field: met by the variant, not by the base
    if (f.credential && f.form !== "userns") {
      const doc = {
        kernel: profile.version,
        steps: [{ op: "capget", expect: { state: { [f.key]: b[f.key] } } }],
      };
      const expectation = parseScenario(doc).steps[0]?.expect;
      assert.ok(expectation, "the expectation parses");
      assert.equal(checkExpectation(expectation, simulate(other, { op: "capget" })).met, true, "met by the variant");
      assert.equal(checkExpectation(expectation, simulate(base, { op: "capget" })).met, false, "not met by the base");
    }

    // withSets keeps every field it is not given
    const copied = withSets(other, other.permitted, other.effective, other.inheritable, other.ambient);
    assert.deepEqual(get(copied), get(other), "withSets");

    // threadState takes the field as given
    const init = { ...other } as Record<string, unknown>;
    delete init["kernelIds"];
    assert.deepEqual(get(threadState(init, profile)), get(other), "threadState");
  });
}
