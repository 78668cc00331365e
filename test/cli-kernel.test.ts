// The kernel-facing CLI commands, run as a user would run the built binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runnerUnavailable } from "../shim/kernel-runner.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const inCI = process.env["CI"] === "true";
const why = runnerUnavailable();
const skip = why && !inCI ? `kernel runner unavailable: ${why}` : false;
const capgate = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test("capgate show reads the calling process like getpcaps; --json parses; a bad pid is a usage error", () => {
  const r = capgate(["show", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const status = readFileSync("/proc/1/status", "utf8");
  assert.match(doc.permitted, /^0x[0-9a-f]+$/);
  assert.equal(typeof doc.securebits, "number");
  const one = JSON.parse(capgate(["show", "1", "--json"]).stdout);
  assert.equal(one.bounding, `0x${BigInt("0x" + /CapBnd:\s*(\w+)/.exec(status)![1]).toString(16)}`);
  assert.equal(capgate(["show", "abc"]).code, 2);
  const gone = capgate(["show", "999999999"]);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /no process 999999999/);
});

const verifiable = readdirSync(join(root, "examples")).filter((f) => {
  const doc = JSON.parse(readFileSync(join(root, "examples", f), "utf8")) as { steps: Array<{ op: string }> };
  const exec = doc.steps.findIndex((s) => s.op === "execve");
  return exec === -1 || exec === doc.steps.length - 1;
});

for (const example of verifiable) {
  test(`capgate verify ${example}: engine and kernel agree on every step`, { skip }, () => {
    const r = capgate(["verify", `examples/${example}`, "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.agree, true);
    assert.ok(doc.steps.every((s: { agree: boolean }) => s.agree));
  });
}

test("capgate verify --fuzz runs a seeded campaign; --kernel 4.2 reports the ops that differ and exits 1", { skip, timeout: 60_000 }, () => {
  const ok = capgate(["verify", "--fuzz", "--trials", "500", "--seed", "5", "--json"]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  const doc = JSON.parse(ok.stdout);
  assert.deepEqual([doc.trials, doc.divergences, doc.seed], [500, 0, 5]);
  const wrong = capgate(["verify", "--fuzz", "--trials", "500", "--seed", "5", "--kernel", "4.2", "--json"]);
  assert.equal(wrong.code, 1);
  const w = JSON.parse(wrong.stdout);
  assert.ok(w.divergences > 0);
  assert.ok(Object.keys(w.differingOps).some((k) => k.startsWith("prctl (prctl.option-unknown)")));
  assert.match(w.first, /reproduce with `capgate simulate FILE`/);
});

test("capgate verify usage errors exit 2", () => {
  assert.equal(capgate(["verify"]).code, 2);
  assert.equal(capgate(["verify", "--fuzz", "--trials", "0"]).code, 2);
  assert.equal(capgate(["verify", "/nonexistent.json"]).code, 2);
  const mid = capgate(["verify", "examples/nnp-setuid-root.json"]);
  assert.equal(mid.code, 2);
  assert.match(mid.stderr, /an execve must be the last step/);
});
