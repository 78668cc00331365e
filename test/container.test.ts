// capgate container: the engines' rules, runc's calls, execve of the entrypoint, the reasons
// for a missing capability, the file kinds and their bad input; and the proof: random specs run
// by runc and by a private dockerd, and every example in examples/containers, compared field by
// field with the prediction (root; under CI=true they run, never skip).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapSet, kernelProfile } from "../src/index.js";
import {
  containerDocuments,
  dockerRunRequest,
  enginePlan,
  parseAccounts,
  predictContainer,
  runcSteps,
  NO_ACCOUNTS,
  ContainerInputError,
  type EngineRequest,
  type OciProcess,
} from "../src/container/index.js";
import { CAP } from "../src/capabilities/table.js";
import { findProgram, SYSTEM_PATH } from "../shim/trust.js";
import { inCI } from "../fixtures/kernel-gate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist/src/cli/main.js");
const p618 = kernelProfile("6.18");
const capgate = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
const names = (s: CapSet) =>
  s
    .names()
    .map((n) => n.slice(4))
    .join(",");
const docker = (req: Partial<EngineRequest>) =>
  predictContainer({ file: "t", name: "t", source: { kind: "engine", request: { engine: "docker", ...req } } }, p618);

test("Docker: a non-root user gets cap_add in bounding only, and execve leaves nothing effective; gid 0 without a passwd entry", () => {
  const p = docker({ user: "1000", capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] });
  assert.equal(names(p.oci.capabilities.bounding), "NET_BIND_SERVICE");
  assert.ok(p.oci.capabilities.permitted.isEmpty && p.oci.capabilities.effective.isEmpty);
  assert.deepEqual(p.oci.user, { uid: 1000, gid: 0, additionalGids: [0] });
  assert.ok(p.state);
  assert.equal(p.state.euid, 1000);
  assert.equal(p.state.rgid, 0);
  assert.deepEqual(p.state.groups, [0]);
  assert.ok(p.state.effective.isEmpty && p.state.permitted.isEmpty);
  assert.equal(p.missing.length, 1);
  assert.equal(p.missing[0]!.capability, "CAP_NET_BIND_SERVICE");
  assert.match(p.missing[0]!.reason, /runs as uid 1000: execve gives a non-root process only its ambient capabilities/);
  assert.ok(p.missing[0]!.fixes.some((f) => /setcap cap_net_bind_service\+ep/.test(f)));
  // root in the container: the list is effective
  const r = docker({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] });
  assert.equal(names(r.state!.effective), "NET_BIND_SERVICE");
  assert.equal(r.missing.length, 0);
});

test("the engines' list rules: Docker's add wins over a drop, containerd's drop wins; Docker 20.10 stops at CAP_AUDIT_READ", () => {
  const d = enginePlan({ engine: "docker", capAdd: ["KILL"], capDrop: ["KILL"] }, NO_ACCOUNTS, p618);
  assert.ok(d.process.capabilities.bounding.has(CAP.KILL));
  const c = enginePlan({ engine: "containerd", capAdd: ["KILL"], capDrop: ["KILL"] }, NO_ACCOUNTS, p618);
  assert.ok(!c.process.capabilities.bounding.has(CAP.KILL));
  assert.equal(
    enginePlan({ engine: "docker", capAdd: ["BPF"] }, NO_ACCOUNTS, p618).refused,
    'unknown capability: "CAP_BPF"',
  );
  const priv = enginePlan({ engine: "docker", privileged: true }, NO_ACCOUNTS, p618);
  assert.ok(priv.process.capabilities.bounding.equals(CapSet.upTo(37)));
  const drop = enginePlan({ engine: "docker", capDrop: ["ALL"], capAdd: ["CHOWN"] }, NO_ACCOUNTS, p618);
  assert.equal(names(drop.process.capabilities.bounding), "CHOWN");
  // podman: a non-root user's adds go to ambient too
  const pod = enginePlan({ engine: "podman", user: "1000", capAdd: ["NET_BIND_SERVICE"] }, NO_ACCOUNTS, p618);
  assert.equal(names(pod.process.capabilities.ambient), "NET_BIND_SERVICE");
  // the kubelet refuses runAsNonRoot with uid 0
  assert.match(
    enginePlan({ engine: "containerd", runAsNonRoot: true }, NO_ACCOUNTS, p618).refused ?? "",
    /runAsNonRoot/,
  );
});

