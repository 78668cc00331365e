import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".json"))
  .sort();

function capgate(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: "utf8",
    input,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function scenarioFile(doc: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "capgate-"));
  const file = join(dir, "s.json");
  writeFileSync(file, typeof doc === "string" ? doc : JSON.stringify(doc));
  return file;
}

/**
 * The lessons the bundled examples teach (the pain points users hit most), each with the rules
 * and notes its example must show when it runs: an example that stops demonstrating its lesson
 * (a rule renamed, a step edited away) fails here, and a lesson without an example too.
 */
const LESSONS: Record<string, { example: string; rules?: string[]; notes?: string[] }> = {
  "permitted only shrinks": { example: "capset-permitted-grows.json", rules: ["capset.permitted-grows"] },
  "effective within permitted": { example: "capset-permitted-grows.json", rules: ["capset.effective-not-permitted"] },
  "inheritable needs CAP_SETPCAP": {
    example: "capset-setpcap-inheritable.json",
    rules: ["capset.inheritable-not-permitted"],
  },
  "inheritable within bounding": {
    example: "capset-inheritable-bounding.json",
    rules: ["capset.inheritable-outside-bounding"],
  },
  "keep caps across setuid with ambient": {
    example: "ambient-keep-across-setuid.json",
    rules: ["keepcaps.set", "ambient.raise-not-permitted", "ambient.raise"],
  },
  "a V1 header truncates": { example: "capget-v1-truncation.json", rules: ["capset.permitted-grows"] },
  "libcap's version probe": {
    example: "capget-version-probe.json",
    rules: ["capget.version-probe", "capget.null-data"],
  },
  "capget of other tasks": { example: "capget-other-tasks.json", rules: ["capget.other-task", "capset.pid-not-self"] },
  "capability-dumb binaries": { example: "exec-capability-dumb-binary.json", rules: ["execve.capability-dumb"] },
  "nosuid mounts": { example: "exec-nosuid-mount.json", notes: ["execve.nosuid"] },
  "a tracer blocks gains": { example: "exec-ptraced.json", notes: ["execve.ptraced"] },
  "root regains from bounding": { example: "exec-root-regains-from-bounding.json", notes: ["execve.root"] },
  "file caps on scripts do nothing": { example: "exec-script-caps.json", notes: ["execve.script"] },
  "set-id exec clears ambient": { example: "exec-setgid-drops-ambient.json", notes: ["ambient.cleared"] },
  "no_new_privs ignores setuid": { example: "nnp-setuid-root.json", notes: ["execve.setuid-ignored"] },
  "securebits locks are one-way": {
    example: "securebits-locked.json",
    rules: ["keepcaps.locked", "securebits.lock-cleared", "securebits.locked-bit-changes"],
  },
  SECBIT_NOROOT: { example: "securebits-noroot.json", rules: ["securebits.set"] },
  "rootless containers": {
    example: "userns-rootless-setuid.json",
    rules: ["unshare.ok", "setuid.unmapped-id", "setgroups.denied", "prctl.needs-initial-ns"],
  },
  "subordinate id ranges": { example: "userns-subuid-range.json", notes: ["execve.fcaps-ignored"] },
  "a backup job's plan": { example: "plan-backup-job.json", rules: ["nnp.set", "ambient.raise"] },
  "a web server's plan": { example: "plan-web-server.json", rules: ["keepcaps.set", "ambient.raise"] },
  "a bounding set cut to size": { example: "plan-tracee-style.json", rules: ["bounding.drop"] },
  "a container's cap_add for a non-root user": {
    example: "container-docker-nonroot-cap-add.json",
    rules: ["bounding.drop", "keepcaps.set", "setgroups.ok", "setuid.ok", "capset.ok", "execve.ok"],
  },
};

