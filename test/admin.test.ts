// What an admin used to capsh, getpcaps, getcap/setcap, pscap and setpriv expects of each
// command (issue: "every command behaves like the tool an admin already knows").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, copyFileSync, symlinkSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lintText } from "../src/lint/lint.js";
import { parseCapText, parseIab, formatCapText, parseMask } from "../src/formats/index.js";
import { capabilityNumber, simulate, threadState, CAP } from "../src/index.js";
import { why, skip, inNamespace } from "../fixtures/kernel-gate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const capgate = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    ...(input !== undefined && { input }),
  });
const lintRules = (path: string, text: string) => lintText(path, text).findings.map((f) => `${f.line} ${f.rule}`);

test("libcap and IAB text read numbers with base 0, as libcap does (010 octal, 0x0d hex, 08 an error)", () => {
  assert.equal(formatCapText(parseCapText("010+ep")), "cap_setpcap=ep");
  assert.equal(formatCapText(parseCapText("0x0d+ep")), "cap_net_raw=ep");
  assert.equal(formatCapText(parseCapText("13+ep")), "cap_net_raw=ep");
  assert.throws(() => parseCapText("08+ep"), /not a number as libcap reads it/);
  assert.ok(parseIab("010").inheritable.has(CAP.SETPCAP));
  assert.ok(parseIab("!0x0d").notBounding.has(CAP.NET_RAW));
  assert.throws(() => parseIab("08"), /not a number as libcap reads it/);
});

test("capability names are ASCII: look-alikes that case folding turns into real names are refused", () => {
  assert.equal(capabilityNumber("cap_ſys_admin"), undefined);
  assert.equal(capabilityNumber("cap_kıll"), undefined);
  assert.equal(capabilityNumber("CAP_KILL"), CAP.KILL);
  assert.equal(capgate(["explain", "--from", "=ep", "--drop", "cap_ſys_admin"]).status, 2);
  assert.equal(lintRules("c.yml", "services:\n  a:\n    cap_add: [SYS_ADMıN]\n").join(), "3 lint.unknown-name");
});

test("ids outside what the kernel takes are input errors, not wrapped into uid 0", () => {
  assert.throws(
    () => simulate(threadState(), { op: "setuid", uid: 2 ** 40 }),
    /setuid: uid must be an integer from 0 to 4294967295/,
  );
  assert.equal(
    simulate(threadState(), { op: "setresuid", ruid: -1, euid: 1000, suid: -1 }).state.euid,
    1000,
    "-1 still means unchanged",
  );
  const dir = mkdtempSync(join(tmpdir(), "capgate-admin-"));
  writeFileSync(join(dir, "inf.json"), '{"steps":[{"op":"setuid","uid":1e400}]}');
  assert.match(capgate(["simulate", join(dir, "inf.json")]).stderr, /got Infinity/);
  const newer = capgate(["caps", "--kernel", "9.9"]);
  assert.equal(newer.status, 0);
  assert.match(newer.stderr, /kernel 9\.9 is newer than the newest profile \(7\.3\)/);
});

test("explain: --no-new-privs is applied; a directory cannot be exec'd; --uid -1 names --uid; a missing --from file", () => {
  const nnp = capgate([
    "explain",
    "--from",
    "=",
    "--uid",
    "1000",
    "--no-new-privs",
    "--exec-caps",
    "cap_net_raw+ep",
    "--json",
  ]);
  assert.equal(nnp.status, 0, nnp.stderr);
  const doc = JSON.parse(nnp.stdout) as { steps: Array<{ rule: string }>; final: { permitted: string } };
  assert.deepEqual(
    doc.steps.map((s) => s.rule),
    ["nnp.set", "execve.ok"],
  );
  assert.equal(doc.final.permitted, "0x0", "no_new_privs withholds the file's CAP_NET_RAW");
  assert.match(capgate(["explain", "--no-new-privs"]).stdout, /nnp\.set/);
  assert.match(
    capgate(["explain", "--exec", "/tmp"]).stderr,
    /\/tmp: is a directory \(execve would fail with EACCES\)/,
  );
  assert.match(capgate(["explain", "--uid", "-1", "--keep-caps"]).stderr, /^capgate: --uid: /);
  assert.match(
    capgate(["explain", "--from", "/nonexistent/status", "--keep-caps"]).stderr,
    /\/nonexistent\/status: no such file/,
  );
});