test("users from the image: the passwd entry's gid, the groups that name the user, group_add; unknown names are the engine's refusal", () => {
  const accounts = parseAccounts(
    "root:x:0:0::/:/bin/sh\napp:x:1000:1001::/:/bin/sh\n",
    "app:x:1001:\naudio:x:29:app,x\n",
  );
  const p = enginePlan({ engine: "docker", user: "app", groupAdd: ["5"] }, accounts, p618);
  assert.deepEqual(p.process.user, { uid: 1000, gid: 1001, additionalGids: [1001, 29, 5] });
  assert.deepEqual(enginePlan({ engine: "docker", user: "1000:29" }, accounts, p618).process.user, {
    uid: 1000,
    gid: 29,
    additionalGids: [29],
  });
  assert.match(
    enginePlan({ engine: "docker", user: "nobody" }, accounts, p618).refused ?? "",
    /unable to find user nobody/,
  );
  assert.match(
    enginePlan({ engine: "docker", user: "app" }, NO_ACCOUNTS, p618).refused ?? "",
    /no passwd file in the image/,
  );
});

test("runc's calls in runc's order; an ambient raise the kernel refuses is ignored, as runc 1.1 ignores it", () => {
  const process: OciProcess = {
    user: { uid: 1000, gid: 1000, additionalGids: [5, 5] },
    capabilities: {
      bounding: CapSet.of(CAP.KILL, CAP.NET_BIND_SERVICE),
      effective: CapSet.of(CAP.KILL),
      permitted: CapSet.of(CAP.KILL),
      inheritable: CapSet.EMPTY,
      ambient: CapSet.of(CAP.NET_BIND_SERVICE),
    },
    noNewPrivileges: true,
    args: ["/report"],
  };
  const steps = runcSteps(process, { path: "/report", file: {}, known: true }, p618);
  const kinds = steps.map((s) => (s.op.op === "prctl" ? `prctl${s.op.option}` : s.op.op));
  const order = [...new Set(kinds)];
  assert.deepEqual(order, [
    "prctl38",
    "prctl24",
    "prctl8",
    "setgroups",
    "setgid",
    "setuid",
    "capset",
    "prctl47",
    "execve",
  ]);
  assert.equal(kinds.filter((k) => k === "prctl24").length, p618.lastCap + 1 - 2);
  assert.deepEqual(steps.find((s) => s.op.op === "setgroups")?.op, { op: "setgroups", groups: [5] });
  const p = predictContainer({ file: "t", name: "t", source: { kind: "oci", process } }, p618);
  assert.equal(p.failed, null);
  const raise = p.steps.find((s) => s.step.startsWith("ambient raise"));
  assert.ok(raise && !raise.verdict.ok && raise.ignored);
  assert.ok(p.state && p.state.ambient.isEmpty && p.state.effective.isEmpty);
  assert.match(p.missing.find((m) => m.capability === "CAP_NET_BIND_SERVICE")!.reason, /runc 1.1 ignores the error/);
  // effective beyond permitted: capset fails, and so does the container
  const bad = predictContainer(
    {
      file: "t",
      name: "t",
      source: {
        kind: "oci",
        process: { ...process, capabilities: { ...process.capabilities, effective: CapSet.of(CAP.CHOWN) } },
      },
    },
    p618,
  );
  assert.equal(bad.failed?.step, "unable to apply caps: capset");
  assert.equal(bad.state, null);
});

test("execve of the entrypoint: no_new_privs keeps a non-root user's file capabilities out under Docker, not without it", () => {
  const entry = {
    path: "/ping",
    known: true,
    file: { caps: { permitted: CapSet.of(CAP.NET_RAW), inheritable: CapSet.EMPTY, effective: true } },
  };
  const run = (nnp: boolean) =>
    predictContainer(
      {
        file: "t",
        name: "t",
        entrypoint: entry,
        source: {
          kind: "engine",
          request: { engine: "docker", user: "1000:1000", capAdd: ["NET_RAW"], noNewPrivileges: nnp },
        },
      },
      p618,
    );
  assert.equal(names(run(false).state!.effective), "NET_RAW");
  const nnp = run(true);
  assert.ok(nnp.state!.effective.isEmpty);
  assert.match(nnp.missing[0]!.reason, /no_new_privs is set/);
  // set-uid root with cap_drop ALL: euid 0, nothing else
  const suid = predictContainer(
    {
      file: "t",
      name: "t",
      entrypoint: { path: "/su", known: true, file: { setuid: true, owner: 0 } },
      source: { kind: "engine", request: { engine: "docker", user: "1000:1000", capDrop: ["ALL"] } },
    },
    p618,
  );
  assert.equal(suid.state!.euid, 0);
  assert.ok(suid.state!.permitted.isEmpty);
});

