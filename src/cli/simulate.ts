import { kernelArg } from "./args.js";
import { profileText } from "../kernel/profiles.js";
import { noteProfile } from "./profile.js";
import { parseJson } from "../parse/json.js";
import { readFileSync, writeFileSync } from "node:fs";
import { UsageError } from "./errors.js";
import { junit, tap, github, markdown, type FileResult } from "./reports.js";
import { InputError } from "../parse/errors.js";
import { parseScenario, type Scenario } from "../scenario/parse.js";
import { runScenario, scenarioResultJson, type ScenarioResult } from "../scenario/run.js";
import { describeOp, describeChange, outcomeText } from "../formats/describe.js";
import { style, table } from "./style.js";
import { terminalSafe } from "./escape.js";

/** Reads and parses a JSON file; every failure is an InputError naming the file. */
export function readJsonFile(file: string): unknown {
  return parseJson(readText(file), file);
}

/** A file's text (- is standard input); an InputError naming it when it cannot be read. */
function readText(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
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
}

/** Reads and parses a scenario file; errors name the file, then the step and field. */
export function loadScenario(file: string, kernel?: string): Scenario {
  return scenarioOf(file, readJsonFile(file), kernel);
}

function scenarioOf(file: string, doc: unknown, kernel?: string): Scenario {
  // a bad --kernel is the command line's fault, not the file's
  if (kernel !== undefined) kernelArg(kernel);
  try {
    return parseScenario(kernel && typeof doc === "object" && doc ? { ...doc, kernel } : doc);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${file}: ${e.path}`, e.message.slice(e.path.length + 2));
    throw e;
  }
}

/** Exit status when a step is outside the model and no expectation failed (scenario format v2). */
export const EXIT_NOT_MODELLED = 3;

export interface SimulateOptions {
  json?: boolean;
  kernel?: string;
  junit?: string;
  tap?: boolean;
  github?: boolean;
  format?: string;
}

export function simulateCommand(files: string[], opts: SimulateOptions): number {
  if (opts.format !== undefined && !["table", "json", "markdown"].includes(opts.format))
    throw new UsageError(`--format must be table, json or markdown, got ${JSON.stringify(opts.format)}`);
  const format = opts.json ? "json" : (opts.format ?? "table");
  if ([opts.tap, format !== "table"].filter(Boolean).length > 1)
    throw new UsageError("give one of --json, --format and --tap");
  if (files.filter((f) => f === "-").length > 1) throw new UsageError("standard input (-) can be read once");
  // Every file is read and checked before anything is printed or written.
  const results: FileResult[] = files.map((file) => {
    const text = readText(file);
    const scenario = scenarioOf(file, parseJson(text, file), opts.kernel);
    noteProfile(scenario.profile);
    return { file, text, result: runScenario(scenario) };
  });
  if (opts.junit !== undefined) {
    try {
      writeFileSync(opts.junit, junit(results));
    } catch (e) {
      throw new InputError(
        opts.junit,
        `cannot write the JUnit report (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      );
    }
  }
  if (opts.tap) process.stdout.write(tap(results));
  else if (format === "json") {
    const docs = results.map((r) => scenarioResultJson(r.result));
    process.stdout.write(JSON.stringify(files.length === 1 ? docs[0] : docs, null, 2) + "\n");
  } else if (format === "markdown") process.stdout.write(markdown(results));
  else process.stdout.write(results.map((r) => formatResult(r.file, r.result)).join("\n"));
  if (opts.github) process.stdout.write(github(results));
  if (!results.every((r) => r.result.passed)) return 1;
  // a step outside the model: the answer is not the kernel's, so not a pass either
  return results.every((r) => r.result.modelled) ? 0 : EXIT_NOT_MODELLED;
}

export function formatResult(file: string, result: ScenarioResult): string {
  const out: string[] = [];
  const { scenario } = result;
  out.push(
    `${style.bold(terminalSafe(file))} · kernel ${profileText(scenario.profile)} · ${scenario.steps.length} step${scenario.steps.length === 1 ? "" : "s"}`,
  );
  if (scenario.description) out.push(style.dim(terminalSafe(scenario.description)));
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
    const color = !v.modelled ? style.yellow : v.ok ? style.green : style.red;
    const verdict = color(outcomeText(v));
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
  const ran = result.steps.length;
  result.notRun.forEach((step, i) =>
    rows.push([String(ran + i + 1), describeOp(step.op), style.dim("not run"), "", "", ""]),
  );
  out.push(table(rows));
  result.steps.forEach((step, i) => {
    const v = step.verdict;
    const lines: string[] = [];
    const note = scenario.steps[i]!.note; // (a result step per scenario step that ran)
    if (note) lines.push(style.dim(terminalSafe(note)));
    lines.push(v.message);
    if ((!v.ok || !v.modelled) && v.hint) lines.push(`${style.yellow("hint:")} ${v.hint}`);
    for (const n of v.notes) lines.push(`${style.cyan("note:")} ${n.message}`);
    if (step.expect && !step.expect.met)
      for (const f of step.expect.failures) lines.push(`${style.red("expected")} ${f}`);
    details.push(`${style.bold(`${i + 1}.`)} ${lines.join("\n   ")}`);
  });
  if (result.notRun.length)
    details.push(
      style.yellow(
        `step ${ran} is outside the model, so the state after it is unknown: ${result.notRun.length === 1 ? "the step after it was" : `the ${result.notRun.length} steps after it were`} not run`,
      ),
    );
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
