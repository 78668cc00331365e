// capgate exec for real: plan, apply through the shim, execve /bin/cat /proc/self/status, and
// compare what the kernel gave the program with the engine's prediction. In throwaway user
// namespaces (build/capfuzz --userns); the test runner's own capabilities are never touched.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, copyFileSync, chmodSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { why, skip, inNamespace } from "../fixtures/kernel-gate.js";
import { parseStatus } from "../src/formats/proc-status.js";
import { runner } from "../verify/runner.js";
// a path a shell script can run too (the descriptor behind execPath is this process's alone)
const RUNNER_PATH = runner().shown;

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");

interface Prediction {
  ok: boolean;
  predicted: {
    permitted: string;
    effective: string;
    inheritable: string;
    bounding: string;
    ambient: string;
    ruid: number;
    euid: number;
    noNewPrivs: boolean;
    rgid: number;
    egid: number;
    groups: number[];
  };
  steps: Array<{ rule: string; op: string; modelled?: boolean }>;
}

const targets: Array<[string, string[]]> = [
  [
    "a non-root web server keeping CAP_NET_BIND_SERVICE (ambient)",
    ["--user", "1000", "--group", "1000", "--groups", "100,4", "--keep", "net_bind_service"],
  ],
  [
    "a backup job with only CAP_DAC_READ_SEARCH and no_new_privs",
    ["--user", "1000", "--group", "34", "--clear-groups", "--keep", "dac_read_search", "--no-new-privs"],
  ],
  [
    "root holding exactly CAP_NET_RAW within a two-capability bounding set",
    ["--user", "0", "--bounding", "net_bind_service,net_raw", "--keep", "net_raw"],
  ],
  [
    "a program that can regain nothing, Tracee-style",
    ["--user", "1000", "--group", "1000", "--clear-groups", "--keep", "net_admin,bpf,perfmon", "--no-regain"],
  ],
  ["a user with no capabilities at all", ["--user", "nobody"]],
];

for (const [name, args] of targets) {
  test(`capgate exec: ${name}: the program holds what the engine predicted`, { skip, timeout: 60_000 }, () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const q = (a: string[]) => a.map((x) => `'${x}'`).join(" ");
    // started with supplementary groups of its own, which must not leak into the program
    const r = inNamespace(
      `node ${bin} exec --dry-run --json ${q(args)} -- /bin/cat /proc/self/status\necho ===\nsetpriv --groups 0,27 -- node ${bin} exec ${q(args)} -- /bin/cat /proc/self/status\n`,
    );
    assert.equal(r.status, 0, r.stderr);
    const [plan, status] = r.stdout.split("===\n");
    const p = JSON.parse(plan!) as Prediction;
    assert.equal(p.ok, true);
    const s = parseStatus(status!);
    const hex = (x: { toHex(): string }) => x.toHex();
    assert.deepEqual(
      {
        permitted: hex(s.permitted),
        effective: hex(s.effective),
        inheritable: hex(s.inheritable),
        bounding: hex(s.bounding),
        ambient: hex(s.ambient),
        ruid: s.ruid,
        euid: s.euid,
        noNewPrivs: s.noNewPrivs,
      },
      {
        permitted: p.predicted.permitted,
        effective: p.predicted.effective,
        inheritable: p.predicted.inheritable,
        bounding: p.predicted.bounding,
        ambient: p.predicted.ambient,
        ruid: p.predicted.ruid,
        euid: p.predicted.euid,
        noNewPrivs: p.predicted.noNewPrivs,
      },
    );
    assert.equal(s.name, "cat", "nothing of Node remains: the process is cat");
    assert.deepEqual(
      { rgid: s.rgid, egid: s.egid, groups: [...s.groups!].sort((a, b) => a - b) },
      { rgid: p.predicted.rgid, egid: p.predicted.egid, groups: p.predicted.groups },
      "the gids and groups the plan showed",
    );
    const groupStep = p.steps.find((x) => x.op === "setgroups");
    if (args.includes("--groups") || args.includes("--clear-groups") || args.includes("nobody"))
      assert.equal(groupStep?.rule, "setgroups.ok", "the plan shows the group calls, pre-flighted by the engine");
  });
}

