// capgate exec for real: plan, apply through the shim, execve /bin/cat /proc/self/status, and
// compare what the kernel gave the program with the engine's prediction. In throwaway user
// namespaces (build/capfuzz --userns); the test runner's own capabilities are never touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, copyFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { why, skip, inNamespace } from "../fixtures/kernel-gate.js";
import { parseStatus } from "../src/formats/proc-status.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");


interface Prediction { ok: boolean; predicted: { permitted: string; effective: string; inheritable: string; bounding: string; ambient: string; ruid: number; euid: number; noNewPrivs: boolean }; steps: Array<{ rule: string }> }

const targets: Array<[string, string[]]> = [
  ["a non-root web server keeping CAP_NET_BIND_SERVICE (ambient)", ["--user", "1000", "--keep", "net_bind_service"]],
  ["a backup job with only CAP_DAC_READ_SEARCH and no_new_privs", ["--user", "1000", "--keep", "dac_read_search", "--no-new-privs"]],
  ["root holding exactly CAP_NET_RAW within a two-capability bounding set", ["--user", "0", "--bounding", "net_bind_service,net_raw", "--keep", "net_raw"]],
  ["a program that can regain nothing, Tracee-style", ["--user", "1000", "--keep", "net_admin,bpf,perfmon", "--no-regain"]],
  ["a user with no capabilities at all", ["--user", "1001"]],
];

for (const [name, args] of targets) {
  test(`capgate exec: ${name}: the program holds what the engine predicted`, { skip, timeout: 60_000 }, () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const q = (a: string[]) => a.map((x) => `'${x}'`).join(" ");
    const r = inNamespace(`node ${bin} exec --dry-run --json ${q(args)} -- /bin/cat /proc/self/status\necho ===\nnode ${bin} exec ${q(args)} -- /bin/cat /proc/self/status\n`);
    assert.equal(r.status, 0, r.stderr);
    const [plan, status] = r.stdout.split("===\n");
    const p = JSON.parse(plan!) as Prediction;
    assert.equal(p.ok, true);
    const s = parseStatus(status!);
    const hex = (x: { toHex(): string }) => x.toHex();
    assert.deepEqual(
      { permitted: hex(s.permitted), effective: hex(s.effective), inheritable: hex(s.inheritable), bounding: hex(s.bounding), ambient: hex(s.ambient), ruid: s.ruid, euid: s.euid, noNewPrivs: s.noNewPrivs },
      { permitted: p.predicted.permitted, effective: p.predicted.effective, inheritable: p.predicted.inheritable, bounding: p.predicted.bounding, ambient: p.predicted.ambient, ruid: p.predicted.ruid, euid: p.predicted.euid, noNewPrivs: p.predicted.noNewPrivs },
    );
    assert.equal(s.name, "cat", "nothing of Node remains: the process is cat");
  });
}

test("capgate exec on a copy of cat with file capabilities: the file grants CAP_NET_RAW, as predicted", { skip, timeout: 60_000 }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "capgate-fcat-"));
  chmodSync(dir, 0o755);
  const cat = join(dir, "cat");
  copyFileSync("/bin/cat", cat);
  chmodSync(cat, 0o755);
  const r = inNamespace(`node ${bin} file --set cap_net_raw+ep ${cat} >/dev/null\nnode ${bin} exec --dry-run --json --user 1000 --keep net_raw -- ${cat} /proc/self/status\necho ===\nnode ${bin} exec --user 1000 --keep net_raw -- ${cat} /proc/self/status\n`);
  assert.equal(r.status, 0, r.stderr);
  const [plan, status] = r.stdout.split("===\n");
  const p = JSON.parse(plan!) as Prediction;
  assert.ok(!p.steps.some((s) => s.rule === "ambient.raise"), "the file capabilities give it; no ambient needed");
  const s = parseStatus(status!);
  assert.deepEqual([s.permitted.toHex(), s.effective.toHex(), s.ruid], [p.predicted.permitted, p.predicted.effective, 1000]);
  assert.equal(s.permitted.toHex(), "0x2000");
});

test("capgate exec refuses, with the reason and exit 1, what cannot be reached; nothing is run", { skip, timeout: 60_000 }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  // a capgate that holds only CAP_NET_RAW, bounding included (run by capgate exec; it stays
  // root, so it can read the checkout wherever CI put it), asking for CAP_NET_ADMIN
  const r = inNamespace(`node ${bin} exec --quiet --user 0 --bounding net_raw --keep net_raw -- ${process.execPath} ${bin} exec --keep net_admin -- /bin/echo SHOULD-NOT-RUN; echo "exit=$?"\n`);
  assert.match(r.stderr, /cannot run \/bin\/echo as asked:\n  - CAP_NET_ADMIN is not permitted and not in the bounding set/);
  assert.match(r.stdout, /exit=1/);
  assert.doesNotMatch(r.stdout, /SHOULD-NOT-RUN/);
});

test("capgate exec: usage errors exit 2", () => {
  const run = (args: string[]) => spawnSync(process.execPath, [bin, "exec", ...args], { encoding: "utf8" });
  assert.equal(run(["--dry-run", "--keep", "net_admn", "--", "/bin/true"]).status, 2);
  assert.equal(run(["--dry-run", "--keep", "net_admin", "--drop", "net_admin", "--", "/bin/true"]).status, 2);
  assert.equal(run(["--dry-run", "--user", "no-such-user-here", "--", "/bin/true"]).status, 2);
  const missing = run(["--dry-run", "--", "/nonexistent/prog"]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such program/);
});

test("Tracee's --capabilities form: add=/drop= lists over commas, repeatable, bypass", async () => {
  const { parseTraceeCapabilities } = await import("../src/cli/exec.js");
  assert.deepEqual(parseTraceeCapabilities(["drop=cap_sys_admin,add=cap_net_raw,cap_kill", "bypass=false"]), { add: ["cap_net_raw", "cap_kill"], drop: ["cap_sys_admin"], bypass: false });
  assert.equal(parseTraceeCapabilities(["bypass=true"]).bypass, true);
  assert.throws(() => parseTraceeCapabilities(["cap_kill"]), /expected add=, drop= or bypass=/);
  assert.throws(() => parseTraceeCapabilities(["bypass=maybe"]), /bypass takes true or false/);
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, "exec", "--dry-run", ...args, "--", "/bin/true"], { encoding: "utf8", env: { ...process.env, ...env } });
  assert.match(run(["--capabilities", "bypass=true"]).stdout, /^bypass: /);
  assert.match(run([], { CAPABILITIES_BYPASS: "1" }).stdout, /^bypass: /);
  const planned = run(["--json", "--capabilities", "add=cap_net_raw", "--capabilities", "drop=cap_sys_admin"]);
  const doc = JSON.parse(planned.stdout) as { predicted: { permitted: string; bounding: string } };
  assert.equal(doc.predicted.permitted, "0x2000");
  assert.equal(BigInt(doc.predicted.bounding) & (1n << 21n), 0n);
});
