// What capgate runs and writes with its own privileges (as root in CI) is never chosen by the
// environment or by a file another user can write (issue 20's reproductions, each for real:
// a throwaway unprivileged uid that owns throwaway directories, never a system binary).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { skip, inCI } from "../fixtures/kernel-gate.js";
import fc from "fast-check";
import { directoryTrustProblem, helperProgram, openTrustedProgram, SYSTEM_PATH } from "../shim/trust.js";
import {
  CapSet,
  CapgateInputError,
  PRCTL,
  StateError,
  diffStates,
  kernelProfile,
  preflightCapset,
  simulate,
  simulateSequence,
  threadState,
  type ThreadState,
} from "../src/index.js";
import { parseScenario, parseSecurebits, parseState, toScenario } from "../src/scenario/index.js";
import { parseSetInput } from "../src/formats/index.js";
import { scenarioArb } from "../src/testing/arbitraries.js";
import { lintText } from "../src/lint/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** A uid no account has: the other local user of these tests ("mallory"). */
const MALLORY = 54321;
const asRoot = process.getuid?.() === 0;
const rootOnly = skip || (!inCI && !asRoot ? "needs root (a second user owns the planted files)" : false);

/** A copy of the package as npm installs it: the build and the runner's source, no build/capfuzz. */
function installedPackage(): string {
  const dir = mkdtempSync(join(tmpdir(), "capgate-installed-"));
  chmodSync(dir, 0o755);
  for (const part of ["dist/src", "dist/shim", "dist/verify", "native", "package.json", "bin"])
    cpSync(join(root, part), join(dir, part), { recursive: true });
  mkdirSync(join(dir, "build"));
  cpSync(join(root, "build/capgate.wasm"), join(dir, "build/capgate.wasm"));
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** A home of mallory's with a program planted where capgate's cache would be; running it leaves `marker`. */
function malloryHome(): { home: string; marker: string; planted: string[] } {
  const base = mkdtempSync(join(tmpdir(), "capgate-mallory-"));
  chmodSync(base, 0o755);
  const home = join(base, "home");
  const marker = join(base, "ran-as-root");
  const version = (JSON.parse(spawnSync("cat", [join(root, "package.json")]).stdout.toString()) as { version: string })
    .version;
  const cache = join(home, ".cache", "capgate", version);
  mkdirSync(cache, { recursive: true });
  const evil = `#!/bin/sh\ntouch ${marker}\nexit 1\n`;
  const planted = ["capfuzz", "capfuzz-static"].map((name) => join(cache, name));
  for (const p of planted) writeFileSync(p, evil, { mode: 0o755 });
  spawnSync("chown", ["-R", `${MALLORY}:${MALLORY}`, home]);
  return { home, marker, planted };
}

function verifyAsRoot(pkg: string, env: Record<string, string>, args: string[] = []) {
  return spawnSync(
    process.execPath,
    [join(pkg, "dist/src/cli/main.js"), "verify", "--fuzz", "--trials", "3", ...args],
    {
      encoding: "utf8",
      env: { PATH: process.env["PATH"]!, NO_COLOR: "1", TMPDIR: tmpdir(), ...env },
      timeout: 120_000,
    },
  );
}

test(
  "a runner another user planted in the cache is never run, however the environment names it (XDG_CACHE_HOME, HOME, CAPGATE_CACHE, a link)",
  { skip: rootOnly, timeout: 300_000 },
  () => {
    const pkg = installedPackage();
    const m = malloryHome();
    const link = join(mkdtempSync(join(tmpdir(), "capgate-link-")), "cache");
    symlinkSync(join(m.home, ".cache", "capgate"), link);
    const ways: Array<Record<string, string>> = [
      { XDG_CACHE_HOME: join(m.home, ".cache"), HOME: "/root" },
      { HOME: m.home },
      { CAPGATE_CACHE: join(m.home, ".cache", "capgate"), HOME: "/root" },
      { CAPGATE_CACHE: link, HOME: "/root" },
    ];
    for (const env of ways) {
      const r = verifyAsRoot(pkg, env);
      assert.equal(r.status, 0, `${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stdout, /the model held on every step/);
      assert.ok(!existsSync(m.marker), `${JSON.stringify(env)}: mallory's program ran as root`);
    }
    // nothing was written into mallory's directories either (no compile in place there)
    assert.deepEqual(
      readdirSync(join(m.home, ".cache", "capgate")).flatMap((v) => readdirSync(join(m.home, ".cache", "capgate", v))),
      ["capfuzz", "capfuzz-static"],
    );
  },
);

test(
  "as root, CC names no compiler (it is ignored, and said so); --cc does",
  { skip: rootOnly, timeout: 300_000 },
  () => {
    const pkg = installedPackage();
    const m = malloryHome();
    const dir = mkdtempSync(join(tmpdir(), "capgate-cc-"));
    chmodSync(dir, 0o755);
    const evilCc = join(dir, "evil-cc");
    writeFileSync(evilCc, `#!/bin/sh\ntouch ${m.marker}\nexit 1\n`, { mode: 0o755 });
    chownSync(evilCc, MALLORY, MALLORY);
    const r = verifyAsRoot(pkg, { CC: evilCc, HOME: m.home });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /CC is ignored when capgate runs as root: name a compiler with --cc/);
    assert.ok(!existsSync(m.marker), "the compiler CC named ran as root");
    // a compiler named on the command line is the caller's own choice: used
    const mine = join(dir, "my-cc");
    const seen = join(dir, "my-cc-ran");
    writeFileSync(mine, `#!/bin/sh\ntouch ${seen}\nexec cc "$@"\n`, { mode: 0o755 });
    const r2 = verifyAsRoot(pkg, { HOME: m.home }, ["--cc", mine]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.ok(existsSync(seen), "--cc names the compiler");
  },
);

test("the trust rules: other users' directories and files, links, group- and world-writable places; sticky is safe", () => {
  if (!asRoot) return; // chown needs root; the rules themselves are the same for every euid
  const base = mkdtempSync(join(tmpdir(), "capgate-trust-"));
  chmodSync(base, 0o755);
  const mine = join(base, "mine");
  mkdirSync(mine, { mode: 0o755 });
  writeFileSync(join(mine, "prog"), "#!/bin/sh\n", { mode: 0o755 });
  assert.equal(directoryTrustProblem(mine), null);
  const opened = openTrustedProgram(join(mine, "prog"));
  assert.ok(!("problem" in opened), JSON.stringify(opened));
  assert.match((opened as { execPath: string }).execPath, /^\/proc\/self\/fd\/\d+$/);
  // the file itself: group-writable, another owner, a link
  chmodSync(join(mine, "prog"), 0o775);
  assert.match((openTrustedProgram(join(mine, "prog")) as { problem: string }).problem, /writable by others/);
  chmodSync(join(mine, "prog"), 0o755);
  chownSync(join(mine, "prog"), MALLORY, MALLORY);
  assert.match((openTrustedProgram(join(mine, "prog")) as { problem: string }).problem, /owned by uid 54321/);
  symlinkSync("/bin/true", join(mine, "link"));
  assert.match((openTrustedProgram(join(mine, "link")) as { problem: string }).problem, /is a symbolic link/);
  // a directory: world-writable without sticky, or another owner's, anywhere up the chain
  const open = join(base, "open");
  mkdirSync(join(open, "inner"), { recursive: true });
  chmodSync(open, 0o777);
  assert.match(directoryTrustProblem(join(open, "inner"))!, /open is writable by every user/);
  chmodSync(open, 0o1777); // sticky, like /tmp: an entry is its owner's alone
  assert.equal(directoryTrustProblem(join(open, "inner")), null);
  chownSync(join(open, "inner"), MALLORY, MALLORY);
  assert.match(directoryTrustProblem(join(open, "inner"))!, /owned by uid 54321/);
  assert.match(directoryTrustProblem(join(base, "missing"))!, /does not exist/);
});

test("as root, helper programs come from the system's directories with a clean environment; a variable does not choose them", () => {
  const saved = process.env["CAPGATE_QEMU"];
  process.env["CAPGATE_QEMU"] = "/home/mallory/qemu";
  try {
    const h = helperProgram(undefined, "CAPGATE_QEMU", "qemu-system-x86_64");
    if (asRoot) {
      assert.notEqual(h.program, "/home/mallory/qemu");
      assert.equal(h.ignoredVariable, true);
      assert.deepEqual(h.env, { PATH: SYSTEM_PATH, LANG: "C" });
    } else assert.equal(h.program, "/home/mallory/qemu", "a normal user's own choice");
    assert.equal(
      helperProgram("/opt/q", "CAPGATE_QEMU", "qemu-system-x86_64").program,
      "/opt/q",
      "a flag always names it",
    );
  } finally {
    if (saved === undefined) delete process.env["CAPGATE_QEMU"];
    else process.env["CAPGATE_QEMU"] = saved;
  }
});

test("issue 20 #6: impossible start states and bad call arguments are input errors, never a false 'allowed'", () => {
  const empty = { permitted: CapSet.EMPTY, effective: CapSet.EMPTY };
  for (const uid of [2 ** 32, NaN, 1.5, -1, Infinity, "0" as unknown as number])
    assert.throws(() => threadState({ uid, ...empty }), StateError, `uid ${String(uid)}`);
  const user = threadState({ uid: 1000, ...empty });
  // a state built past threadState: the uid would wrap to 0, and setuid(0) would look allowed
  for (const bad of [{ ruid: 2 ** 32 }, { euid: NaN }, { securebits: undefined }, { tid: 1.5 }, { groups: [2 ** 32] }])
    assert.throws(
      () => simulate({ ...user, ...bad } as ThreadState, { op: "setuid", uid: 0 }),
      StateError,
      JSON.stringify(bad),
    );
  // securebits: a combination of bits the profile's kernel has is a state; one it lacks is not
  assert.equal(
    threadState({ securebits: 300 }).securebits,
    300,
    "NO_SETUID_FIXUP(+lock), KEEP_CAPS lock, EXEC_RESTRICT_FILE on 6.18",
  );
  assert.throws(() => threadState({ securebits: 300 }, kernelProfile("6.12")), /bits kernel 6\.12 does not have/);
  assert.throws(() => threadState({ securebits: 1 << 20 }), StateError);
  for (const arg2 of [NaN, Infinity, -Infinity, 1.5, 2 ** 64, "8" as unknown as number])
    assert.throws(
      () => simulate(user, { op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2 }),
      (e: Error) => e instanceof CapgateInputError && /prctl: arg2 must be an integer/.test(e.message),
      String(arg2),
    );
  assert.throws(() => simulate(user, { op: "prctl", option: NaN }), CapgateInputError);
  assert.throws(() => simulate(user, { op: "setuid", uid: 2 ** 32 }), CapgateInputError);
  assert.throws(() => preflightCapset(user, { permitted: 5 as unknown as CapSet }), CapgateInputError);
  // and what is right still answers: bigints and negative C longs
  assert.equal(simulate(user, { op: "prctl", option: PRCTL.PR_CAPBSET_READ, arg2: 10n }).ok, true);
  assert.equal(simulate(user, { op: "prctl", option: PRCTL.PR_CAPBSET_READ, arg2: -1 }).errno, "EINVAL");
});

test("issue 20 #7: every emitted scenario reads back and replays (file capabilities v2/v3, other tasks, multithreaded unshare)", () => {
  let checked = 0;
  fc.assert(
    fc.property(scenarioArb(kernelProfile(), 8), ({ state, ops }) => {
      const doc = toScenario(kernelProfile().version, state, ops);
      for (const step of doc["steps"] as Array<{
        op: string;
        file?: { caps?: { version: number; rootid?: number } };
      }>) {
        const caps = step.file?.caps;
        if (caps) assert.ok(caps.version === 3 || caps.rootid === undefined, "a rootid only for version 3");
      }
      const back = parseScenario(JSON.parse(JSON.stringify(doc)));
      const a = simulateSequence(state, ops),
        b = simulateSequence(
          back.state,
          back.steps.map((s) => s.op),
        );
      assert.deepEqual(
        b.map((v) => [v.rule, v.ret, diffStates(v.state, a[b.indexOf(v)]!.state).length]),
        a.map((v) => [v.rule, v.ret, 0]),
      );
      checked++;
    }),
    { numRuns: 1500, seed: 2007 },
  );
  assert.equal(checked, 1500);
});

test("issue 20 #8: the exported parsers refuse input nested 5,000 deep with an input error, never a stack overflow", () => {
  let deep: unknown = "cap_chown";
  for (let i = 0; i < 5000; i++) deep = [deep];
  const profile = kernelProfile();
  for (const parse of [
    () => parseSetInput(deep, profile, "set"),
    () => parseSetInput([deep], profile, "set"),
    () => parseSecurebits(deep, "securebits"),
    () => parseSecurebits([deep], "securebits"),
    () => parseState({ permitted: deep }, profile),
    () => parseScenario({ steps: [{ op: "capset", permitted: deep }] }),
  ])
    assert.throws(parse, (e: Error) => e instanceof CapgateInputError && e.message.length < 300);
});

test("issue 20 #12: a YAML alias bomb is refused in milliseconds and a few MB, bounded by the file's size", () => {
  // 9 aliases of 9 aliases, 9 levels deep: 9^9 nodes from under 500 bytes
  const lines = ["services:", "  web:", "    image: x", `    cap_add: &a [${Array(9).fill('"NET_ADMIN"').join(",")}]`];
  "bcdefghi"
    .split("")
    .forEach((c, i) => lines.push(`    x${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`));
  const text = lines.join("\n") + "\n";
  assert.ok(text.length < 1024);
  global.gc?.();
  const heap = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  assert.throws(
    () => lintText("compose.yaml", text, { kind: "compose" }),
    /aliases expand it to more than 10000 nodes/,
  );
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(ms < 100, `refused in ${ms.toFixed(1)} ms`);
  assert.ok(process.memoryUsage().heapUsed - heap < 20 << 20, "within 20 MB");
  // a real file's anchors and merge keys still resolve
  const compose =
    "x-common: &common\n  cap_drop: [ALL]\nservices:\n  web:\n    <<: *common\n    image: nginx\n    cap_add: [NET_BIND_SERVICE]\n";
  assert.doesNotThrow(() => lintText("compose.yaml", compose, { kind: "compose" }));
});