test("files: every container of a Kubernetes List, workloads and CronJobs; Compose services; docker run words", () => {
  const k8s = [
    "apiVersion: v1",
    "kind: List",
    "items:",
    "  - apiVersion: apps/v1",
    "    kind: Deployment",
    "    metadata: {name: web}",
    "    spec:",
    "      template:",
    "        spec:",
    "          securityContext: {runAsUser: 1000, supplementalGroups: [7], fsGroup: 8}",
    "          initContainers: [{name: init}]",
    "          containers:",
    "            - name: app",
    "              securityContext: {runAsGroup: 3, allowPrivilegeEscalation: false, capabilities: {add: [NET_ADMIN]}}",
    "  - apiVersion: batch/v1",
    "    kind: CronJob",
    "    metadata: {name: job}",
    "    spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, securityContext: {privileged: true}}]}}}}}",
  ].join("\n");
  const docs = containerDocuments("k.yaml", k8s, p618);
  assert.deepEqual(
    docs.map((d) => d.name),
    ["web/init", "web/app", "job/c"],
  );
  const app = docs[1]!.source;
  assert.ok(app.kind === "engine");
  assert.equal(app.request.runAsUser, 1000);
  assert.equal(app.request.runAsGroup, 3);
  assert.equal(app.request.noNewPrivileges, true);
  assert.deepEqual(app.request.groupAdd, ["7", "8"]);
  const compose = containerDocuments(
    "c.yml",
    "services:\n  a:\n    user: 1000\n    group_add: [audio]\n    security_opt: [no-new-privileges]\n",
    p618,
  );
  const a = compose[0]!.source;
  assert.ok(a.kind === "engine" && a.request.user === "1000" && a.request.noNewPrivileges);
  const d = dockerRunRequest(
    [
      "docker",
      "run",
      "--rm",
      "-it",
      "-u1000",
      "--cap-add=NET_ADMIN",
      "--name",
      "x",
      "--security-opt",
      "no-new-privileges=true",
      "img",
      "sh",
    ],
    p618,
  );
  assert.deepEqual(
    [d.name, d.request.user, d.request.capAdd, d.request.noNewPrivileges, d.request.args],
    ["img", "1000", ["NET_ADMIN"], true, ["sh"]],
  );
});

test("bad input names the file, the line, the path and the field", () => {
  const bad = (text: string) => {
    try {
      containerDocuments("f.yaml", text, p618);
    } catch (e) {
      assert.ok(e instanceof ContainerInputError);
      return e.message;
    }
    return "accepted";
  };
  assert.equal(
    bad(
      'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      securityContext:\n        runAsUser: "1000"\n',
    ),
    "f.yaml:7: spec.containers[0].securityContext.runAsUser: must be an integer from 0 to 2147483647",
  );
  assert.match(
    bad("services:\n  a:\n    cap_add: [NET_ADMN]\n"),
    /f\.yaml:3: services\.a\.cap_add\[0\]: "NET_ADMN" is not a capability/,
  );
  assert.match(bad("hello: world\n"), /not a container file capgate knows/);
  assert.match(
    bad(
      '{"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "args": ["/x"], "capabilities": {"bounding": ["NET_RAW"]}}}',
    ),
    /is not a capability \(OCI names are spelled CAP_NET_RAW\)/,
  );
});

