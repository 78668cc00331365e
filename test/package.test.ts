// What `npm pack` ships: the build, the runner's C source and header, the examples, the
// LICENSE, source maps that carry their sources, and a manifest without the checkout's
// `prepare` script (npm 11 warns installers about install scripts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("npm pack ships the build, the runner source, the examples and the LICENSE, and nothing stale", () => {
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  for (const must of [
    "LICENSE",
    "README.md",
    "bin/capgate",
    "build/capgate.wasm",
    "native/capfuzz.c",
    "native/contract.h",
    "native/container-report.c",
    "docs/SCENARIOS.md",
    "docs/CONTAINERS.md",
    "dist/src/container/index.js",
    "examples/containers/nonroot-cap-add.compose.yml",
    "dist/src/index.js",
    "dist/shim/index.js",
    "examples/capset-permitted-grows.json",
    "dist/playground/index.html",
    "dist/playground/app.js",
    "dist/playground/examples.json",
    "dist/playground/rules.html",
  ])
    assert.ok(files.includes(must), `${must} is shipped`);
  for (const f of files) {
    // the playground's bundle is built from playground/main.ts, not from a file of its own name
    if (!f.startsWith("dist/") || !f.endsWith(".js") || f.startsWith("dist/playground/")) continue;
    assert.ok(
      existsSync(join(root, f.replace(/^dist\//, "").replace(/\.js$/, ".ts"))),
      `${f} has a source (no stale build output)`,
    );
  }
  assert.ok(
    !files.some((f) => f.startsWith("dist/test/") || f.startsWith("dist/fixtures/")),
    "no tests in the package",
  );
});

test("source maps carry their sources (the TypeScript is not shipped)", () => {
  const map = JSON.parse(readFileSync(join(root, "dist/src/simulate.js.map"), "utf8")) as { sourcesContent?: string[] };
  assert.ok(map.sourcesContent?.[0]?.includes("export function simulate"));
});

test("the packed manifest has no prepare script, and the checkout's comes back after", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-pack-"));
  const pkg = { name: "x", scripts: { prepare: "npm run build", test: "t" } };
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg));
  const run = (verb: string) =>
    spawnSync(process.execPath, [join(root, "dist/scripts/pack-manifest.js"), verb], {
      env: { ...process.env, CAPGATE_PACK_ROOT: `${dir}/` },
    });
  assert.equal(run("strip").status, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts, { test: "t" });
  assert.equal(run("restore").status, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")), pkg);
  const real = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
    peerDependencies: Record<string, string>;
    dependencies: Record<string, string>;
  };
  assert.match(real.scripts["prepack"]!, /pack-manifest\.js strip/);
  assert.ok(
    real.peerDependencies["fast-check"] && !real.dependencies["fast-check"],
    "fast-check is a peer: one copy shared with the user's own tests",
  );
});