test("decode takes leading zeros, CapEff: lines and standard input, like capsh --decode, and keeps a line's label", () => {
  assert.equal(parseMask("000000000000000000003000").toHex(), "0x3000");
  assert.equal(
    capgate(["decode", "000000000000000000003000", "CapEff:\t0000000000003000"]).stdout,
    "0x0000000000003000=cap_net_admin,cap_net_raw\nCapEff: 0x0000000000003000=cap_net_admin,cap_net_raw\n",
  );
  assert.equal(
    capgate(["decode", "-"], "CapPrm:\t0000000000002000\nName:\tx\n").stdout,
    "CapPrm: 0x0000000000002000=cap_net_raw\n",
  );
  assert.equal(capgate(["decode", "0x1ffffffffffffffff"]).status, 2);
});

test("lint: YAML anchors, aliases and merge keys as Compose and kubectl resolve them; systemd numbers; kubectl JSON lists on stdin", () => {
  const compose =
    "x-common: &common\n  cap_add: [ALL, BOGUS_CAP]\nx-caps: &caps [NET_ADMIN, NOT_A_CAP]\nservices:\n  web:\n    <<: *common\n    image: nginx\n  db:\n    cap_add: *caps\n";
  assert.deepEqual(lintRules("c.yml", compose), ["2 lint.unknown-name", "2 lint.add-all", "3 lint.unknown-name"]);
  const k8s =
    "apiVersion: v1\nkind: Pod\nx: &caps\n  add: [CAP_SYS_ADMIN, NOT_A_CAP]\nspec:\n  containers:\n  - name: c\n    securityContext:\n      capabilities: *caps\n";
  assert.deepEqual(lintRules("p.yml", k8s), ["4 lint.k8s.cap-prefix", "4 lint.unknown-name"]);
  assert.deepEqual(
    lintRules("u.service", "[Service]\nCapabilityBoundingSet=21 12\nAmbientCapabilities=CAP_SYS_ADMIN\n"),
    [],
  );
  assert.deepEqual(lintRules("u.service", "[Service]\nCapabilityBoundingSet=21\nAmbientCapabilities=CAP_NET_RAW\n"), [
    "3 lint.systemd.ambient-outside-bounding",
  ]);
  const list = JSON.stringify(
    {
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          kind: "Pod",
          spec: { containers: [{ securityContext: { capabilities: { add: ["NET_RAW", "BOGUS"], drop: ["ALL"] } } }] },
        },
      ],
    },
    null,
    2,
  );
  const r = capgate(["lint", "-", "--json"], list);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(
    (JSON.parse(r.stdout) as Array<{ findings: Array<{ line: number; rule: string }> }>)[0]!.findings.map(
      (f) => `${f.line} ${f.rule}`,
    ),
    ["14 lint.unknown-name"],
  );
  assert.equal(
    capgate(["lint", "--kind", "compose", "-"], "services:\n  a: &a\n    cap_add: [*a]\n").status,
    2,
    "a self-referencing alias is refused, not walked forever",
  );
});

test("lint reads a 10 MB kubectl -o json list in bounded memory (a 200 MB heap) and a few seconds", () => {
  const pod = (i: number) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `p${i}`, labels: { app: `a${i}` } },
    spec: {
      containers: [
        {
          name: "c",
          image: "nginx:1.25",
          env: [{ name: "A", value: "x".repeat(400) }],
          securityContext: { capabilities: { add: ["NET_ADMIN", "BOGUS"], drop: ["ALL"] } },
        },
      ],
    },
  });
  const dir = mkdtempSync(join(tmpdir(), "capgate-biglist-"));
  const file = join(dir, "pods.json");
  writeFileSync(
    file,
    JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: 12000 }, (_, i) => pod(i)) }, null, 4),
  );
  const r = spawnSync(process.execPath, ["--max-old-space-size=200", bin, "lint", file], {
    encoding: "utf8",
    timeout: 30_000,
    maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 1, `${r.error?.message ?? ""} ${r.signal ?? ""} ${r.stderr.slice(0, 300)}`);
  assert.match(r.stdout, /12000 findings\n$/);
});

