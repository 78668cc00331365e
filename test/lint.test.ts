import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lintText, parseUnit } from "../src/lint/lint.js";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { kernelProfile } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const rules = (path: string, text: string, kernel?: string) =>
  lintText(path, text, kernel ? { kernel: kernelProfile(kernel) } : {}).findings.map((f) => `${f.line} ${f.rule}`);

test("Kubernetes: the doubled prefix, unknown names with a suggestion, ALL, and adds without drop ALL", () => {
  const manifest = [
    "apiVersion: v1",
    "kind: Pod",
    "spec:",
    "  containers:",
    "    - name: a",
    "      securityContext:",
    "        capabilities:",
    "          add: [CAP_NET_ADMIN, SYS_TIMEE, NET_RAW]",
    "    - name: b",
    "      securityContext:",
    "        capabilities:",
    "          drop: [ALL]",
    "          add: [ALL]",
    "---",
    "apiVersion: batch/v1",
    "kind: CronJob",
    "spec:",
    "  jobTemplate:",
    "    spec:",
    "      template:",
    "        spec:",
    "          initContainers:",
    "            - name: c",
    "              securityContext:",
    "                capabilities: { add: [BPF], drop: [ALL] }",
  ].join("\n");
  assert.deepEqual(rules("pod.yaml", manifest), [
    "8 lint.k8s.cap-prefix",
    "8 lint.unknown-name",
    "8 lint.k8s.no-drop-all",
    "13 lint.add-all",
  ]);
  const f = lintText("pod.yaml", manifest).findings;
  assert.match(f.find((x) => x.rule === "lint.unknown-name")!.fix, /did you mean SYS_TIME\?/);
  assert.deepEqual(rules("pod.yaml", manifest, "5.4"), [
    "8 lint.k8s.cap-prefix",
    "8 lint.unknown-name",
    "8 lint.k8s.no-drop-all",
    "13 lint.add-all",
    "25 lint.not-in-kernel",
  ]);
});

test("Compose: names in any case with an optional prefix, ALL in cap_add", () => {
  const compose =
    "services:\n  a:\n    cap_add: [net_admin, CAP_SYS_TIME, Net_Raw]\n  b:\n    cap_add:\n      - ALL\n    cap_drop: [SYS_ADMIN, sys_admn]\n";
  assert.deepEqual(rules("compose.yaml", compose), ["6 lint.add-all", "7 lint.unknown-name"]);
});

test("systemd: the prefix, merging of repeated lines, ~ inversion, ambient outside bounding", () => {
  assert.deepEqual(
    rules(
      "a.service",
      "[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW\n",
    ),
    ["3 lint.systemd.ambient-outside-bounding"],
  );
  assert.deepEqual(
    rules(
      "b.service",
      "[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_RAW\nAmbientCapabilities=CAP_NET_RAW\n",
    ),
    [],
  );
  assert.deepEqual(
    rules("c.service", "[Service]\nCapabilityBoundingSet=~CAP_NET_RAW\nAmbientCapabilities=CAP_NET_RAW\n"),
    ["3 lint.systemd.ambient-outside-bounding"],
  );
  assert.deepEqual(
    rules(
      "d.service",
      "[Service]\nCapabilityBoundingSet=CAP_NET_RAW\nCapabilityBoundingSet=\nAmbientCapabilities=CAP_SYS_ADMIN\n",
    ),
    [],
    "an empty assignment resets",
  );
  assert.deepEqual(rules("e.service", "[Service]\nAmbientCapabilities=net_raw\n"), ["2 lint.systemd.prefix"]);
});

