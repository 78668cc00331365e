// The shim applied for real, in a throwaway user namespace (build/capfuzz --userns -- node
// fixtures/shim-child.js): the test runner's own capabilities are never touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runner } from "../verify/runner.js";
// a path a shell script can run too (the descriptor behind execPath is this process's alone)
const RUNNER_PATH = runner().shown;
import { inCI, why, skip } from "../fixtures/kernel-gate.js";
import { parseStatus } from "../shim/thread-state.js";

const child = fileURLToPath(new URL("../fixtures/shim-child.js", import.meta.url));

interface Step {
  name: string;
  ok: boolean;
  rule?: string;
  refused?: string;
  errno?: string;
  divergence?: string[];
  reproducer?: unknown;
  permitted?: string;
  effective?: string;
  ambient?: string;
  bounding?: string;
  inheritable?: string;
  unchanged?: string;
  euid?: number;
}

test(
  "apply() pre-flights, refuses what would fail, applies what would not, and proves it",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const r = spawnSync(RUNNER_PATH, ["--userns", "--", process.execPath, child], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      steps: Step[];
      threads: Array<{ tid: number; differs: string[] }>;
      workerTid: number;
      fcaps: {
        permitted: string;
        effective: boolean;
        version: number;
        rootid: number;
        getcap: string | null;
        afterRemove: unknown;
      };
    };
    const step = (name: string) => out.steps.find((s) => s.name === name)!;

    assert.deepEqual(step("drop sys_module"), {
      ...step("drop sys_module"),
      ok: true,
      rule: "capset.ok",
      permitted: "0x1fffffeffff",
    });
    const back = step("take it back");
    assert.equal(back.refused, "capset.permitted-grows");
    assert.equal(back.errno, "EPERM");
    assert.equal(back.unchanged, "0x1fffffeffff", "a refused change is not made");
    assert.equal(step("bounding drop net_raw").bounding, "0x1ffffffdfff");
    assert.equal(step("ambient raise without inheritable").refused, "ambient.raise-not-inheritable");
    assert.equal(step("ambient raise").ambient, "0x400");
    const setuid = step("setresuid 1000");
    assert.deepEqual(
      [setuid.ok, setuid.euid, setuid.permitted, setuid.effective, setuid.ambient],
      [true, 1000, "0x1fffffeffff", "0x0", "0x0"],
      "keep-caps kept permitted; effective and ambient cleared, as predicted and as read back",
    );

    const forced = step("wrong model, forced");
    assert.ok(forced.divergence, "a wrong prediction is a ModelDivergence, never accepted");
    assert.ok(forced.divergence.some((d) => d.startsWith("return value: predicted -1, kernel 0")));
    assert.equal((forced.reproducer as { kernel: string }).kernel, "6.12");

    // File capabilities through the shim: written, read back (the namespace's reader sees v2),
    // the same as libcap's getcap prints, and removed.
    assert.deepEqual(
      { ...out.fcaps, getcap: undefined },
      { permitted: "0x2400", effective: true, version: 2, rootid: 0, getcap: undefined, afterRemove: null },
    );
    if (inCI || out.fcaps.getcap !== null) assert.equal(out.fcaps.getcap, "FILE cap_net_bind_service,cap_net_raw=ep");

    // Per-thread honesty: threads made before the change keep full capabilities and uid 0; a
    // Worker made afterwards by the main thread copies the main thread's reduced state.
    assert.ok(out.threads.length > 0, "some threads of the Node process still hold what the main thread gave up");
    assert.ok(out.threads.every((t) => t.differs.includes("permitted") && t.differs.includes("euid")));
    assert.ok(!out.threads.some((t) => t.tid === out.workerTid), "the new Worker thread matches the main thread");
  },
);

test("parseStatus reads a /proc status file, including a kernel without CapAmb", () => {
  const s = parseStatus(
    "Name:\tping\nUid:\t1000\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t0000000000002000\nCapEff:\t0000000000002000\nCapBnd:\t000001ffffffffff\nNoNewPrivs:\t1\n",
  );
  assert.equal(s.name, "ping");
  assert.deepEqual([s.ruid, s.euid, s.suid, s.fsuid, s.noNewPrivs], [1000, 0, 0, 0, true]);
  assert.equal(s.permitted.toHex(), "0x2000");
  assert.ok(s.ambient.isEmpty);
});

test("the shim refuses to load off the main thread with a clear error, and the process exits cleanly (no SIGSEGV from ffi-rs)", () => {
  const shim = new URL("../shim/index.js", import.meta.url).href;
  const program = `
    import { Worker } from "node:worker_threads";
    const w = new Worker(\`
      Promise.all([import("node:worker_threads"), import(${JSON.stringify(shim)})]).then(([{ parentPort }, m]) => {
        try { m.loadShim(); parentPort.postMessage("loaded"); }
        catch (e) { parentPort.postMessage(e.name + ": " + e.message); }
      });
    \`, { eval: true });
    w.on("message", (m) => { console.log(m); w.terminate(); });
  `;
  for (let run = 0; run < 3; run++) {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.signal, null, `run ${run}: killed by ${r.signal}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ShimUnavailable: the capgate shim works on the main thread only/);
  }
});
