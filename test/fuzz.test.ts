// Two fuzzers with fixed seeds and bounded time: random inputs over every public parser (each
// returns, or throws a CapgateInputError naming the problem: never a TypeError, a RangeError or
// a hang), and random argument vectors and files over every command that changes nothing,
// run in-process (exit 0, 1, 2 or 3 only; exit 2 with one short line on stderr, control
// characters escaped; never "internal error", never a stack trace).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapgateInputError } from "../src/errors.js";
import {
  parseCapText,
  parseIab,
  parseMask,
  parseNames,
  parseStatus,
  stateFromStatus,
  decodeFileCaps,
  NAME_STYLES,
} from "../src/formats/index.js";
import { parseSetInput } from "../src/parse/sets.js";
import { parseScenario } from "../src/scenario/index.js";
import { lintText } from "../src/lint/index.js";
import { parseTraceeLine } from "../src/watch/tracee.js";
import { kernelProfile } from "../src/index.js";
import { spawnSync } from "node:child_process";
import { fuzzLibrary, LIBRARY_ENTRIES } from "../fixtures/library-fuzz.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SEED = Number(process.env["CAPGATE_FUZZ_SEED"] ?? 20261128);
const MAX_MS = 2_000;

/** Text that is mostly near the formats' own syntax, with the odd byte anyone might paste. */
const tokens = [
  "cap_",
  "net_raw",
  "CAP_SYS_ADMIN",
  "all",
  "=",
  "+",
  "-",
  "e",
  "p",
  "i",
  "ep",
  ",",
  " ",
  "!",
  "^",
  "%",
  "0x",
  "1ff",
  "010",
  "08",
  "13",
  "63",
  "64",
  "\t",
  "\n",
  "CapEff:",
  "Uid:",
  "\u001b[8m",
  "ſ",
  "ı",
  "\u0000",
  "{",
  "}",
  "[",
  "]",
  '"',
  ":",
  "-1",
  "1e400",
  "4294967296",
];
const nearText = fc.oneof(
  fc.array(fc.constantFrom(...tokens), { maxLength: 12 }).map((t) => t.join("")),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
);

function returnsOrInputError(name: string, fn: () => unknown): void {
  const start = Date.now();
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof CapgateInputError,
      `${name} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not an input error`,
    );
    assert.ok(
      e.message.length > 0 && !e.message.includes("undefined"),
      `${name}: a message that names the problem, got ${JSON.stringify(e.message)}`,
    );
  }
  assert.ok(Date.now() - start < MAX_MS, `${name} took ${Date.now() - start} ms`);
}

const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(join(root, "examples", f), "utf8")) as unknown);

/** A value with one node replaced by random JSON (a scenario one typo or one attack away from valid). */
function mutate(doc: unknown, path: number[], replacement: unknown): unknown {
  if (!path.length || typeof doc !== "object" || doc === null) return replacement;
  const entries = Array.isArray(doc) ? doc.map((v, i) => [i, v] as const) : Object.entries(doc);
  if (!entries.length) return replacement;
  const [key, child] = entries[path[0]! % entries.length]!;
  const copy = (Array.isArray(doc) ? [...doc] : { ...doc }) as Record<string | number, unknown>;
  copy[key] = mutate(child, path.slice(1), replacement);
  return copy;
}
const nearScenario = fc
  .tuple(
    fc.constantFrom(...examples),
    fc.array(fc.nat(), { maxLength: 6 }),
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), nearText, fc.double(), fc.integer()),
  )
  .map(([doc, path, v]) => mutate(doc, path, v));

