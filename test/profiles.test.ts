// Kernel versions as users write them, and kernels newer than the newest profile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { release } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  kernelProfile,
  parseKernelVersion,
  NEWEST_KERNEL,
  profileFields,
  ProfileError,
  knownSecurebits,
  prctlHandling,
} from "../src/kernel/profiles.js";
import { simulate, threadState, SECUREBITS, PRCTL } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const capgate = (args: string[]) =>
  spawnSync(process.execPath, [join(root, "dist/src/cli/main.js"), ...args], { cwd: root, encoding: "utf8" });

test('kernelProfile("7.4") is the newest profile, and says so', () => {
  const p = kernelProfile("7.4");
  assert.equal(NEWEST_KERNEL, "7.3");
  assert.equal(p.version, "7.3", "answered by the newest profile");
  assert.equal(p.kernel, "7.4", "the kernel asked for");
  assert.equal(p.newerThanProfile, true);
  assert.deepEqual(profileFields(p), { kernel: "7.4", profile: "7.3", newerThanProfile: true });
  assert.equal(p.word, kernelProfile("7.3").word, "the same engine word as 7.3");
  assert.equal(kernelProfile("7.3").newerThanProfile, false);
  assert.deepEqual(profileFields(kernelProfile("6.12")), { kernel: "6.12", profile: "6.12" });
  assert.throws(() => kernelProfile("2.6"), ProfileError, "older than the oldest");
});

test("versions as uname -r prints them: MAJOR.MINOR, and a patch level where it is one", () => {
  assert.deepEqual(parseKernelVersion("6.12.113+deb12-cloud-amd64"), { major: 6, minor: 12, patch: 113 });
  assert.deepEqual(parseKernelVersion("7.3.4+deb13-cloud-amd64"), { major: 7, minor: 3, patch: 4 });
  assert.deepEqual(parseKernelVersion("6.1.0-47-cloud-amd64"), { major: 6, minor: 1, patch: null }, "Debian's ABI 0");
  assert.deepEqual(parseKernelVersion("5.10.0-32-amd64"), { major: 5, minor: 10, patch: null });
  assert.deepEqual(parseKernelVersion("6.1.170"), { major: 6, minor: 1, patch: 170 });
  assert.deepEqual(parseKernelVersion("6.18"), { major: 6, minor: 18, patch: null });
  assert.equal(parseKernelVersion("banana"), null);
  assert.equal(parseKernelVersion("6"), null);
  for (const r of ["5.10.0-32-amd64", "6.1.0-47-cloud-amd64", "6.12.113+deb12-cloud-amd64", "7.3.4+deb13-cloud-amd64"])
    assert.equal(kernelProfile(r).version, r.split(".").slice(0, 2).join("."), r);
});

test("a stable backport decides by patch level: setresuid's no-op shortcut (6.3; 6.1.26, 5.10.179)", () => {
  const noop = { op: "setresuid", ruid: -1 >>> 0, euid: -1 >>> 0, suid: -1 >>> 0 } as const;
  // with the shortcut nothing changes; without it the fs uid follows the effective one
  const answer = (kernel: string) =>
    simulate(threadState({ uid: 0, fsuid: 7 }, kernelProfile(kernel)), noop, { kernel });
  assert.equal(answer("6.12").rule, "setuid.noop");
  assert.equal(answer("6.1.26").rule, "setuid.noop");
  assert.equal(answer("6.1.0-47-cloud-amd64").rule, "setuid.noop", "no patch level: the series' newest");
  assert.notEqual(answer("6.1.25").rule, "setuid.noop");
  assert.equal(answer("6.1.25").state.fsuid, 0, "fsuid reset to euid");
  assert.notEqual(answer("5.15").rule, "setuid.noop", "no backport known for 5.15 before 6.3");
  assert.equal(answer("5.10.179").rule, "setuid.noop");
});

test("7.3: a new user namespace keeps the exec securebits and their locks; 7.2 resets them", () => {
  const bits =
    SECUREBITS.SECBIT_EXEC_RESTRICT_FILE | SECUREBITS.SECBIT_EXEC_RESTRICT_FILE_LOCKED | SECUREBITS.SECBIT_KEEP_CAPS;
  const s = threadState({ securebits: bits });
  assert.equal(simulate(s, { op: "unshare" }, { kernel: "7.3" }).state.securebits, bits & 0xf00);
  assert.equal(simulate(s, { op: "unshare" }, { kernel: "7.2" }).state.securebits, 0);
  assert.equal(knownSecurebits(kernelProfile("6.12")), 0xff);
  assert.equal(knownSecurebits(kernelProfile("6.14")), 0xfff);
});

test("prctl options by kernel: unknown before their first kernel, another architecture's refused", () => {
  assert.equal(prctlHandling(kernelProfile("6.19"), 79), "unknown");
  assert.equal(prctlHandling(kernelProfile("7.0"), 79), "not-modelled");
  assert.equal(prctlHandling(kernelProfile("7.3"), PRCTL.PR_SVE_SET_VL), "refused");
  assert.equal(prctlHandling(kernelProfile("5.4"), PRCTL.PR_MPX_ENABLE_MANAGEMENT), "not-modelled");
  assert.equal(prctlHandling(kernelProfile("5.6"), PRCTL.PR_MPX_ENABLE_MANAGEMENT), "refused");
  assert.equal(prctlHandling(kernelProfile(), 17), "unknown");
  assert.equal(prctlHandling(kernelProfile(), PRCTL.PR_CAP_AMBIENT), "modelled");
});

test('simulate --kernel 7.4 and --kernel "$(uname -r)": the newest profile, said in JSON and text; a bad --kernel names the flag', () => {
  const file = "examples/capset-permitted-grows.json";
  const j = capgate(["simulate", file, "--kernel", "7.4", "--json"]);
  assert.equal(j.status, 0, j.stderr);
  const doc = JSON.parse(j.stdout) as { kernel: string; profile: string; newerThanProfile?: boolean };
  assert.deepEqual([doc.kernel, doc.profile, doc.newerThanProfile], ["7.4", "7.3", true]);
  assert.match(j.stderr, /kernel 7\.4 is newer than the newest profile \(7\.3\); answered as 7\.3 would/);
  const t = capgate(["simulate", file, "--kernel", "7.4"]);
  assert.match(t.stdout, /kernel 7\.4 \(answered by the 7\.3 profile, the newest\)/);
  const here = capgate(["simulate", file, "--kernel", release(), "--json"]);
  assert.equal(here.status, 0, here.stderr);
  const mine = JSON.parse(here.stdout) as { kernel: string; profile: string };
  assert.equal(mine.kernel, release());
  assert.equal(mine.profile, release().split(".").slice(0, 2).join("."));
  const bad = capgate(["simulate", file, "--kernel", "banana"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^capgate: --kernel: kernel version must look like/);
  const explain = capgate(["explain", "--from", "=ep", "--drop", "cap_net_raw", "--kernel", "7.4", "--json"]);
  const e = JSON.parse(explain.stdout) as { kernel: string; profile: string; newerThanProfile?: boolean };
  assert.deepEqual([e.kernel, e.profile, e.newerThanProfile], ["7.4", "7.3", true]);
});