test(
  "capgate exec on a copy of cat with file capabilities: the file grants CAP_NET_RAW, as predicted",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), "capgate-fcat-"));
    chmodSync(dir, 0o755);
    const cat = join(dir, "cat");
    copyFileSync("/bin/cat", cat);
    chmodSync(cat, 0o755);
    const r = inNamespace(
      `node ${bin} file --set cap_net_raw+ep ${cat} >/dev/null\nnode ${bin} exec --dry-run --json --user 1000 --group 1000 --clear-groups --keep net_raw -- ${cat} /proc/self/status\necho ===\nnode ${bin} exec --user 1000 --group 1000 --clear-groups --keep net_raw -- ${cat} /proc/self/status\n`,
    );
    assert.equal(r.status, 0, r.stderr);
    const [plan, status] = r.stdout.split("===\n");
    const p = JSON.parse(plan!) as Prediction;
    assert.ok(!p.steps.some((s) => s.rule === "ambient.raise"), "the file capabilities give it; no ambient needed");
    const s = parseStatus(status!);
    assert.deepEqual(
      [s.permitted.toHex(), s.effective.toHex(), s.ruid],
      [p.predicted.permitted, p.predicted.effective, 1000],
    );
    assert.equal(s.permitted.toHex(), "0x2000");
  },
);

test(
  "capgate exec refuses, with the reason and exit 1, what cannot be reached; nothing is run",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    // a capgate that holds only CAP_NET_RAW, bounding included (run by capgate exec; it stays
    // root, so it can read the checkout wherever CI put it), asking for CAP_NET_ADMIN
    const r = inNamespace(
      `node ${bin} exec --quiet --user 0 --bounding net_raw --keep net_raw -- ${process.execPath} ${bin} exec --keep net_admin -- /bin/echo SHOULD-NOT-RUN; echo "exit=$?"\n`,
    );
    assert.match(
      r.stderr,
      /cannot run \/bin\/echo as asked:\n  - CAP_NET_ADMIN is not permitted and not in the bounding set/,
    );
    assert.match(r.stdout, /exit=1/);
    assert.doesNotMatch(r.stdout, /SHOULD-NOT-RUN/);
  },
);

// The dry runs below plan from the test runner's own credentials, which must be root's.
test("capgate exec: usage errors exit 2", { skip }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const run = (args: string[]) => spawnSync(process.execPath, [bin, "exec", ...args], { encoding: "utf8" });
  assert.equal(run(["--dry-run", "--keep", "net_admn", "--", "/bin/true"]).status, 2);
  assert.equal(run(["--dry-run", "--keep", "net_admin", "--drop", "net_admin", "--", "/bin/true"]).status, 2);
  assert.equal(run(["--dry-run", "--user", "no-such-user-here", "--", "/bin/true"]).status, 2);
  assert.equal(
    run(["--dry-run", "--user", "99999999999", "--", "/bin/true"]).status,
    2,
    "an id above 4294967294 is not wrapped",
  );
  const orphan = run(["--dry-run", "--user", "4000000000", "--", "/bin/true"]);
  assert.equal(orphan.status, 2, "a uid without a passwd entry needs --group");
  assert.match(orphan.stderr, /has no entry in the user database, so its group is unknown: give --group/);
  assert.equal(run(["--dry-run", "--user", "nobody", "--groups", "1", "--clear-groups", "--", "/bin/true"]).status, 2);
  assert.equal(run(["--dry-run", "--keep-fds", "2", "--", "/bin/true"]).status, 2);
  assert.match(run(["--dry-run", "--keep-fds", "77", "--", "/bin/true"]).stderr, /descriptor 77 is not open/);
  const missing = run(["--", "/nonexistent/prog"]);
  assert.equal(missing.status, 127, "not found: 127, as a shell says");
  assert.match(missing.stderr, /\/nonexistent\/prog: not found; nothing was run/);
  const planned = run(["--dry-run", "--", "/nonexistent/prog"]);
  assert.equal(planned.status, 0, "a dry run plans for a program not installed yet");
  assert.match(planned.stderr, /was not found: planned as a plain file/);
  assert.match(
    run(["--dry-run", "--keep", "bogus", "--", "/bin/true"]).stderr,
    /--keep: unknown capability name \("bogus"\)/,
    "the token as typed",
  );
  assert.match(
    run(["--dry-run", "--secbits", "1", "--", "/bin/true"]).stdout,
    /securebits 0x1/,
    "numbers, as explain takes them",
  );
  const dir = run(["--", "/tmp"]);
  assert.equal(dir.status, 126);
  assert.match(dir.stderr, /\/tmp: is a directory/);
});

