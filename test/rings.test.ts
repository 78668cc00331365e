import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runner } from "../verify/runner.js";
// a path a shell script can run too (the descriptor behind execPath is this process's alone)
const RUNNER_PATH = runner().shown;
import { why, skip } from "../fixtures/kernel-gate.js";
import { CapSet } from "../src/index.js";

const child = fileURLToPath(new URL("../fixtures/rings-child.js", import.meta.url));

test(
  "rings on the main thread: init, nesting, throw, refusal, async serialization, and what they do not cover",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), "capgate-rings-"));
    chmodSync(dir, 0o755);
    // CAPABILITIES_BYPASS=1 is set: a program that did not opt in (bypassFromEnv) is not relaxed by it.
    const r = spawnSync(RUNNER_PATH, ["--userns", "--", process.execPath, child, join(dir, "secret")], {
      encoding: "utf8",
      env: { ...process.env, CAPABILITIES_BYPASS: "1" },
    });
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    const base = CapSet.of(5, 10).toHex();
    assert.deepEqual(
      o.init,
      { effective: "0x0", permitted: "0x1ffffffffff", bounding: base },
      "effective empty, permitted kept, bounding cut to the base ring",
    );
    assert.equal(o.unprivileged.effective, "0x0");
    assert.equal(o.unprivileged.syncRead, false, "the main thread cannot override file permissions at ring 3");
    assert.equal(o.required, base);
    assert.deepEqual(o.nested, { outer: "0x1ffffffffff", inner: "0x1", back: "0x1ffffffffff", syncRead: true });
    assert.equal(o.afterNested, "0x0");
    assert.deepEqual(o.afterThrow, { effective: "0x0", error: "boom" });
    assert.equal(o.refused.rule, "capset.effective-not-permitted");
    assert.match(
      o.refused.message,
      /cannot enter the requested ring: CAP_SYS_MODULE would be effective but is not in the new permitted set/,
    );
    assert.deepEqual(
      o.async.log,
      ["a1 0x1fffffeffff", "a2 0x1fffffeffff", "b1 0x20", "b2 0x20"],
      "serialized; each holds its set across its awaits",
    );
    assert.equal(o.async.after, "0x0");
    assert.deepEqual(
      o.nestedAsync.log,
      ["outer 0x1fffffeffff", `inner ${base}`, "outer again 0x1fffffeffff"],
      "an async ring inside an async ring nests and restores the outer set",
    );
    assert.equal(o.nestedAsync.after, "0x0");
    assert.match(o.secondInit, /Rings\.init was already called in this process/);
    assert.equal(o.secondInitEffective, "0x0", "a refused second init changes nothing");
    assert.ok(o.unreducedThreads > 0, "init lists the threads that kept their credentials");
    // A ring weaker than it looks: libuv pool threads started before init keep every capability,
    // so async file operations still override permissions at ring 3.
    const privilegedThreads = o.threads.filter((t: { dacOverrideEffective: boolean }) => t.dacOverrideEffective);
    assert.ok(privilegedThreads.length > 0, "threads started before init still hold CAP_DAC_OVERRIDE");
    assert.equal(o.unprivileged.asyncRead, true, "and an async read, run on one of them, succeeds at ring 3");
  },
);

test(
  "Rings.init whose bounding drop the kernel refuses (seccomp) restores the effective set and says which step",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const PR_CAPBSET_DROP = 24;
    const r = spawnSync(
      RUNNER_PATH,
      [
        "--userns",
        "--",
        RUNNER_PATH,
        "--seccomp-deny",
        `prctl:${PR_CAPBSET_DROP}`,
        "--",
        process.execPath,
        child,
        "--init-refused",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.match(o.error, /Rings\.init failed at step 2 \(PR_CAPBSET_DROP CAP_CHOWN\): the kernel refused it: EPERM/);
    assert.match(o.error, /the effective set was restored/);
    assert.equal(o.before, "0x400");
    assert.equal(o.after, o.before, "effective is what it was before init, not raised");
  },
);