test("library fuzzer: every public parser returns or throws an input error naming the problem", () => {
  const profile = kernelProfile();
  const runs = { numRuns: 1500, seed: SEED };
  fc.assert(
    fc.property(nearText, (t) => returnsOrInputError("parseCapText", () => parseCapText(t, profile))),
    runs,
  );
  fc.assert(
    fc.property(nearText, (t) => returnsOrInputError("parseIab", () => parseIab(t))),
    runs,
  );
  fc.assert(
    fc.property(nearText, (t) => returnsOrInputError("parseMask", () => parseMask(t))),
    runs,
  );
  fc.assert(
    fc.property(fc.constantFrom(...NAME_STYLES), nearText, (style, t) =>
      returnsOrInputError(`parseNames(${style})`, () => parseNames(t, style, profile)),
    ),
    runs,
  );
  fc.assert(
    fc.property(nearText, (t) => returnsOrInputError("parseStatus", () => parseStatus(t))),
    runs,
  );
  fc.assert(
    fc.property(nearText, (t) =>
      returnsOrInputError("stateFromStatus", () =>
        stateFromStatus(`CapInh:\t0\nCapPrm:\t${t}\nCapEff:\t0\nCapBnd:\t0\n`),
      ),
    ),
    runs,
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 32 }), (b) =>
      returnsOrInputError("decodeFileCaps", () => decodeFileCaps(b)),
    ),
    runs,
  );
  fc.assert(
    fc.property(fc.oneof(nearText, fc.jsonValue({ maxDepth: 2 })), (v) =>
      returnsOrInputError("parseSetInput", () => parseSetInput(v, profile, "x")),
    ),
    runs,
  );
  fc.assert(
    fc.property(nearScenario, (doc) => returnsOrInputError("parseScenario", () => parseScenario(doc))),
    { numRuns: 3000, seed: SEED },
  );
  fc.assert(
    fc.property(
      fc.oneof(
        nearText,
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      ),
      (line) => returnsOrInputError("parseTraceeLine", () => parseTraceeLine(line, 1)),
    ),
    runs,
  );
  const lintDocs = fc.oneof(
    nearText.map((t) => `services:\n  a:\n    cap_add: [${t}]\n`),
    nearText.map(
      (t) =>
        `apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - securityContext:\n      capabilities:\n        add: ${t}\n`,
    ),
    nearText.map((t) => `[Service]\nCapabilityBoundingSet=${t}\nAmbientCapabilities=${t}\n`),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify({ apiVersion: "v1", kind: "List", items: [v] })),
    nearText,
  );
  fc.assert(
    fc.property(lintDocs, (text) => returnsOrInputError("lintText", () => lintText("x.yaml", text))),
    runs,
  );
  // 8,000 levels of brackets in any of them: refused, not a stack overflow
  const deep = "[".repeat(8000) + "]".repeat(8000);
  returnsOrInputError("parseScenario(deep)", () =>
    parseScenario(JSON.parse(`{"steps":[{"op":"capget","x":${deep}}]}`)),
  );
  returnsOrInputError("parseTraceeLine(deep)", () => parseTraceeLine(`{"eventName":"commit_creds","args":${deep}}`, 1));
  returnsOrInputError("lintText(deep)", () => lintText("x.json", `{"apiVersion":"v1","kind":"List","items":${deep}}`));
});