test("Tracee's --capabilities form: add=/drop= lists over commas, repeatable, bypass", { skip }, async () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const { parseTraceeCapabilities } = await import("../src/cli/exec.js");
  assert.deepEqual(parseTraceeCapabilities(["drop=cap_sys_admin,add=cap_net_raw,cap_kill", "bypass=false"]), {
    add: ["cap_net_raw", "cap_kill"],
    drop: ["cap_sys_admin"],
    bypass: false,
  });
  assert.equal(parseTraceeCapabilities(["bypass=true"]).bypass, true);
  assert.throws(() => parseTraceeCapabilities(["cap_kill"]), /expected add=, drop= or bypass=/);
  assert.throws(() => parseTraceeCapabilities(["bypass=maybe"]), /bypass takes true or false/);
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [bin, "exec", "--dry-run", ...args, "--", "/bin/true"], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
  assert.match(run(["--capabilities", "bypass=true"]).stdout, /^bypass: /);
  // The environment never bypasses: the plan is made as asked, and the variable is named as ignored.
  const env = run(["--json"], { CAPABILITIES_BYPASS: "1" });
  assert.equal((JSON.parse(env.stdout) as { ok: boolean }).ok, true);
  assert.match(env.stderr, /CAPABILITIES_BYPASS is ignored by exec/);
  // An explicit bypass never cancels anything that asks for less.
  for (const extra of [
    ["--user", "65534"],
    ["--drop", "sys_admin"],
    ["--no-new-privs"],
    ["--bounding", "kill"],
    ["--secbits", "SECBIT_NOROOT"],
    ["--capabilities", "drop=cap_kill"],
  ]) {
    const r = run(["--capabilities", "bypass=true", ...extra]);
    assert.equal(r.status, 2, extra.join(" "));
    assert.match(r.stderr, /cannot be combined with/);
  }
  const planned = run(["--json", "--capabilities", "add=cap_net_raw", "--capabilities", "drop=cap_sys_admin"]);
  const doc = JSON.parse(planned.stdout) as { predicted: { permitted: string; bounding: string } };
  assert.equal(doc.predicted.permitted, "0x2000");
  assert.equal(BigInt(doc.predicted.bounding) & (1n << 21n), 0n);
});

test(
  "capgate exec: CAPABILITIES_BYPASS=1 does not widen --user, --no-new-privs or --drop (the program runs as asked)",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const r = inNamespace(
      `CAPABILITIES_BYPASS=1 node ${bin} exec --user 65534 --no-new-privs --drop sys_admin -- /bin/cat /proc/self/status\n`,
    );
    assert.equal(r.status, 0, r.stderr);
    const s = parseStatus(r.stdout);
    assert.deepEqual(
      [s.ruid, s.euid, s.effective.toHex(), s.permitted.toHex(), s.noNewPrivs, s.bounding.has(21)],
      [65534, 65534, "0x0", "0x0", true, false],
    );
    assert.match(r.stderr, /CAPABILITIES_BYPASS is ignored by exec/);
  },
);

