// Scenario results as CI systems show them: JUnit XML (GitLab, Jenkins, GitHub test reporters),
// TAP, GitHub workflow annotations pointing at the failing step's line, and a Markdown table a
// teacher can paste into notes or a pull-request comment. One testcase per step with an
// expectation; a failure carries the rule, the message and the hint.
import { profileText } from "../kernel/profiles.js";
import type { ScenarioResult } from "../scenario/run.js";
import { describeOp, describeChange, outcomeText } from "../formats/describe.js";
import { jsonDocument } from "../lint/tree.js";
import { terminalSafe } from "./escape.js";

export interface FileResult {
  readonly file: string;
  /** The scenario file's text (for line numbers). */
  readonly text: string;
  readonly result: ScenarioResult;
}

interface Case {
  readonly name: string;
  readonly step: number;
  readonly failures: readonly string[];
  readonly detail: string;
  /** Why it was not run (a step before it is outside the model), or undefined. */
  readonly skipped?: string;
}

function casesOf(r: ScenarioResult): Case[] {
  const ran = r.steps.flatMap((s, i) =>
    s.expect
      ? [
          {
            name: `step ${i + 1}: ${describeOp(s.verdict.op)}`,
            step: i,
            failures: s.expect.failures,
            detail: `${outcomeText(s.verdict)} (${s.verdict.rule}): ${s.verdict.message}${s.verdict.hint ? `; hint: ${s.verdict.hint}` : ""}`,
          },
        ]
      : [],
  );
  const last = r.steps.length;
  const notRun = r.notRun.flatMap((s, i) =>
    s.expect
      ? [
          {
            name: `step ${last + i + 1}: ${describeOp(s.op)}`,
            step: last + i,
            failures: [],
            detail: "",
            skipped: `not run: step ${last} is outside the model`,
          },
        ]
      : [],
  );
  return [...ran, ...notRun];
}

/** The line of steps[i] in the scenario's JSON text (1 when it cannot be told). */
function stepLines(text: string): number[] {
  try {
    const doc = jsonDocument(text);
    const steps = doc.t === "map" ? doc.pairs.find(([k]) => k === "steps")?.[1] : undefined;
    return steps?.t === "seq" ? steps.items.map((s) => s.line) : [];
  } catch {
    return [];
  }
}

const xml = (s: string) =>
  s
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c)
    // XML 1.0 forbids most control characters, even escaped
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

export function junit(results: readonly FileResult[]): string {
  const suites = results.map(({ file, result }) => {
    const cases = casesOf(result);
    const failed = cases.filter((c) => c.failures.length).length;
    const body = cases.map((c) => {
      const open = `    <testcase classname="${xml(file)}" name="${xml(c.name)}">`;
      if (c.skipped) return `${open}\n      <skipped message="${xml(c.skipped)}"/>\n    </testcase>`;
      if (!c.failures.length) return `${open}</testcase>`;
      return `${open}\n      <failure message="${xml(c.failures.join("; "))}" type="expectation">${xml(`${c.failures.join("\n")}\n${c.detail}`)}</failure>\n    </testcase>`;
    });
    return [
      `  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${failed}" errors="0" skipped="${cases.filter((c) => c.skipped).length}">`,
      ...body,
      "  </testsuite>",
    ].join("\n");
  });
  const tests = results.reduce((n, r) => n + casesOf(r.result).length, 0);
  const failures = results.reduce((n, r) => n + casesOf(r.result).filter((c) => c.failures.length).length, 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="capgate" tests="${tests}" failures="${failures}" errors="0">\n${suites.join("\n")}\n</testsuites>\n`;
}

export function tap(results: readonly FileResult[]): string {
  const all = results.flatMap(({ file, result }) => casesOf(result).map((c) => ({ file, c })));
  const lines = ["TAP version 13", `1..${all.length}`];
  all.forEach(({ file, c }, i) => {
    const name = terminalSafe(`${file} ${c.name}`).replace(/#/g, "\\#");
    lines.push(`${c.failures.length ? "not ok" : "ok"} ${i + 1} - ${name}${c.skipped ? ` # SKIP ${c.skipped}` : ""}`);
    if (c.failures.length) {
      lines.push(
        "  ---",
        `  message: ${JSON.stringify(c.failures.join("; "))}`,
        `  verdict: ${JSON.stringify(c.detail)}`,
        "  ...",
      );
    }
  });
  return lines.join("\n") + "\n";
}

/** GitHub workflow commands: an error annotation at the failing step's line. */
export function github(results: readonly FileResult[]): string {
  // the workflow command's own escapes, then every other control character as \xNN
  const esc = (s: string) => terminalSafe(s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A"));
  const prop = (s: string) => esc(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  const out: string[] = [];
  for (const { file, text, result } of results) {
    const lines = stepLines(text);
    for (const c of casesOf(result)) {
      if (!c.failures.length) continue;
      out.push(
        `::error file=${prop(file)},line=${lines[c.step] ?? 1},title=${prop(c.name)}::${esc(`${c.failures.join("; ")} — ${c.detail}`)}`,
      );
    }
  }
  return out.length ? out.join("\n") + "\n" : "";
}

export function markdown(results: readonly FileResult[]): string {
  const cell = (s: string) => terminalSafe(s.replace(/\n/g, " ")).replace(/\|/g, "\\|");
  return results
    .map(({ file, result }) => {
      const rows = result.steps.map((s, i) => {
        const v = s.verdict;
        const expect = s.expect ? (s.expect.met ? "met" : `**not met**: ${s.expect.failures.join("; ")}`) : "";
        return `| ${i + 1} | \`${cell(describeOp(v.op))}\` | ${outcomeText(v)} | \`${v.rule}\` | ${cell(describeChange(v.before, v.state) || "—")} | ${cell(v.message)} | ${cell(expect)} |`;
      });
      const ran = result.steps.length;
      for (const [i, s] of result.notRun.entries())
        rows.push(
          `| ${ran + i + 1} | \`${cell(describeOp(s.op))}\` | not run | | | step ${ran} is outside the model | |`,
        );
      const head = `### ${cell(file)} (kernel ${profileText(result.scenario.profile)})\n\n${result.scenario.description ? `${cell(result.scenario.description)}\n\n` : ""}`;
      return `${head}| # | call | result | rule | changed | why | expectation |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`;
    })
    .join("\n");
}