for (const [lesson, want] of Object.entries(LESSONS)) {
  test(`the examples teach: ${lesson} (${want.example})`, () => {
    const r = capgate(["simulate", `examples/${want.example}`, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const steps = (JSON.parse(r.stdout) as { steps: Array<{ rule: string; notes?: Array<{ id: string }> }> }).steps;
    const rules = new Set(steps.map((s) => s.rule));
    const notes = new Set(steps.flatMap((s) => (s.notes ?? []).map((n) => n.id)));
    for (const rule of want.rules ?? []) assert.ok(rules.has(rule), `${want.example} shows ${rule}`);
    for (const note of want.notes ?? []) assert.ok(notes.has(note), `${want.example} notes ${note}`);
  });
}

test("every bundled example teaches a lesson listed above", () => {
  const taught = new Set(Object.values(LESSONS).map((l) => l.example));
  assert.deepEqual(
    examples.filter((e) => !taught.has(e)),
    [],
  );
});

for (const example of examples) {
  test(`example ${example} meets its expectations (table and JSON)`, () => {
    const table = capgate(["simulate", `examples/${example}`]);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    assert.match(table.stdout, /expectations met/);
    const json = capgate(["simulate", `examples/${example}`, "--json"]);
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout);
    assert.equal(doc.passed, true);
    assert.ok(doc.steps.length > 0);
    for (const step of doc.steps) {
      assert.equal(step.expect?.met ?? true, true);
      assert.match(step.state.permitted, /^0x[0-9a-f]+$/);
      assert.equal(typeof step.rule, "string");
      assert.equal(step.ok, step.errno === null);
    }
  });
}

test("simulate --json follows the scenario-format output contract", () => {
  const file = scenarioFile({
    kernel: "6.18",
    state: { uid: 1000, permitted: ["CAP_NET_RAW"], effective: [] },
    steps: [
      {
        op: "capset",
        permitted: ["CAP_NET_RAW", "CAP_CHOWN"],
        effective: [],
        inheritable: [],
        expect: { errno: "EPERM" },
      },
      { op: "capget" },
    ],
  });
  const r = capgate(["simulate", file, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.kernel, "6.18");
  const [s0, s1] = doc.steps;
  assert.deepEqual(
    { op: s0.op, ok: s0.ok, errno: s0.errno, ret: s0.ret, rule: s0.rule },
    { op: "capset", ok: false, errno: "EPERM", ret: -1, rule: "capset.permitted-grows" },
  );
  assert.equal(s0.message, "CAP_CHOWN is not in the permitted set, and capset can never add to permitted");
  assert.equal(typeof s0.hint, "string");
  assert.deepEqual(s0.expect, { met: true });
  assert.equal(s0.version, 0x20080522);
  assert.deepEqual(s0.state, {
    permitted: "0x2000",
    effective: "0x0",
    inheritable: "0x0",
    bounding: "0x1ffffffffff",
    ambient: "0x0",
    securebits: 0,
    ruid: 1000,
    euid: 1000,
    suid: 1000,
    fsuid: 1000,
    rgid: 0,
    egid: 0,
    sgid: 0,
    fsgid: 0,
    groups: [],
    noNewPrivs: false,
  });
  assert.deepEqual(s1.data, { effective: "0x0", permitted: "0x2000", inheritable: "0x0" });
  assert.deepEqual(doc.final, s1.state);
});

test("an unmet expectation exits 1 and says what differed", () => {
  const file = scenarioFile({ steps: [{ op: "capset", pid: 7, expect: { ok: true } }] });
  const r = capgate(["simulate", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /NOT MET/);
  assert.match(r.stdout, /expected ok: expected true, got false/);
});

const bad: Array<[string, unknown, RegExp]> = [
  [
    "unknown capability name",
    { steps: [{ op: "capset", permitted: ["CAP_NET_RAWW"] }] },
    /steps\[0\]\.permitted\[0\]: unknown capability name "CAP_NET_RAWW"/,
  ],
  [
    "number above CAP_LAST_CAP",
    { kernel: "5.4", state: { permitted: [39] }, steps: [] },
    /state\.permitted\[0\]: capability 39 is above CAP_LAST_CAP \(37\) of kernel 5\.4/,
  ],
  [
    "name the kernel lacks",
    { kernel: "5.7", steps: [{ op: "capset", permitted: "cap_bpf" }] },
    /CAP_BPF does not exist in kernel 5\.7 \(added in 5\.8\)/,
  ],
  [
    "malformed hex",
    { steps: [{ op: "capset", effective: "0xZZ" }] },
    /steps\[0\]\.effective: "0xZZ" is not a hex mask/,
  ],
  ["unknown op", { steps: [{ op: "capsett" }] }, /steps\[0\]\.op: unknown op "capsett"/],
  ["unknown field", { steps: [{ op: "capset", permited: [] }] }, /steps\[0\]\.permited: unknown field/],
  [
    "impossible state",
    { state: { permitted: [], effective: ["CAP_CHOWN"] }, steps: [] },
    /state: impossible state: effective may not exceed permitted: CAP_CHOWN is effective but not permitted; take it out of effective or add it to permitted/,
  ],
  [
    "securebits the profile's kernel does not have (EXEC_RESTRICT_FILE before 6.14)",
    { kernel: "6.12", state: { securebits: ["SECBIT_EXEC_RESTRICT_FILE"] }, steps: [] },
    /state: impossible state: securebits 0x100 holds 0x100, bits kernel 6\.12 does not have/,
  ],
  [
    "securebits no kernel has",
    { state: { securebits: 0x1000 }, steps: [] },
    /state: impossible state: securebits 0x1000 holds 0x1000, bits kernel 7\.3 does not have/,
  ],
  ["bad kernel", { kernel: "2.4", steps: [] }, /kernel: kernel 2\.4 is older than the oldest modelled kernel/],
  [
    "out-of-range uid",
    { steps: [{ op: "setuid", uid: 5e9 }] },
    /steps\[0\]\.uid: expected an integer from -1 to 4294967295/,
  ],
  [
    "unknown prctl option name",
    { steps: [{ op: "prctl", option: "PR_CAPBSET_DROPP" }] },
    /steps\[0\]\.option: unknown prctl option/,
  ],
  [
    "unknown securebit",
    { state: { securebits: ["SECBIT_NOROOTT"] }, steps: [] },
    /state\.securebits: unknown securebit "SECBIT_NOROOTT"/,
  ],
  [
    "unknown rule in expect",
    { steps: [{ op: "capget", expect: { rule: "capget.okk" } }] },
    /steps\[0\]\.expect\.rule: unknown rule id/,
  ],
  ["steps missing", { state: {} }, /steps: expected a list of steps/],
];
for (const [name, doc, message] of bad) {
  test(`bad input exits 2 naming the file, step and field: ${name}`, () => {
    const file = scenarioFile(doc);
    const r = capgate(["simulate", file]);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, message);
    assert.ok(r.stderr.startsWith(`capgate: ${file}: `), r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.equal(r.stdout, "");
  });
}

test("bad JSON, a missing file and a directory are input errors (exit 2)", () => {
  const broken = capgate(["simulate", scenarioFile("{ not json")]);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /not valid JSON/);
  const missing = capgate(["simulate", "/nonexistent/scenario.json"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /capgate: \/nonexistent\/scenario\.json: no such file/);
  const dir = capgate(["simulate", root]);
  assert.equal(dir.code, 2);
  assert.match(dir.stderr, /is a directory/);
});

test("a scenario can come from standard input", () => {
  const r = capgate(["simulate", "-", "--json"], JSON.stringify({ steps: [{ op: "capget", version: "v1" }] }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).steps[0].rule, "capget.ok");
});

test("usage errors exit 2; --help and --version exit 0", () => {
  assert.equal(capgate(["frobnicate"]).code, 2);
  assert.equal(capgate(["simulate"]).code, 2);
  assert.equal(capgate(["simulate", "x.json", "--bogus"]).code, 2);
  for (const cmd of [["--help"], ["simulate", "--help"], ["caps", "--help"], ["rules", "--help"], ["--version"]]) {
    const r = capgate(cmd);
    assert.equal(r.code, 0, cmd.join(" "));
    assert.ok(r.stdout.length > 0);
  }
});

test("caps lists the table; --kernel limits it; --json parses", () => {
  const r = capgate(["caps", "--json"]);
  assert.equal(r.code, 0);
  const caps = JSON.parse(r.stdout);
  assert.equal(caps.length, 41);
  assert.deepEqual(caps[40], {
    name: "CAP_CHECKPOINT_RESTORE",
    number: 40,
    since: "5.9",
    description: caps[40].description,
  });
  assert.equal(JSON.parse(capgate(["caps", "--json", "--kernel", "5.4"]).stdout).length, 38);
  assert.match(capgate(["caps"]).stdout, /13\s+CAP_NET_RAW\s+2\.2/);
  const badKernel = capgate(["caps", "--kernel", "banana"]);
  assert.equal(badKernel.code, 2);
  assert.match(badKernel.stderr, /kernel version must look like/);
});

test("rules lists every rule id", async () => {
  const { RULES } = await import("../src/rules/catalog.js");
  const rules = JSON.parse(capgate(["rules", "--json"]).stdout) as Array<{ id: string; errno: string | null }>;
  assert.deepEqual(
    rules.map((r) => r.id),
    RULES.map((r) => r.id),
  );
  assert.deepEqual(
    rules.map((r) => r.errno),
    RULES.map((r) => r.errno),
  );
});

test("--kernel overrides a scenario's profile", () => {
  const file = scenarioFile({ steps: [{ op: "prctl", option: "PR_CAP_AMBIENT", arg2: 1, arg3: 13 }] });
  assert.equal(JSON.parse(capgate(["simulate", file, "--json"]).stdout).steps[0].rule, "ambient.is-set");
  assert.equal(
    JSON.parse(capgate(["simulate", file, "--json", "--kernel", "4.2"]).stdout).steps[0].rule,
    "prctl.option-unknown",
  );
});

test("simulate for CI: several files, JUnit (valid XML, the right counts), TAP, GitHub annotations at the failing step's line, Markdown", async () => {
  const { XMLValidator, XMLParser } = await import("fast-xml-parser");
  const dir = mkdtempSync(join(tmpdir(), "capgate-reports-"));
  const failing = join(dir, "one-fails.json");
  writeFileSync(
    failing,
    '{\n  "steps": [\n    { "op": "capget", "expect": { "ok": true } },\n    { "op": "capset", "permitted": "cap_net_raw",\n      "expect": { "errno": "EINVAL" } }\n  ]\n}\n',
  );
  const good = join(root, "examples/capset-permitted-grows.json");
  const report = join(dir, "report.xml");
  const r = capgate(["simulate", good, failing, "--junit", report, "--github"]);
  assert.equal(r.code, 1, "one expectation unmet");
  const xmlText = readFileSync(report, "utf8");
  assert.equal(XMLValidator.validate(xmlText), true);
  const doc = new XMLParser({ ignoreAttributes: false }).parse(xmlText) as {
    testsuites: { "@_tests": string; "@_failures": string; testsuite: Array<{ testcase: unknown }> };
  };
  assert.deepEqual([doc.testsuites["@_tests"], doc.testsuites["@_failures"]], ["6", "1"]);
  assert.equal((xmlText.match(/<failure /g) ?? []).length, 1);
  assert.match(xmlText, /errno: expected &quot;EINVAL&quot;, got &quot;EPERM&quot;/);
  assert.match(xmlText, /capset\.effective-not-permitted/, "the failure carries the rule");
  assert.match(
    r.stdout,
    new RegExp(
      `^::error file=${failing.replace(/[/.]/g, "\\$&")},line=4,title=step 2%3A capset p=net_raw::errno: expected "EINVAL"`,
      "m",
    ),
  );
  const t = capgate(["simulate", failing, "--tap"]);
  assert.match(
    t.stdout,
    /^TAP version 13\n1\.\.2\nok 1 - .* step 1: capget\nnot ok 2 - .* step 2: capset p=net_raw\n  ---\n/,
  );
  const md = capgate(["simulate", good, "--format", "markdown"]).stdout;
  assert.match(md, /^### .*capset-permitted-grows\.json \(kernel 6\.18\)/);
  assert.match(md, /\| # \| call \| result \| rule \| changed \| why \| expectation \|/);
  assert.equal(md.split("\n").filter((l) => /^\| \d+ \|/.test(l)).length, 4);
  assert.equal(capgate(["simulate", good, "--format", "html"]).code, 2);
  const many = JSON.parse(capgate(["simulate", good, failing, "--json"]).stdout) as unknown[];
  assert.equal(many.length, 2, "--json gives a list for several files");
});

test("capgate playground serves the built page on 127.0.0.1 and nothing else; a bad --port is bad input", async () => {
  const bad = capgate(["playground", "--port", "70000"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "capgate: --port: expected 0 to 65535, got 70000\n");
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [bin, "playground", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /capgate playground/);
    assert.equal((await fetch(`${url}app.js`)).headers.get("content-type"), "text/javascript; charset=utf-8");
    // only the page's own files: no directory walk, no other method
    for (const path of ["package.json", "..%2Fpackage.json", "%2e%2e/%2e%2e/package.json", "app.js/"])
      assert.equal((await fetch(`${url}${path}`)).status, 404, path);
    assert.equal((await fetch(url, { method: "POST", body: "x" })).status, 404);
  } finally {
    child.kill();
  }
});

test("simulate: a step outside the model exits 3, says so, and the steps after it are not run (JUnit skipped, TAP SKIP)", async () => {
  const file = scenarioFile({
    steps: [
      { op: "capget", expect: { ok: true } },
      { op: "capget", pid: 1, expect: { rule: "capget.not-modelled" } },
      { op: "prctl", option: "PR_GET_KEEPCAPS", expect: { ret: 0 } },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), "capgate-outside-"));
  const r = capgate(["simulate", file, "--junit", join(dir, "j.xml")]);
  assert.equal(r.code, 3);
  assert.match(r.stdout, /2 +capget pid=1 +not modelled +capget\.not-modelled/);
  assert.match(r.stdout, /3 +prctl PR_GET_KEEPCAPS +not run/);
  assert.match(r.stdout, /step 2 is outside the model, so the state after it is unknown/);
  const { XMLParser } = await import("fast-xml-parser");
  const doc = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(join(dir, "j.xml"), "utf8"));
  const suite = doc.testsuites.testsuite;
  assert.deepEqual([suite["@_tests"], suite["@_failures"], suite["@_skipped"]], ["3", "0", "1"]);
  assert.match(capgate(["simulate", file, "--tap"]).stdout, /^ok 3 - .* # SKIP not run: step 2 is outside the model$/m);
  // an expectation that fails before or at the step wins: exit 1
  const unmet = scenarioFile({ steps: [{ op: "prctl", option: 3, expect: { errno: "EINVAL" } }] });
  const u = capgate(["simulate", unmet, "--json"]);
  assert.equal(u.code, 1);
  assert.deepEqual(JSON.parse(u.stdout).steps[0].expect.failures, ['errno: expected "EINVAL", got null']);
});

test("simulate and explain escape what comes from files: the file name, description and notes, in every format", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-esc-"));
  const file = join(dir, "evil\u001b[2J.json");
  writeFileSync(
    file,
    JSON.stringify({
      description: "desc\u001b[8mhidden",
      steps: [{ op: "capget", note: "note\u001b]0;title\u0007", expect: { ok: false } }],
    }),
  );
  for (const format of [[], ["--tap"], ["--format", "markdown"], ["--github"], ["--junit", join(dir, "j.xml")]]) {
    const r = capgate(["simulate", file, ...format]);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f]/, `simulate ${format.join(" ")}`);
  }
  assert.match(
    capgate(["simulate", file]).stdout,
    /evil\\x1b\[2J\.json[\s\S]*desc\\x1b\[8mhidden[\s\S]*note\\x1b\]0;title\\x07/,
  );
  const status = join(dir, "st\u001b[2J.txt");
  writeFileSync(status, "CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\nCapAmb:\t0\n");
  const e = capgate(["explain", "--from", status, "--drop", "net_raw"]);
  assert.match(e.stdout, /^from .*st\\x1b\[2J\.txt: /);
  assert.doesNotMatch(e.stdout, /\u001b/);
});

test("issue 24 #5: no escaped newline in errors; -v, -V and version; --json errors on stdout; decode keeps labels; show -q; completion values; rules by id", () => {
  const plan = capgate(["plann"]);
  assert.equal(plan.code, 2);
  assert.doesNotMatch(plan.stderr, /\\x0a/);
  assert.equal(plan.stderr.trim().split("\n").length, 1);
  for (const v of [["-v"], ["-V"], ["--version"], ["version"]]) {
    const r = capgate(v);
    assert.equal(r.code, 0, v.join(" "));
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  }
  const missing = capgate(["simulate", "/nonexistent.json", "--json"]);
  assert.equal(missing.code, 2);
  const err = JSON.parse(missing.stdout) as {
    error: { message: string; file: string | null; path: string | null; exitStatus: number };
  };
  assert.equal(err.error.exitStatus, 2);
  assert.match(err.error.message, /nonexistent\.json/);
  assert.match(missing.stderr, /^capgate: /);
  const bad = scenarioFile({ state: { uid: 1000 }, steps: [{ op: "capset", permitted: ["CAP_NOPE"] }] });
  const at = JSON.parse(capgate(["simulate", bad, "--json"]).stdout) as {
    error: { file: string | null; path: string | null };
  };
  assert.equal(at.error.file, bad);
  assert.match(at.error.path ?? "", /steps\[0\]/);
  const decoded = spawnSync(process.execPath, [bin, "decode", "-"], {
    input: "CapInh:\t0000000000000000\nCapPrm:\t0000000000003000\n",
    encoding: "utf8",
  });
  assert.equal(decoded.status, 0, decoded.stderr);
  assert.match(decoded.stdout, /^CapInh: /m);
  assert.match(decoded.stdout, /^CapPrm: .*cap_net_admin/m);
  const q = capgate(["show", String(process.pid), "--cap", "net_admin", "-q"]);
  assert.equal(q.stdout, "");
  const status = readFileSync("/proc/self/status", "utf8");
  const held = (key: string) =>
    (BigInt(`0x${new RegExp(`^${key}:\\s*([0-9a-f]+)`, "m").exec(status)?.[1] ?? "0"}`) >> 12n) & 1n;
  assert.equal(q.code, held("CapPrm") || held("CapEff") ? 0 : 1);
  assert.equal(capgate(["show", "--cap", "chown", "-q", "--json"]).code, 2);
  const bash = capgate(["completion", "bash"]).stdout;
  assert.match(bash, /--keep\) COMPREPLY=\(\$\(compgen -P "\$pre" -W "cap_chown /);
  assert.match(bash, /completion\) COMPREPLY=\(\$\(compgen -W "bash zsh fish"/);
  assert.match(bash, /rules\) COMPREPLY=\(\$\(compgen -W "[^"]*capset\.permitted-grows/);
  const rules = capgate(["rules", "capset.permitted-grows", "--json"]);
  assert.deepEqual(
    (JSON.parse(rules.stdout) as Array<{ id: string }>).map((r) => r.id),
    ["capset.permitted-grows"],
  );
  assert.ok((JSON.parse(capgate(["rules", "ambient", "--json"]).stdout) as unknown[]).length > 2);
  assert.equal(capgate(["rules", "no.such-rule"]).code, 2);
});
