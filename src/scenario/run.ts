import { profileFields } from "../kernel/profiles.js";
import type { CapSet } from "../capabilities/set.js";
import { simulateSequence, Verdict } from "../simulate.js";
import { ArgumentError } from "../errors.js";
import { isList } from "../args.js";
import { requireState, type ThreadState } from "../state.js";
import { STATE_FORMS } from "../state-fields.js";
import { shownId, type UserNamespace } from "../userns.js";
import type { Scenario, ScenarioStep, Expectation } from "./parse.js";
import { usernsToScenario } from "./emit.js";

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
  /** The steps that ran: all of them, or up to and including the first one outside the model. */
  readonly steps: readonly StepResult[];
  /** The steps after one outside the model: not run, since the state they would start from is unknown. */
  readonly notRun: readonly ScenarioStep[];
  /** false when a step is outside the model (its verdict has `modelled: false`). */
  readonly modelled: boolean;
  /** The state after the last step that ran (the state before it, when that one is not modelled). */
  readonly final: ThreadState;
  /** Every expectation of the steps that ran met (true when there are none). */
  readonly passed: boolean;
}

const hex = (s: CapSet) => s.toHex();

export function checkExpectation(expect: Expectation, v: Verdict): ExpectationResult {
  if (typeof expect !== "object" || expect === null || !(v instanceof Verdict))
    throw new ArgumentError("checkExpectation: expected an expectation and a Verdict");
  const failures: string[] = [];
  const cmp = (what: string, want: unknown, got: unknown) => {
    if (want !== got) failures.push(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  };
  if (expect.ok !== undefined) cmp("ok", expect.ok, v.modelled ? v.ok : null);
  if (expect.errno !== undefined) cmp("errno", expect.errno, v.errno);
  if (expect.ret !== undefined) cmp("ret", expect.ret, v.modelled ? v.ret : null);
  if (expect.rule !== undefined) cmp("rule", expect.rule, v.rule);
  if (expect.secureExec !== undefined) cmp("secureExec", expect.secureExec, v.secureExec ?? false);
  const s = expect.state as Record<string, unknown> | undefined;
  if (s) {
    const state = v.state as unknown as Record<string, unknown>;
    for (const f of STATE_FORMS) {
      const want = s[f.field];
      if (want === undefined) continue;
      const got = state[f.field];
      if (f.form === "set") {
        if (!(want as CapSet).equals(got as CapSet))
          failures.push(
            `state.${f.key}: expected ${hex(want as CapSet)} ${(want as CapSet).toString()}, got ${hex(got as CapSet)} ${(got as CapSet).toString()}`,
          );
      } else if (f.form === "id") cmp(`state.${f.key}`, want, shownId(got as number));
      else if (f.form === "ids")
        cmp(`state.${f.key}`, (want as number[]).join(","), (got as number[]).map(shownId).join(","));
      else cmp(`state.${f.key}`, want, got);
    }
  }
  return { met: failures.length === 0, failures };
}

/** Runs a parsed scenario on the engine. */
export function runScenario(scenario: Scenario): ScenarioResult {
  if (
    typeof scenario !== "object" ||
    scenario === null ||
    !isList(scenario.steps) ||
    typeof scenario.profile !== "object"
  )
    throw new ArgumentError("runScenario: expected a scenario (parseScenario makes one)");
  const verdicts = simulateSequence(
    scenario.state,
    scenario.steps.map((s) => s.op),
    { kernel: scenario.profile },
  );
  const outside = verdicts.findIndex((v) => !v.modelled);
  const ran = outside < 0 ? verdicts : verdicts.slice(0, outside + 1);
  const steps = ran.map((verdict, i): StepResult => {
    const expect = scenario.steps[i]!.expect; // (a verdict per step)
    return expect ? { verdict, expect: checkExpectation(expect, verdict) } : { verdict };
  });
  return {
    scenario,
    steps,
    notRun: outside < 0 ? [] : scenario.steps.slice(outside + 1),
    modelled: outside < 0,
    final: ran.at(-1)?.state ?? scenario.state,
    passed: steps.every((s) => s.expect?.met !== false),
  };
}

/** The state as the JSON output shows it: sets as lowercase hex. */
export function stateJson(s: ThreadState): Record<string, unknown> {
  requireState(s, "stateJson");
  const state = s as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of STATE_FORMS) {
    if (!f.credential) continue;
    const v = state[f.field];
    switch (f.form) {
      case "set":
        out[f.key] = hex(v as CapSet);
        break;
      case "id":
        out[f.key] = shownId(v as number);
        break;
      case "ids":
        out[f.key] = (v as readonly number[]).map(shownId);
        break;
      case "userns":
        if (v) out[f.key] = usernsToScenario(v as UserNamespace);
        break;
      default:
        out[f.key] = v;
    }
  }
  return out;
}

/** One verdict as the scenario JSON output shows it. */
export function verdictJson(v: Verdict): Record<string, unknown> {
  if (!(v instanceof Verdict)) throw new ArgumentError("verdictJson: expected a Verdict");
  const out: Record<string, unknown> = {
    op: v.op.op,
    modelled: v.modelled,
    ok: v.modelled ? v.ok : null,
    errno: v.errno,
    ret: v.modelled ? v.ret : null,
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
  if (typeof result !== "object" || result === null || !isList(result.steps) || typeof result.scenario !== "object")
    throw new ArgumentError("scenarioResultJson: expected a result (runScenario makes one)");
  return {
    ...profileFields(result.scenario.profile),
    steps: [
      ...result.steps.map((s) => {
        const out = verdictJson(s.verdict);
        if (s.expect) out["expect"] = s.expect.met ? { met: true } : { met: false, failures: s.expect.failures };
        return out;
      }),
      ...result.notRun.map((s) => ({ op: s.op.op, skipped: true })),
    ],
    final: stateJson(result.final),
    modelled: result.modelled,
    passed: result.passed,
  };
}
