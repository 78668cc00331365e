// Commands are parse → library call → render: what `explain`, `exec` and `verify` decide, a
// program reaches through the library and gets the very answer the CLI prints with --json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { CapSet, explain, explanationJson, kernelProfile, threadState, CAP } from "../src/index.js";
import { parseCapText } from "../src/formats/libcap-text.js";
import { Launcher } from "../shim/launcher.js";
import { parseScenario } from "../src/scenario/parse.js";
import {
  runnerUnavailable,
  runningKernel,
  verifyScenario,
  scenarioReportJson,
  scenarioOutcome,
} from "../verify/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const capgate = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: "utf8", env: { ...process.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test("explain: the library's explanation is what capgate explain --json prints", () => {
  const profile = kernelProfile("6.18");
  const cli = capgate([
    "explain",
    "--from",
    "cap_net_raw,cap_setuid,cap_setpcap=ep",
    "--kernel",
    "6.18",
    "--drop",
    "cap_setpcap",
    "--ambient-raise",
    "net_raw",
    "--setresuid",
    "1000,1000,1000",
    "--json",
  ]);
  const t = parseCapText("cap_net_raw,cap_setuid,cap_setpcap=ep", profile);
  const start = threadState({ permitted: t.permitted, effective: t.effective, inheritable: t.inheritable }, profile);
  const e = explain(
    start,
    { drop: CapSet.of(CAP.SETPCAP), ambientRaise: CapSet.of(CAP.NET_RAW), setresuid: [1000, 1000, 1000] },
    { kernel: profile },
  );
  assert.equal(cli.code, e.ok ? 0 : 1, cli.stderr);
  assert.deepEqual(JSON.parse(cli.stdout), explanationJson(e, '"cap_net_raw,cap_setuid,cap_setpcap=ep"'));
  assert.equal(e.ok, false, "ambient raise needs the capability inheritable: refused");
  assert.equal(e.steps.at(-1)?.rule, "ambient.raise-not-inheritable");
});

test("exec: the Launcher's plan is what capgate exec --dry-run --json and --scenario print", () => {
  const args = [
    "--user",
    "65534",
    "--group",
    "65534",
    "--clear-groups",
    "--keep",
    "net_bind_service",
    "--no-new-privs",
  ];
  const cli = capgate(["exec", "--dry-run", "--json", ...args, "--", "/bin/true"]);
  const request = {
    program: "/bin/true",
    args: [],
    user: "65534",
    group: "65534",
    groups: "clear" as const,
    keep: CapSet.of(CAP.NET_BIND_SERVICE),
    noNewPrivs: true,
  };
  const launcher = new Launcher(request);
  const planned = launcher.plan();
  assert.deepEqual(JSON.parse(cli.stdout), JSON.parse(JSON.stringify(launcher.planJson(planned))), cli.stderr);
  const scenario = capgate(["exec", "--scenario", ...args, "--", "/bin/true"]);
  // the start state's thread id is each process's own
  const withoutTid = (doc: { state: Record<string, unknown> }) => ({ ...doc, state: { ...doc.state, tid: 0 } });
  assert.deepEqual(
    withoutTid(JSON.parse(scenario.stdout) as { state: Record<string, unknown> }),
    withoutTid(JSON.parse(JSON.stringify(launcher.planScenario(planned))) as { state: Record<string, unknown> }),
  );
});

test(
  "verify: the library's scenario report is what capgate verify --json prints, outcome and exit status alike",
  { skip: process.env["CI"] ? false : (runnerUnavailable() ?? false) },
  async () => {
    assert.equal(runnerUnavailable(), null, "the runner is there (CI builds it)");
    const file = join(root, "examples/capset-permitted-grows.json");
    const cli = capgate(["verify", file, "--json"]);
    const s = parseScenario(JSON.parse(readFileSync(file, "utf8")));
    const r = await verifyScenario(s, runningKernel());
    assert.deepEqual(JSON.parse(cli.stdout), scenarioReportJson(r, false), cli.stderr);
    assert.equal(scenarioOutcome(r), "held");
    assert.equal(cli.code, 0);
  },
);
