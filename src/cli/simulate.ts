import { noteProfile } from "./profile.js";
import { parseJson } from "../parse/json.js";
import { readFileSync } from "node:fs";
import { InputError } from "../parse/errors.js";
import { parseScenario, type Scenario } from "../scenario/parse.js";
import { runScenario, scenarioResultJson, type ScenarioResult } from "../scenario/run.js";
import { describeOp, describeChange } from "../formats/describe.js";
import { style, table } from "./style.js";

/** Reads and parses a JSON file; every failure is an InputError naming the file. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      file,
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory, not a scenario file"
          : `cannot read (${code ?? String(e)})`,
    );
  }
  return parseJson(text, file);
}

/** Reads and parses a scenario file; errors name the file, then the step and field. */
export function loadScenario(file: string, kernel?: string): Scenario {
  const doc = readJsonFile(file);
  try {
    return parseScenario(kernel && typeof doc === "object" && doc ? { ...doc, kernel } : doc);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.path}`, e.message.slice(e.path.length + 2));
    throw e;
  }
}

export function simulateCommand(file: string, opts: { json?: boolean; kernel?: string }): number {
  const scenario = loadScenario(file, opts.kernel);
  noteProfile(scenario.profile);
  const result: ScenarioResult = runScenario(scenario);
  if (opts.json) process.stdout.write(JSON.stringify(scenarioResultJson(result), null, 2) + "\n");
  else process.stdout.write(formatResult(file, result));
  return result.passed ? 0 : 1;
}

export function formatResult(file: string, result: ScenarioResult): string {
  const out: string[] = [];
  const { scenario } = result;
  out.push(
    `${style.bold(file)} · kernel ${scenario.profile.version} · ${scenario.steps.length} step${scenario.steps.length === 1 ? "" : "s"}`,
  );
  if (scenario.description) out.push(style.dim(scenario.description));
  out.push("");
  const rows: string[][] = [
    [
      style.dim("#"),
      style.dim("call"),
      style.dim("result"),
      style.dim("rule"),
      style.dim("changed"),
      style.dim("expect"),
    ],
  ];
  const details: string[] = [];
  result.steps.forEach((step, i) => {
    const v = step.verdict;
    const verdict = v.ok ? style.green(v.ret === 0 ? "ok" : `ok → ${v.ret}`) : style.red(`${v.errno}`);
    const expect = step.expect ? (step.expect.met ? style.green("met") : style.red("NOT MET")) : "";
    rows.push([
      String(i + 1),
      describeOp(v.op),
      verdict,
      v.rule,
      describeChange(v.before, v.state) || style.dim("—"),
      expect,
    ]);
  });
  out.push(table(rows));
  result.steps.forEach((step, i) => {
    const v = step.verdict;
    const lines: string[] = [];
    const note = scenario.steps[i]!.note;
    if (note) lines.push(style.dim(note));
    lines.push(v.message);
    if (!v.ok && v.hint) lines.push(`${style.yellow("hint:")} ${v.hint}`);
    for (const n of v.notes) lines.push(`${style.cyan("note:")} ${n.message}`);
    if (step.expect && !step.expect.met)
      for (const f of step.expect.failures) lines.push(`${style.red("expected")} ${f}`);
    details.push(`${style.bold(`${i + 1}.`)} ${lines.join("\n   ")}`);
  });
  out.push("", ...details, "");
  const unmet = result.steps.filter((s) => s.expect && !s.expect.met).length;
  const withExpect = result.steps.filter((s) => s.expect).length;
  out.push(
    unmet
      ? style.red(`${unmet} of ${withExpect} expectations not met`)
      : withExpect
        ? style.green(`all ${withExpect} expectations met`)
        : "no expectations given",
  );
  return out.join("\n") + "\n";
}
