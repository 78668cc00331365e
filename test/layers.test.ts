// The import direction, enforced: cli → (plan, watch, lint, scenario, fuzz) → (simulate, rules,
// formats) → engine (wasm, codec) → values (capabilities, kernel, state, ops) → the generated
// contract and the error bases. Two wings stand on src: the effects (shim/: apply, launcher,
// rings, files) and the proof (verify/: the runner, boot, campaigns), which may use the
// effects' trust rules but never the other way round (applying a capset never loads the test
// harness). Nothing shipped depends on tests, fixtures, the bench or the public testing entry;
// and src reaches either wing only from the CLI, through dynamic imports (simulating never
// loads ffi-rs or the harness).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Layer of a source file (higher may import lower or equal, never the other way). */
function layer(file: string): { name: string; rank: number } {
  const f = file.replace(/\\/g, "/");
  const rules: Array<[RegExp, string, number]> = [
    [/^src\/(engine\/contract|errors)\.ts$/, "contract", 0],
    [/^src\/state-fields\.ts$/, "values", 1],
    [/^src\/(capabilities|kernel)\//, "values", 1],
    [/^src\/(state|ops|userns|args)\.ts$/, "values", 1],
    [/^src\/engine\//, "engine", 2],
    [/^src\/(simulate|check-batch|describe|reference|compare)\.ts$/, "model", 3],
    [/^src\/rules\//, "model", 3],
    [/^src\/(formats|parse)\//, "formats", 4],
    [/^src\/(plan|watch|lint|scenario|fuzz|explain|container)\//, "features", 5],
    [/^src\/(index\.ts|testing\/)/, "api", 6],
    [/^shim\//, "shim", 6],
    [/^verify\//, "verify", 7],
    [/^src\/cli\//, "cli", 8],
  ];
  for (const [re, name, rank] of rules) if (re.test(f)) return { name, rank };
  throw new Error(`${file} has no layer: add it to test/layers.test.ts`);
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(join(root, path)).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

interface Edge {
  from: string;
  to: string;
  dynamic: boolean;
  typeOnly: boolean;
}

function imports(file: string): Edge[] {
  const text = readFileSync(join(root, file), "utf8");
  const out: Edge[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gms)) {
    out.push({
      from: file,
      to: normalize(join(dirname(file), m[3]!.replace(/\.js$/, ".ts"))),
      dynamic: false,
      typeOnly: Boolean(m[2]),
    });
  }
  for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) {
    out.push({
      from: file,
      to: normalize(join(dirname(file), m[1]!.replace(/\.js$/, ".ts"))),
      dynamic: true,
      typeOnly: false,
    });
  }
  return out;
}

const files = [...sources("src"), ...sources("shim"), ...sources("verify")];
const edges = files.flatMap(imports);

/** The imports that break the direction (the rules of the first test), as "from → to". */
function wrongImports(list: readonly Edge[]): string[] {
  return list
    .filter((e) => {
      const to = relative(root, join(root, e.to));
      if (!/^(src|shim|verify)\//.test(to)) return false; // checked below
      const a = layer(e.from),
        b = layer(to);
      if (a.name === "cli" && (b.name === "shim" || b.name === "verify")) return false; // checked below
      return b.rank > a.rank || (a.name === "shim" && b.name === "api") || (a.name === "api" && b.name === "shim");
    })
    .map((e) => `${e.from} → ${e.to}`);
}

test("every import runs downwards through the layers; the effects never load the harness", () => {
  assert.deepEqual(wrongImports(edges), []);
});

test("src reaches the shim and the harness only from the CLI, and only by dynamic import (simulating never loads ffi-rs)", () => {
  const wrong = edges
    .filter(
      (e) =>
        (e.to.startsWith("shim/") || e.to.startsWith("verify/")) &&
        e.from.startsWith("src/") &&
        (!e.from.startsWith("src/cli/") || (!e.dynamic && !e.typeOnly)),
    )
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(wrong, []);
});

test("nothing shipped imports tests, fixtures, the bench, scripts or the public testing entry", () => {
  const wrong = edges
    .filter(
      (e) =>
        /^(test|fixtures|bench|scripts)\//.test(e.to) ||
        (e.to.startsWith("src/testing/") && !e.from.startsWith("src/testing/")),
    )
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(wrong, []);
});

test("the layer check sees a wrong import (control): effects → harness, values → model, and an unplaced file", () => {
  assert.ok(edges.length > 100, "the import scan finds the imports");
  const fake = (from: string, to: string): Edge => ({ from, to, dynamic: false, typeOnly: false });
  assert.deepEqual(wrongImports([fake("shim/apply.ts", "verify/campaign.ts")]), ["shim/apply.ts → verify/campaign.ts"]);
  assert.deepEqual(wrongImports([fake("src/state.ts", "src/simulate.ts")]), ["src/state.ts → src/simulate.ts"]);
  assert.deepEqual(wrongImports([fake("verify/campaign.ts", "shim/trust.ts")]), [], "the harness may use the effects");
  assert.throws(() => layer("src/new-module.ts"), /has no layer/);
});