test(
  "capgate exec --user nobody gives nobody's uid, gid and groups exactly as setpriv --init-groups does, whatever groups capgate had",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const r = inNamespace(
      `setpriv --groups 4,27,100 -- node ${bin} exec --quiet --user nobody -- /usr/bin/id\necho ===\nsetpriv --reuid nobody --regid "$(id -gn nobody)" --init-groups /usr/bin/id\necho ===\nsetpriv --groups 4,27,100 -- node ${bin} exec --quiet --user 65534 -- /usr/bin/id\n`,
    );
    assert.equal(r.status, 0, r.stderr);
    const [ours, setpriv, numeric] = r.stdout.split("===\n").map((x) => x.trim());
    assert.equal(ours, setpriv);
    assert.equal(numeric, setpriv, "a uid with a passwd entry is that user");
    assert.doesNotMatch(ours!, /gid=0|\b(4|27|100)\(/, "neither root's group nor capgate's own groups leak");
  },
);

test(
  "capgate exec under a seccomp filter that refuses each planned call in turn: exit 1, the step named, the program not run",
  { skip, timeout: 120_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const PR_SET_KEEPCAPS = 8,
      PR_CAP_AMBIENT = 47,
      PR_CAPBSET_DROP = 24;
    const faults: Array<[string, RegExp]> = [
      ["setgroups", /step 1 \(setgroups 65534\) refused by the kernel: EPERM/],
      ["setresgid", /step 2 \(setresgid 65534 65534 65534\) refused by the kernel: EPERM/],
      ["capset", /step 3 \(capset [^)]*\) refused by the kernel: EPERM/],
      [`prctl:${PR_CAPBSET_DROP}`, /step 4 \(prctl PR_CAPBSET_DROP CAP_SYS_ADMIN\) refused by the kernel: EPERM/],
      [`prctl:${PR_SET_KEEPCAPS}`, /step 5 \(prctl PR_SET_KEEPCAPS 1\) refused by the kernel: EPERM/],
      ["setresuid", /step 6 \(setresuid 65534 65534 65534\) refused by the kernel: EPERM/],
      [
        `prctl:${PR_CAP_AMBIENT}`,
        /step 7 \(prctl PR_CAP_AMBIENT_RAISE CAP_NET_BIND_SERVICE\) refused by the kernel: EPERM/,
      ],
    ];
    const script = faults
      .map(
        ([f]) =>
          `${RUNNER_PATH} --seccomp-deny ${f} -- node ${bin} exec --quiet --user nobody --keep net_bind_service --drop sys_admin -- /bin/echo PROGRAM-RAN; echo "exit=$?"\n`,
      )
      .join("");
    const r = inNamespace(script);
    assert.doesNotMatch(r.stdout, /PROGRAM-RAN/);
    assert.deepEqual(
      r.stdout.trim().split("\n"),
      faults.map(() => "exit=1"),
    );
    const lines = r.stderr.trim().split("\n");
    faults.forEach(([f, expected], i) => {
      assert.match(lines[i]!, expected, f);
      assert.match(lines[i]!, /the program was not run; the process is (unchanged|partly changed: steps? 1)/);
    });
    assert.match(lines[2]!, /steps 1-2 \(setgroups 65534; setresgid 65534 65534 65534\) had been applied/);
    // A uid the namespace does not map: the plan is refused before any call (the kernel would say
    // EINVAL), with the reason.
    const unmapped = spawnSync(
      "unshare",
      [
        "-Ur",
        process.execPath,
        bin,
        "exec",
        "--quiet",
        "--user",
        "1000",
        "--group",
        "0",
        "--keep-groups",
        "--",
        "/bin/echo",
        "PROGRAM-RAN",
      ],
      { encoding: "utf8" },
    );
    assert.equal(unmapped.status, 1, unmapped.stderr);
    assert.match(unmapped.stderr, /uid 1000 has no mapping in this thread's user namespace \(map 0 0 1\)/);
    assert.doesNotMatch(unmapped.stdout, /PROGRAM-RAN/);
  },
);

