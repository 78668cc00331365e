// The import direction, enforced: cli → (plan, watch, lint, scenario, fuzz) → (simulate, rules,
// formats) → engine (wasm, codec) → values (capabilities, kernel, state, ops) → the generated
// contract and the error bases. The shim depends on src, never on the CLI; nothing shipped
// depends on tests, fixtures, the bench or the public testing entry; and src reaches the shim
// only from the CLI, through dynamic imports (simulating never loads ffi-rs).
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
    [/^src\/(state|ops|userns)\.ts$/, "values", 1],
    [/^src\/engine\//, "engine", 2],
    [/^src\/(simulate|check-batch|describe|reference)\.ts$/, "model", 3],
    [/^src\/rules\//, "model", 3],
    [/^src\/(formats|parse)\//, "formats", 4],
    [/^src\/(plan|watch|lint|scenario|fuzz)\//, "features", 5],
    [/^src\/(index\.ts|testing\/)/, "api", 6],
    [/^shim\//, "shim", 6],
    [/^src\/cli\//, "cli", 7],
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

const files = [...sources("src"), ...sources("shim")];
const edges = files.flatMap(imports);

test("every import runs downwards through the layers", () => {
  const wrong = edges
    .filter((e) => {
      const to = relative(root, join(root, e.to));
      if (!/^(src|shim)\//.test(to)) return false; // checked below
      const a = layer(e.from),
        b = layer(to);
      if (a.name === "cli" && b.name === "shim") return false; // checked below
      return b.rank > a.rank || (a.name === "shim" && b.name === "api") || (a.name === "api" && b.name === "shim");
    })
    .map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(wrong, []);
});

test("src reaches the shim only from the CLI, and only by dynamic import (simulating never loads ffi-rs)", () => {
  const wrong = edges
    .filter(
      (e) =>
        e.to.startsWith("shim/") &&
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

test("the layer check sees a wrong import (control)", () => {
  assert.equal(layer("src/capabilities/set.ts").rank < layer("src/simulate.ts").rank, true);
  assert.throws(() => layer("src/new-module.ts"), /has no layer/);
  assert.ok(edges.length > 100, "the import scan finds the imports");
});