test("CLI fuzzer: random argument vectors and files over every command that changes nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-clifuzz-"));
  const files = fc
    .sample(
      fc.oneof(
        nearScenario.map((d) => JSON.stringify(d)),
        nearText,
        fc.constant("services:\n  a:\n    cap_add: [NET_RAW, BOGUS]\n"),
        fc.constant("[Service]\nAmbientCapabilities=CAP_NET_RAW\n"),
      ),
      { numRuns: 40, seed: SEED },
    )
    .map((text, i) => {
      const f = join(dir, `f${i}${i % 3 === 0 ? ".yaml" : i % 3 === 1 ? ".json" : ".service"}`);
      writeFileSync(f, text);
      return f;
    });
  const value = fc.oneof(
    fc.constantFrom(
      "0",
      "1",
      "-1",
      "1000",
      "4294967295",
      "4294967296",
      "99999999999",
      "1e400",
      "net_raw",
      "cap_net_raw,cap_kill",
      "cap_ſys_admin",
      "all",
      "=ep",
      "=",
      "cap_net_raw+ep",
      "010+ep",
      "0x3000",
      "6.18",
      "4.2",
      "9.9",
      "2.6",
      "nobody",
      "root",
      "SECBIT_NOROOT",
      "1,2,3",
      "",
      "\u001b[31mred",
      "/nonexistent",
      "/tmp",
      "/proc/1/status",
      "/bin/true",
      "bash",
      "zsh",
      "fish",
    ),
    fc.constantFrom(...files),
    nearText,
  );
  // every command that changes nothing (exec only as a dry run; file only reading; no watch, no verify)
  const commands: Array<[string[], string[]]> = [
    [["simulate"], ["--json", "--kernel", "--format", "--tap", "--github"]], // never --junit: it writes a file wherever it is pointed
    [["caps"], ["--json", "--kernel"]],
    [["rules"], ["--json"]],
    [["show"], ["--all", "--cap", "--json"]],
    [["decode"], ["--json"]],
    [["file"], ["--json", "-r"]],
    [["lint"], ["--json", "--kind", "--kernel"]],
    [
      ["explain"],
      [
        "--from",
        "--uid",
        "--kernel",
        "--capset",
        "--drop",
        "--bounding-drop",
        "--ambient-raise",
        "--ambient-lower",
        "--securebits",
        "--keep-caps",
        "--setuid",
        "--setresuid",
        "--no-new-privs",
        "--exec",
        "--exec-caps",
        "--exec-setuid",
        "--json",
      ],
    ],
    [
      ["exec", "--dry-run"],
      [
        "--user",
        "--group",
        "--groups",
        "--clear-groups",
        "--keep-groups",
        "--keep",
        "--ambient",
        "--bounding",
        "--drop",
        "--no-new-privs",
        "--secbits",
        "--no-regain",
        "--json",
        "--scenario",
        "--capabilities",
        "--reset-env",
      ],
    ],
    [["completion"], []],
    [["man"], []],
  ];
  const argv = fc
    .tuple(
      fc.constantFrom(...commands),
      fc.array(fc.tuple(fc.nat(), value, fc.boolean()), { maxLength: 3 }),
      fc.array(value, { maxLength: 2 }),
    )
    .map(([[cmd, options], opts, positionals]) => {
      const out = [...cmd];
      for (const [k, v, withValue] of opts) {
        if (options.length) out.push(options[k % options.length]!);
        if (withValue) out.push(v);
      }
      if (cmd[0] === "exec") out.push("--", ...(positionals.length ? positionals : ["/bin/true"]));
      else out.push(...positionals);
      return out;
    });
  // The vectors run in one child process (capturing this process's stdout would swallow the
  // test runner's own messages).
  const vectors = fc.sample(argv, { numRuns: 600, seed: SEED });
  const results = join(dir, "results.json");
  const child = spawnSync(
    process.execPath,
    [fileURLToPath(new URL("../fixtures/cli-fuzz-child.js", import.meta.url)), results],
    {
      input: JSON.stringify(vectors),
      encoding: "utf8",
      timeout: 240_000,
      env: { ...process.env, NO_COLOR: "1" },
    },
  );
  assert.equal(child.status, 0, child.stderr.slice(0, 500));
  const byStatus: Record<number, number> = {};
  for (const r of JSON.parse(readFileSync(results, "utf8")) as Array<{
    args: string[];
    status: number;
    stdout: string;
    stderr: string;
    ms: number;
  }>) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const shown = JSON.stringify(r.args);
    // exec answers as a shell does for a program it cannot run (126) or find (127)
    const allowed = r.args[0] === "exec" ? [0, 1, 2, 3, 126, 127] : [0, 1, 2, 3];
    assert.ok(allowed.includes(r.status), `${shown}: exit ${r.status}: ${r.stderr.slice(0, 300)}`);
    assert.doesNotMatch(r.stderr, /internal error/, shown);
    assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at .*\(.*:\d+:\d+\)/, `${shown}: a stack trace`);
    if (r.status === 2 || r.status >= 126) {
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${shown}: one line on stderr, got ${JSON.stringify(r.stderr.slice(0, 300))}`);
      assert.ok(lines[0]!.length <= 340, `${shown}: a short line (${lines[0]!.length} characters)`);
      assert.doesNotMatch(lines[0]!, /[\u0000-\u001f\u007f-\u009f]/, `${shown}: control characters escaped`);
    }
    assert.ok(r.ms < 10_000, `${shown} took ${r.ms} ms`);
  }
  console.log(`# CLI fuzzer: ${vectors.length} runs, exit statuses ${JSON.stringify(byStatus)}`);
  assert.ok((byStatus[0] ?? 0) > 0 && (byStatus[2] ?? 0) > 0, "the vectors reach both successes and input errors");
});

// The library fuzzer (fixtures/library-fuzz.ts; `npm run fuzz:library` runs 100,000 inputs
// with a fresh seed): every exported function of the pure entries, given values one mistake
// away from right and anything at all, returns or throws capgate's own errors, and never
// answers for a value outside its domain.
test("library fuzz: every pure export refuses bad arguments with capgate's own errors", () => {
  const report = fuzzLibrary(20_000, 20261207);
  assert.deepEqual(report.foreign, []);
  assert.deepEqual(report.falseAllowed, []);
  assert.ok(report.calls >= 20_000);
  // every exported function was reached: a new export is fuzzed the day it lands
  const exported = Object.entries(LIBRARY_ENTRIES).flatMap(([entry, m]) =>
    Object.entries(m)
      .filter(([, v]) => typeof v === "function")
      .map(([name]) => `${entry}.${name}`),
  );
  assert.ok(exported.length > 60, `${exported.length} exported functions`);
  const missed = exported.filter((name) => !report.covered.includes(name));
  assert.deepEqual(missed, []);
});