test(
  "capgate exec: an execve that fails after the plan is 126 with the reason in words, never an internal error",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), "capgate-execfail-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "badinterp"), "#!/nonexistent/interpreter\necho hi\n", { mode: 0o755 });
    writeFileSync(join(dir, "noshebang"), "echo hi\n", { mode: 0o755 });
    writeFileSync(join(dir, "private"), "#!/bin/sh\necho hi\n", { mode: 0o700 });
    const r = inNamespace(
      [
        `node ${bin} exec --quiet -- ${dir}/badinterp; echo "exit=$?"`,
        `node ${bin} exec --quiet -- ${dir}/noshebang; echo "exit=$?"`,
        `node ${bin} exec --quiet --user nobody -- ${dir}/private; echo "exit=$?"`,
        "",
      ].join("\n"),
      dir,
    );
    assert.deepEqual(r.stdout.trim().split("\n"), ["exit=126", "exit=126", "exit=126"]);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[0]!, /badinterp: bad interpreter \/nonexistent\/interpreter: not found; nothing was run/);
    assert.match(lines[1]!, /noshebang: cannot execute: not an executable format/);
    assert.match(lines[2]!, /private: cannot execute: permission denied/);
    assert.doesNotMatch(r.stderr, /internal error/);
  },
);

test(
  "capgate exec: --reset-env, descriptors closed unless kept, the caller's ignored signals kept (never ones an environment variable names), LD_PRELOAD warned about",
  { skip, timeout: 60_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), "capgate-env-"));
    const wrapper = join(root, "bin/capgate");
    const r = inNamespace(
      [
        `FOO=bar TERM=xterm node ${bin} exec --quiet --reset-env --user nobody -- /usr/bin/env | sort; echo ===`,
        // fds 5 and 6 are open in the caller; only 6 is kept
        `node ${bin} exec --quiet --keep-fds 6 -- /bin/ls /proc/self/fd 5>/dev/null 6>/dev/null; echo ===`,
        // nohup-style: SIGHUP ignored by the caller stays ignored in the program (through bin/capgate)
        `sh -c "trap '' HUP; exec ${wrapper} exec --quiet -- /bin/grep SigIgn /proc/self/status"; echo ===`,
        // the environment decides no signal: the old variable, forged, makes the program ignore nothing
        `CAPGATE_CALLER_SIGIGN=ffffffff ${wrapper} exec --quiet -- /bin/grep SigIgn /proc/self/status; echo ===`,
        `LD_PRELOAD=/nonexistent.so node ${bin} exec --user nobody --keep net_bind_service -- /bin/true 2>&1 | grep -c 'LD_PRELOAD reaches'`,
        "",
      ].join("\n"),
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const [env, fds, sig, forged, warned] = r.stdout.split("===\n").map((x) => x.trim());
    const shell = spawnSync("getent", ["passwd", "nobody"], { encoding: "utf8" }).stdout.trim().split(":");
    assert.deepEqual(env!.split("\n"), [
      `HOME=${shell[5]}`,
      "LOGNAME=nobody",
      "PATH=/usr/local/bin:/bin:/usr/bin",
      `SHELL=${shell[6]}`,
      "TERM=xterm",
      "USER=nobody",
    ]);
    assert.deepEqual(
      fds!
        .split("\n")
        .map(Number)
        .filter((n) => n > 2 && n !== 3),
      [6],
      "fd 5 closed by the exec, fd 6 kept (fd 3 is ls's own directory)",
    );
    assert.equal(BigInt(`0x${sig!.split(/\s+/)[1]}`) & 1n, 1n, "SIGHUP still ignored");
    assert.equal(BigInt(`0x${forged!.split(/\s+/)[1]}`), 0n, "CAPGATE_CALLER_SIGIGN makes no signal ignored");
    assert.equal(warned, "1");
  },
);

