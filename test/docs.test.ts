import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rulesMarkdown } from "../scripts/gen-rules-doc.js";

test("docs/RULES.md is generated from the current rule catalog (run npm run docs)", () => {
  assert.equal(readFileSync(new URL("../../docs/RULES.md", import.meta.url), "utf8"), rulesMarkdown());
});

test("the README's quick start and test command are the ones package.json provides", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.match(readme, /npm install && npx capgate simulate examples\/ambient-keep-across-setuid\.json/);
  assert.match(readme, /\nnpm test\n/);
  assert.ok(pkg.scripts.test && pkg.scripts.prepare && pkg.bin.capgate);
  const ci = readFileSync(new URL("../../.ci/run", import.meta.url), "utf8");
  assert.match(ci, /npm test/);
});

test("the docs stand on their own (nothing points at ../shared) and the README names every command and option", async () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const docs = [
    "../../README.md",
    "../../docs/SCENARIOS.md",
    "../../docs/RULES.md",
    "../../docs/KERNELS.md",
    "../../docs/CONTAINERS.md",
    "../../docs/ARCHITECTURE.md",
  ].map((f) => readFileSync(new URL(f, import.meta.url), "utf8"));
  for (const d of docs) assert.doesNotMatch(d, /\.\.\/shared/);
  const { buildProgram } = await import("../src/cli/program.js");
  const program = buildProgram();
  const missing: string[] = [];
  for (const c of program.commands) {
    if (!readme.includes(`capgate ${c.name()}`)) missing.push(c.name());
    for (const o of c.options) if (o.long && !readme.includes(o.long)) missing.push(`${c.name()} ${o.long}`);
  }
  assert.deepEqual(missing, []);
});
