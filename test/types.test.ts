// The published types, as consumers of each module kind see them: an ESM project (nodenext),
// a CommonJS project that requires the package (module nodenext or node20: Node 20.19+ loads
// ESM with require) and one compiled with `module: commonjs`, each type-checking a tiny consumer
// of every subpath with the TypeScript this repository builds with, and the CommonJS one run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsc = join(root, "node_modules/.bin/tsc");

const CONSUMER = `
import { CapSet, threadState, simulate, preflightCapset } from "capgate";
import { parseCapText } from "capgate/formats";
import type { Scenario } from "capgate/scenario";
import { plan } from "capgate/plan";
import { lintText } from "capgate/lint";
import { predictContainer } from "capgate/container";
import { fc, threadStateArb, opArb } from "capgate/testing";
import type { LaunchRequest } from "capgate/shim";
import type { FuzzCampaignOptions } from "capgate/verify";
const s = threadState({ uid: 1000, permitted: parseCapText("cap_net_raw=p").permitted, effective: CapSet.EMPTY });
export const ok: boolean = simulate(s, { op: "capget" }).ok && preflightCapset(s, { effective: CapSet.EMPTY }).ok;
export type Used = [Scenario, LaunchRequest, FuzzCampaignOptions];
export const used = [plan, lintText, predictContainer];
fc.assert(fc.property(threadStateArb(), opArb(), (st, op) => typeof simulate(st, op).ok === "boolean"), { numRuns: 20 });
`;

function project(kind: "module" | "commonjs", compilerOptions: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), `capgate-types-${kind}-`));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules/capgate"));
  symlinkSync(join(root, "node_modules/fast-check"), join(dir, "node_modules/fast-check"));
  // capgate/shim and capgate/verify are Node's: their types name Buffer and node:fs
  mkdirSync(join(dir, "node_modules/@types"));
  symlinkSync(join(root, "node_modules/@types/node"), join(dir, "node_modules/@types/node"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: kind }));
  writeFileSync(join(dir, "index.ts"), CONSUMER);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, outDir: "out", skipLibCheck: false, types: ["node"], ...compilerOptions },
      files: ["index.ts"],
    }),
  );
  return dir;
}
const check = (dir: string) => spawnSync(tsc, ["-p", dir], { encoding: "utf8" });

for (const [name, kind, options] of [
  ["an ESM project (module nodenext)", "module", { module: "nodenext" }],
  ["a CommonJS project (module nodenext: require of the ESM package)", "commonjs", { module: "nodenext" }],
  ["a CommonJS project (module node20)", "commonjs", { module: "node20" }],
  ["a CommonJS project (module commonjs)", "commonjs", { module: "commonjs" }],
] as const) {
  test(`types: ${name} type-checks a consumer of every subpath`, { timeout: 60_000 }, () => {
    const dir = project(kind, options);
    const r = check(dir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    if (kind === "commonjs" && options.module === "nodenext") {
      // and it runs: a pre-flight and a simulate through require()
      const run = spawnSync(process.execPath, [join(dir, "out/index.js")], { encoding: "utf8" });
      assert.equal(run.status, 0, run.stderr);
      const out = spawnSync(
        process.execPath,
        ["-e", `console.log(require(${JSON.stringify(join(dir, "out/index.js"))}).ok)`],
        {
          encoding: "utf8",
        },
      );
      assert.equal(out.stdout.trim(), "true", out.stderr);
    }
  });
}