test(
  "capgate exec runs the file it checked: a path swapped between a plain program and a link to a set-uid-root one (RENAME_EXCHANGE, 200 runs) never runs a program other than the one predicted",
  { skip, timeout: 300_000 },
  () => {
    assert.equal(why, null, `must run under CI: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), "capgate-swap-"));
    chmodSync(dir, 0o755);
    const cc = (out: string, src: string, ...flags: string[]) => {
      const r = spawnSync("cc", ["-O2", ...flags, "-o", join(dir, out), join(root, "fixtures", src)], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
    };
    // throwaway programs of this test's own, never a system binary: a plain one, and a set-uid-root one
    cc("plain", "whoami.c", '-DNAME="plain"');
    cc("suid", "whoami.c", '-DNAME="suid"');
    cc("swap", "swap.c");
    chmodSync(join(dir, "suid"), 0o4755);
    copyFileSync(join(dir, "plain"), join(dir, "prog"));
    chmodSync(join(dir, "prog"), 0o755);
    const RUNS = 200;
    // In the throwaway namespace: the swapper exchanges prog and a link to the set-uid-root
    // program as fast as it can while capgate plans for prog and runs it, four at a time. Each
    // run prints the plan (JSON, on stderr) and the program prints which it is and its euid.
    const r = inNamespace(
      [
        `ln -s ${dir}/suid ${dir}/link`,
        `${dir}/swap ${dir}/prog ${dir}/link & SWAP=$!`,
        // the run number comes as $1, never substituted into the text: xargs -I N replaced every
        // N, the ones in a temporary directory's random name too (a flake in 1 run of ~3)
        `seq ${RUNS} | xargs -P 4 -n 1 sh -c 'node ${bin} exec --json --user 54321 --group 54321 --clear-groups -- ${dir}/prog > ${dir}/out.$1 2> ${dir}/plan.$1; echo $? > ${dir}/status.$1' sh`,
        "kill $SWAP",
        "",
      ].join("\n"),
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    const seen = { plain: 0, suid: 0, refused: 0 };
    const wrong: string[] = [];
    for (let n = 1; n <= RUNS; n++) {
      const status = Number(readFileSync(join(dir, `status.${n}`), "utf8"));
      const out = readFileSync(join(dir, `out.${n}`), "utf8").trim();
      const planText = readFileSync(join(dir, `plan.${n}`), "utf8");
      if (status !== 0) {
        // refused before anything ran (a plan capgate would not make for what it found): nothing ran
        assert.equal(out, "", `run ${n}: exit ${status} but the program ran: ${out}`);
        seen.refused++;
        continue;
      }
      const plan = JSON.parse(planText.slice(planText.indexOf("{"))) as {
        steps: Array<{ op: string; call: string }>;
        predicted: { euid: number };
      };
      // what capgate checked: the execve step names the file's set-id bits ("execve (setuid root file)")
      const checked = /setuid/.test(plan.steps.find((s) => s.op === "execve")!.call) ? "suid" : "plain";
      const m = /^(plain|suid) euid=(\d+)$/.exec(out);
      assert.ok(m, `run ${n}: the program said ${JSON.stringify(out)}`);
      seen[m[1] as "plain" | "suid"]++;
      if (m[1] !== checked || Number(m[2]) !== plan.predicted.euid)
        wrong.push(
          `run ${n}: capgate checked ${checked} and predicted euid ${plan.predicted.euid}; ran ${m[1]} with euid ${m[2]}`,
        );
    }
    console.log(
      `# swap race: ${RUNS} runs: ${seen.plain} ran the plain program, ${seen.suid} the set-uid one, ${seen.refused} refused`,
    );
    assert.deepEqual(wrong, [], "a program other than the one checked ran");
    assert.ok(seen.plain > 0 && seen.suid + seen.refused > 0, "the swap was live: both files were met");
  },
);