test("show --all lists user processes by pid with their parent, like pscap; show PID --cap answers by exit status", () => {
  const all = JSON.parse(capgate(["show", "--all", "--json"]).stdout) as Array<{ pid: number; ppid: number }>;
  const pids = all.map((p) => p.pid);
  assert.deepEqual(
    pids,
    [...pids].sort((a, b) => a - b),
    "numeric order",
  );
  assert.ok(!all.some((p) => p.pid === 2 || p.ppid === 2), "no kernel threads");
  assert.ok(
    all.some((p) => p.pid === process.pid),
    "this process is there",
  );
  const mine = all.find((p) => p.pid === process.pid)!;
  assert.equal(mine.ppid, process.ppid);
  assert.equal(
    capgate(["show", "1", "--cap", "chown"]).status,
    capgate(["show", "1", "--json"]).stdout.includes('"permitted": "0x0"') ? 1 : 0,
  );
});

test("file -r lists what has capabilities below a directory, like getcap -r, without following links", { skip }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "capgate-getcap-r-"));
  mkdirSync(join(dir, "a/b"), { recursive: true });
  copyFileSync("/bin/true", join(dir, "a/b/x"));
  copyFileSync("/bin/true", join(dir, "y"));
  symlinkSync(join(dir, "a"), join(dir, "link"));
  const r = inNamespace(
    `node ${bin} file --set cap_net_raw+ep ${dir}/a/b/x >/dev/null\nnode ${bin} file -r ${dir}\necho ===\ngetcap -r ${dir}\n`,
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  const [ours, getcap] = r.stdout.split("===\n");
  assert.equal(ours, `${dir}/a/b/x cap_net_raw=ep\n`);
  assert.equal(ours, getcap);
});

test("--version, completion for bash/zsh/fish and the man page come from the same command definitions", () => {
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  assert.equal(capgate(["--version"]).stdout.trim(), version);
  const commands = [
    "simulate",
    "caps",
    "rules",
    "show",
    "decode",
    "file",
    "lint",
    "exec",
    "watch",
    "explain",
    "verify",
    "completion",
    "man",
  ];
  const bash = capgate(["completion", "bash"]).stdout;
  assert.equal(spawnSync("bash", ["-n"], { input: bash }).status, 0, "bash parses it");
  const complete = (words: string[]) =>
    spawnSync(
      "bash",
      [
        "-c",
        `${bash}\nCOMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _capgate; echo "\${COMPREPLY[@]}"`,
      ],
      { encoding: "utf8" },
    ).stdout.trim();
  assert.equal(complete(["capgate", "ex"]), "exec explain");
  assert.equal(complete(["capgate", "exec", "--reset"]), "--reset-env");
  for (const shell of ["zsh", "fish"]) {
    const script = capgate(["completion", shell]).stdout;
    for (const c of commands) assert.ok(script.includes(c), `${shell} completes ${c}`);
    assert.ok(script.includes("keep-groups"), `${shell} completes exec options`);
  }
  assert.equal(capgate(["completion", "tcsh"]).status, 2);
  const man = capgate(["man"]).stdout;
  assert.match(man, /^\.TH CAPGATE 1/);
  for (const c of commands) assert.ok(man.includes(`\\fB${c}\\fR`), `the man page documents ${c}`);
  const groff = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z"], { input: man, encoding: "utf8" });
  if (!groff.error) assert.equal(groff.stderr, "", "groff has nothing to warn about");
});

test("FORCE_COLOR colors a pipe; NO_COLOR wins", () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [bin, "simulate", join(root, "examples/capset-permitted-grows.json")], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "", ...env },
    });
  const plain = { ...process.env };
  delete plain["NO_COLOR"];
  delete plain["FORCE_COLOR"];
  const forced = spawnSync(process.execPath, [bin, "simulate", join(root, "examples/capset-permitted-grows.json")], {
    encoding: "utf8",
    env: { ...plain, FORCE_COLOR: "1" },
  });
  assert.match(forced.stdout, /\x1b\[/);
  const piped = spawnSync(process.execPath, [bin, "simulate", join(root, "examples/capset-permitted-grows.json")], {
    encoding: "utf8",
    env: plain,
  });
  assert.doesNotMatch(piped.stdout, /\x1b\[/);
  assert.doesNotMatch(run({ FORCE_COLOR: "1" }).stdout, /\x1b\[/, "NO_COLOR (even empty) wins");
});
