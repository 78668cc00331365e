import type { CapSet } from "../capabilities/set.js";
import { simulateSequence, type Verdict } from "../simulate.js";
import { SET_NAMES, type ThreadState } from "../state.js";
import type { Scenario, Expectation } from "./parse.js";
import { setsHex } from "./emit.js";

export interface ExpectationResult {
  readonly met: boolean;
  /** What differed, one line each ("errno: expected EPERM, got null"). */
  readonly failures: readonly string[];
}
export interface StepResult {
  readonly verdict: Verdict;
  readonly expect?: ExpectationResult;
}
export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly steps: readonly StepResult[];
  readonly final: ThreadState;
  /** Every expectation met (true when there are none). */
  readonly passed: boolean;
}

const hex = (s: CapSet) => s.toHex();

export function checkExpectation(expect: Expectation, v: Verdict): ExpectationResult {
  const failures: string[] = [];
  const cmp = (what: string, want: unknown, got: unknown) => {
    if (want !== got) failures.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  if (expect.ok !== undefined) cmp("ok", expect.ok, v.ok);
  if (expect.errno !== undefined) cmp("errno", expect.errno, v.errno);
  if (expect.ret !== undefined) cmp("ret", expect.ret, v.ret);
  if (expect.rule !== undefined) cmp("rule", expect.rule, v.rule);
  if (expect.secureExec !== undefined) cmp("secureExec", expect.secureExec, v.secureExec ?? false);
  const s = expect.state;
  if (s) {
    for (const k of SET_NAMES) {
      const want = s[k];
      if (want && !want.equals(v.state[k]))
        failures.push(`state.${k}: expected ${hex(want)} ${want}, got ${hex(v.state[k])} ${v.state[k]}`);
    }
    for (const k of ["securebits", "ruid", "euid", "suid", "fsuid", "noNewPrivs"] as const) {
      if (s[k] !== undefined) cmp(`state.${k}`, s[k], v.state[k]);
    }
  }
  return { met: failures.length === 0, failures };
}

/** Runs a parsed scenario on the engine. */
export function runScenario(scenario: Scenario): ScenarioResult {
  const verdicts = simulateSequence(
    scenario.state,
    scenario.steps.map((s) => s.op),
    { kernel: scenario.profile },
  );
  const steps = verdicts.map((verdict, i): StepResult => {
    const expect = scenario.steps[i]!.expect;
    return expect ? { verdict, expect: checkExpectation(expect, verdict) } : { verdict };
  });
  return {
    scenario,
    steps,
    final: verdicts.length ? verdicts[verdicts.length - 1]!.state : scenario.state,
    passed: steps.every((s) => s.expect?.met !== false),
  };
}

/** The state as the JSON output shows it: sets as lowercase hex. */
export function stateJson(s: ThreadState): Record<string, unknown> {
  return {
    ...setsHex(s),
    securebits: s.securebits,
    ruid: s.ruid,
    euid: s.euid,
    suid: s.suid,
    fsuid: s.fsuid,
    noNewPrivs: s.noNewPrivs,
  };
}

/** One verdict as the scenario JSON output shows it. */
export function verdictJson(v: Verdict): Record<string, unknown> {
  const out: Record<string, unknown> = {
    op: v.op.op,
    ok: v.ok,
    errno: v.errno,
    ret: v.ret,
    rule: v.rule,
    message: v.message,
    hint: v.hint,
  };
  const notes = v.notes;
  if (notes.length) out["notes"] = notes;
  if (v.version !== undefined) out["version"] = v.version;
  if (v.data)
    out["data"] = {
      effective: hex(v.data.effective),
      permitted: hex(v.data.permitted),
      inheritable: hex(v.data.inheritable),
    };
  if (v.secureExec !== undefined) {
    out["secureExec"] = v.secureExec;
    out["gained"] = v.gained.names();
    out["lost"] = v.lost.names();
  }
  out["state"] = stateJson(v.state);
  return out;
}

/** The document `capgate simulate FILE --json` prints. */
export function scenarioResultJson(result: ScenarioResult): Record<string, unknown> {
  return {
    kernel: result.scenario.profile.version,
    steps: result.steps.map((s) => {
      const out = verdictJson(s.verdict);
      if (s.expect) out["expect"] = s.expect.met ? { met: true } : { met: false, failures: s.expect.failures };
      return out;
    }),
    final: stateJson(result.final),
    passed: result.passed,
  };
}
