import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RUNNER_PATH } from "../shim/kernel-runner.js";
import { why, skip } from "../fixtures/kernel-gate.js";
import { CapSet } from "../src/index.js";

const child = fileURLToPath(new URL("../fixtures/rings-child.js", import.meta.url));

test("rings on the main thread: init, nesting, throw, refusal, async serialization, and what they do not cover", { skip, timeout: 60_000 }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "capgate-rings-"));
  chmodSync(dir, 0o755);
  const r = spawnSync(RUNNER_PATH, ["--userns", "--", process.execPath, child, join(dir, "secret")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  const base = CapSet.of(5, 10).toHex();
  assert.deepEqual(o.init, { effective: "0x0", permitted: "0x1ffffffffff", bounding: base }, "effective empty, permitted kept, bounding cut to the base ring");
  assert.equal(o.unprivileged.effective, "0x0");
  assert.equal(o.unprivileged.syncRead, false, "the main thread cannot override file permissions at ring 3");
  assert.equal(o.required, base);
  assert.deepEqual(o.nested, { outer: "0x1ffffffffff", inner: "0x1", back: "0x1ffffffffff", syncRead: true });
  assert.equal(o.afterNested, "0x0");
  assert.deepEqual(o.afterThrow, { effective: "0x0", error: "boom" });
  assert.equal(o.refused.rule, "capset.effective-not-permitted");
  assert.match(o.refused.message, /cannot enter the requested ring: CAP_SYS_MODULE would be effective but is not in the new permitted set/);
  assert.deepEqual(o.async.log, ["a1 0x1fffffeffff", "a2 0x1fffffeffff", "b1 0x20", "b2 0x20"], "serialized; each holds its set across its awaits");
  assert.equal(o.async.after, "0x0");
  // A ring weaker than it looks: libuv pool threads started before init keep every capability,
  // so async file operations still override permissions at ring 3.
  const privilegedThreads = o.threads.filter((t: { dacOverrideEffective: boolean }) => t.dacOverrideEffective);
  assert.ok(privilegedThreads.length > 0, "threads started before init still hold CAP_DAC_OVERRIDE");
  assert.equal(o.unprivileged.asyncRead, true, "and an async read, run on one of them, succeeds at ring 3");
});