test("capgate container: text, --json shape, exit statuses; bad input is one line and exit 2", () => {
  const ex = join(root, "examples/containers");
  const r = capgate("container", join(ex, "nonroot-cap-add.compose.yml"));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /asked for but not effective:\n {4}CAP_NET_BIND_SERVICE: the process runs as uid 1000/);
  const j = capgate("container", join(ex, "nnp-file-caps.compose.yml"), "--json", "--kernel", "6.18");
  const docs = JSON.parse(j.stdout) as Array<Record<string, unknown>>;
  assert.equal(docs.length, 2);
  for (const key of ["file", "name", "engine", "runtime", "oci", "steps", "state", "missing"])
    assert.ok(key in docs[0]!, key);
  const state = docs[1]!["state"] as Record<string, unknown>;
  assert.equal(state["effective"], "0x2020");
  assert.equal((docs[0]!["missing"] as unknown[]).length, 1);
  const ok = capgate("container", "--docker", "--", "run", "--cap-drop", "ALL", "--cap-add", "CHOWN", "img");
  assert.equal(ok.status, 0, ok.stderr);
  for (const args of [
    ["container", "/nonexistent.yaml"],
    ["container", join(root, "package.json")],
    ["container", "--engine", "lxc", join(ex, "gid-zero.compose.yml")],
    ["container", "--docker", "--", "run", "--cap-add", "NOPE", "img"],
    ["container", "--rootfs", "/nonexistent", "--docker", "--", "run", "img", "/bin/sh"],
  ]) {
    const b = capgate(...args);
    assert.equal(b.status, 2, `${args.join(" ")}: ${b.stdout}${b.stderr}`);
    assert.equal(b.stderr.trim().split("\n").length, 1, b.stderr);
    assert.match(b.stderr, /^capgate: /);
  }
});

// ---- the proof: real runtimes ---------------------------------------------------------------
const runtimeWhy = (program: string) =>
  process.getuid?.() !== 0
    ? "not root"
    : findProgram(program, `/usr/bin:${SYSTEM_PATH}`) === null
      ? `no ${program}`
      : null;
const gate = (program: string) => {
  const why = runtimeWhy(program);
  return why && !inCI ? `${program} unavailable: ${why}` : false;
};

test(
  "verify --container --runtime runc: 120 random specs, every field as predicted",
  { skip: gate("runc"), timeout: 300_000 },
  async () => {
    assert.equal(runtimeWhy("runc"), null, "runc must run under CI (apt-get install runc)");
    const { runContainerCampaign, containerCampaignText } = await import("../verify/container.js");
    const { currentProfile } = await import("../shim/thread-state.js");
    const r = await runContainerCampaign({ runtime: "runc", trials: 120, seed: 20261208, profile: currentProfile() });
    assert.equal(r.trials, 120);
    assert.ok(r.started >= 40, `only ${r.started} containers started`);
    assert.equal(r.divergences.length + r.faults.length, 0, containerCampaignText(r));
  },
);

test(
  "verify --container --runtime docker: 40 random docker run lines on a private dockerd, every field as predicted",
  { skip: gate("dockerd"), timeout: 600_000 },
  async () => {
    assert.equal(runtimeWhy("dockerd"), null, "dockerd must run under CI (apt-get install docker.io)");
    const { runContainerCampaign, containerCampaignText } = await import("../verify/container.js");
    const { currentProfile } = await import("../shim/thread-state.js");
    const r = await runContainerCampaign({ runtime: "docker", trials: 40, seed: 20261208, profile: currentProfile() });
    assert.ok(r.started >= 10, `only ${r.started} containers started`);
    assert.equal(r.divergences.length + r.faults.length, 0, containerCampaignText(r));
    // nothing left behind: no daemon, no mount
    assert.ok(!readFileSync("/proc/self/mounts", "utf8").includes("capgate-containers-"));
  },
);

test(
  "every example in examples/containers: the prediction is what runc (and Docker, for Compose) gives",
  { skip: gate("dockerd") || gate("runc"), timeout: 600_000 },
  async () => {
    assert.equal(runtimeWhy("runc") ?? runtimeWhy("dockerd"), null);
    const { proveExamples } = await import("../verify/container.js");
    const { currentProfile } = await import("../shim/thread-state.js");
    const dir = join(root, "examples/containers");
    const files = readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? [join(p, "config.json")] : /\.ya?ml$/.test(f) ? [p] : [];
    });
    assert.ok(files.length >= 6);
    const results = await proveExamples(files, currentProfile());
    assert.ok(results.length >= 7);
    const docker = results.filter((r) => r.runtime === "docker");
    assert.ok(docker.length >= 5);
    for (const r of results) assert.deepEqual(r.differences, [], `${r.file} ${r.name} on ${r.runtime}`);
  },
);