test("systemd units are read as systemd reads them: sections, continuation lines, comments, empty and ~ assignments", () => {
  assert.deepEqual(
    parseUnit(
      "[Unit]\nDescription=x \\\n  y\n# c\n[Service]\nCapabilityBoundingSet = CAP_A \\\n# inside\n  CAP_B\n; semi\n",
    ).map((e) => `${e.section}.${e.key}=${e.value}@${e.line}`),
    ["Unit.Description=x y@2", "Service.CapabilityBoundingSet=CAP_A CAP_B@6"],
  );
  // a directive outside [Service] is not the service's
  assert.deepEqual(
    rules("f.service", "[Unit]\nAmbientCapabilities=CAP_NET_RAW\n[Service]\nCapabilityBoundingSet=CAP_CHOWN\n"),
    [],
  );
  // continuation: the ambient capability on the second line counts
  assert.deepEqual(
    rules("g.service", "[Service]\nCapabilityBoundingSet=CAP_CHOWN\nAmbientCapabilities=CAP_CHOWN \\\n  CAP_NET_RAW\n"),
    ["3 lint.systemd.ambient-outside-bounding"],
  );
  // a later ~ line ANDs with what came before; an empty AmbientCapabilities= resets it
  assert.deepEqual(
    rules(
      "h.service",
      "[Service]\nCapabilityBoundingSet=CAP_CHOWN CAP_NET_RAW\nCapabilityBoundingSet=~CAP_NET_RAW\nAmbientCapabilities=CAP_NET_RAW\n",
    ),
    ["4 lint.systemd.ambient-outside-bounding"],
  );
  assert.deepEqual(
    rules(
      "i.service",
      "[Service]\nCapabilityBoundingSet=CAP_CHOWN\nAmbientCapabilities=CAP_NET_RAW\nAmbientCapabilities=\n",
    ),
    [],
  );
});

test("systemd drop-ins: UNIT.d/*.conf are read after the unit, in name order, and findings name the drop-in", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-unit-"));
  const unit = join(dir, "web.service");
  writeFileSync(
    unit,
    "[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n",
  );
  mkdirSync(`${unit}.d`);
  writeFileSync(join(`${unit}.d`, "20-raw.conf"), "[Service]\nAmbientCapabilities=CAP_NET_RAW\n");
  writeFileSync(join(`${unit}.d`, "10-reset.conf"), "[Service]\nAmbientCapabilities=\n");
  const r = spawnSync(process.execPath, [join(root, "dist/src/cli/main.js"), "lint", unit], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(
      `${join(`${unit}.d`, "20-raw.conf").replace(/[.]/g, "\\.")}:2: error lint\\.systemd\\.ambient-outside-bounding: AmbientCapabilities has CAP_NET_RAW\\b`,
    ),
  );
  // without the drop-ins the unit is clean
  assert.deepEqual(rules("web.service", readFileSync(unit, "utf8")), []);
});

test("capgate lint on the bundled examples: findings with lines and fixes, exit 1; bad input exit 2", () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(root, "dist/src/cli/main.js"), "lint", ...args], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
  const r = run(["examples/lint/deployment.yaml", "examples/lint/web.service", "examples/lint/compose.yaml", "--json"]);
  assert.equal(r.status, 1);
  const doc = JSON.parse(r.stdout) as Array<{
    kind: string;
    findings: Array<{ line: number; rule: string; fix: string }>;
  }>;
  assert.deepEqual(
    doc.map((d) => d.kind),
    ["kubernetes", "systemd", "compose"],
  );
  assert.ok(doc.every((d) => d.findings.length > 0 && d.findings.every((f) => f.line > 0 && f.fix)));
  const text = run(["examples/lint/deployment.yaml"]);
  assert.match(
    text.stdout,
    /^examples\/lint\/deployment\.yaml:14: error lint\.k8s\.cap-prefix: .*\n  fix: write NET_BIND_SERVICE$/m,
  );
  assert.equal(run(["/nonexistent.yaml"]).status, 2);
  const notYaml = run(["package.json"]);
  assert.equal(notYaml.status, 2);
  assert.match(notYaml.stderr, /cannot tell what this file is/);
});

test("lint escapes what a file names before it reaches the terminal (a service called ESC[31m...)", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-lint-esc-"));
  const file = join(dir, "c.yml");
  writeFileSync(file, 'services:\n  "\\e[31mweb\\e]0;x\\a":\n    user: "1000"\n    cap_add: [NET_RAW]\n');
  const r = spawnSync(process.execPath, [join(root, "dist/src/cli/main.js"), "lint", file], { encoding: "utf8" });
  assert.match(r.stdout, /lint\.not-effective: \\x1b\[31mweb\\x1b\]0;x\\x07: CAP_NET_RAW/);
  assert.doesNotMatch(r.stdout, /\u001b/);
});
