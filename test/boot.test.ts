// The parts of booting another kernel that need no qemu: the initramfs format and reading a
// kernel image's version (the boots themselves run in `npm run verify:kernels`, which CI runs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newcArchive } from "../verify/boot.js";
import { imageRelease } from "../verify/boot.js";
import { threadState } from "../src/state.js";

test("the initramfs is newc cpio: 110-byte headers, names and data padded to 4, a trailer", () => {
  const a = newcArchive([
    { name: "dev/console", mode: 0o020600, rdev: [5, 1] },
    { name: "init", mode: 0o100755, data: Buffer.from("abcde") },
  ]);
  const text = a.toString("latin1");
  assert.equal(text.slice(0, 6), "070701");
  // dev/console: a character device 5:1, no data
  assert.equal(parseInt(text.slice(6 + 8 * 1, 6 + 8 * 2), 16), 0o020600);
  assert.equal(parseInt(text.slice(6 + 8 * 9, 6 + 8 * 10), 16), 5);
  assert.equal(parseInt(text.slice(6 + 8 * 10, 6 + 8 * 11), 16), 1);
  const second = text.indexOf("070701", 6);
  assert.equal(second % 4, 0, "every header starts 4-aligned");
  assert.equal(parseInt(text.slice(second + 6 + 8 * 6, second + 6 + 8 * 7), 16), 5, "the file size");
  assert.ok(text.includes("init\0") && text.includes("abcde"));
  assert.ok(text.includes("TRAILER!!!\0"));
  assert.equal(a.length % 4, 0);
});

test("a kernel image's version comes from its setup header; anything else is not an image", () => {
  const dir = mkdtempSync(join(tmpdir(), "capgate-image-"));
  const image = Buffer.alloc(0x400);
  image.write("HdrS", 0x202, "latin1");
  image.writeUInt16LE(0x100, 0x20e); // the version string at 0x100 + 0x200
  image.write("6.1.0-47-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\0", 0x300, "latin1");
  writeFileSync(join(dir, "vmlinuz"), image);
  assert.equal(imageRelease(join(dir, "vmlinuz")), "6.1.0-47-cloud-amd64");
  writeFileSync(join(dir, "text"), "not a kernel");
  assert.equal(imageRelease(join(dir, "text")), null);
  assert.equal(imageRelease(join(dir, "missing")), null);
});

test("the exec set-id rule of issue 11's kernels: 6.17 is the first profile with id_changed (commit 337490f0007f, merged after 6.16)", async () => {
  const { kernelProfile, PROFILE_MILESTONES } = await import("../src/kernel/profiles.js");
  assert.equal(kernelProfile("6.16").features.execIdChanged, false);
  assert.equal(kernelProfile("6.17").features.execIdChanged, true);
  assert.ok(PROFILE_MILESTONES.includes("6.17"));
  // what it changes: euid != ruid before the exec of a plain file is no set-id exec from 6.17
  const { simulate, threadState, CapSet } = await import("../src/index.js");
  const s = threadState(
    {
      ruid: 1000,
      euid: 1001,
      suid: 1001,
      fsuid: 1001,
      permitted: CapSet.of(10),
      effective: CapSet.EMPTY,
      inheritable: CapSet.of(10),
      ambient: CapSet.of(10),
    },
    kernelProfile("6.16"),
  );
  const exec = { op: "execve" as const, file: {} };
  assert.ok(simulate(s, exec, { kernel: "6.16" }).state.ambient.isEmpty, "6.16: set-id, ambient cleared");
  assert.ok(simulate(s, exec, { kernel: "6.17" }).state.ambient.has(10), "6.17: not set-id, ambient kept");
});

/** A kernel image by its header alone: "HdrS" and a version string, the rest whatever `body` is. */
function fakeImage(dir: string, body: Buffer = Buffer.alloc(0)): string {
  const image = Buffer.concat([Buffer.alloc(0x400), body]);
  image.write("HdrS", 0x202, "latin1");
  image.writeUInt16LE(0x100, 0x20e);
  image.write("6.1.0-99-cloud-amd64 (garbage) #1 SMP\0", 0x300, "latin1");
  const path = join(dir, "vmlinuz");
  writeFileSync(path, image);
  return path;
}

/** A stand-in for qemu: answers --version, then does what `script` says (its console is stdout). */
function fakeQemu(dir: string, script: string): string {
  const path = join(dir, "fake-qemu");
  writeFileSync(path, `#!/bin/sh\n[ "$1" = --version ] && { echo "QEMU emulator version 7.2"; exit 0; }\n${script}\n`, {
    mode: 0o755,
  });
  return path;
}

test("a guest that never answers ends at the timeout with a BootFailure naming it; its files are gone (issue 20 #9)", async () => {
  const { openKernelImage, runOnBootedKernel, BootFailure } = await import("../verify/boot.js");
  const { runnerUnavailable } = await import("../verify/runner.js");
  if (runnerUnavailable()) return; // no C compiler: nothing can be booted (CI has one)
  const dir = mkdtempSync(join(tmpdir(), "capgate-hang-"));
  const image = openKernelImage(fakeImage(dir, Buffer.from("garbage".repeat(1000))));
  const hang = fakeQemu(dir, "printf '\\033[2J\\033c booting...'\nsleep 600");
  const start = Date.now();
  await assert.rejects(
    runOnBootedKernel(image, [{ state: threadState(), ops: [{ op: "capget" }] }], { qemu: hang, timeoutMs: 1500 }),
    (e: Error) =>
      e instanceof BootFailure &&
      e.exitStatus === 5 &&
      /did not finish within 2 s .*its console ended with: booting\.\.\./.test(e.message) &&
      !/\u001b/.test(e.message),
  );
  assert.ok(Date.now() - start < 15_000, "killed at the timeout");
  const crash = fakeQemu(dir, "echo 'Kernel panic - not syncing: VFS'; exit 1");
  await assert.rejects(
    runOnBootedKernel(image, [{ state: threadState(), ops: [{ op: "capget" }] }], { qemu: crash }),
    (e: Error) =>
      e instanceof BootFailure && /the booted kernel panicked: Kernel panic - not syncing: VFS/.test(e.message),
  );
  // a panic is never an answer: bootedKernel boots once more, and names a second panic; the
  // oops and the function it hit are in the message (TCG's early-boot int3, issue 22)
  const counter = join(dir, "boots");
  const oops = fakeQemu(
    dir,
    `echo x >> ${counter}\necho '[ 2.3] Oops: int3: 0000 [#1] SMP NOPTI'\necho '[ 2.3] RIP: 0010:sched_clock_idle_wakeup_event+0x5/0x50'\necho '[ 2.3] Kernel panic - not syncing: Fatal exception in interrupt'\nexit 0`,
  );
  const { bootedKernel, GuestPanic } = await import("../verify/boot.js");
  await assert.rejects(
    bootedKernel(image, { qemu: oops }).run([{ state: threadState(), ops: [{ op: "capget" }] }]),
    (e: Error) =>
      e instanceof GuestPanic &&
      e.exitStatus === 5 &&
      /panicked: Kernel panic - not syncing: Fatal exception in interrupt \(Oops: int3: 0000 in sched_clock_idle_wakeup_event\).*the second boot in a row to panic/.test(
        e.message,
      ),
  );
  assert.equal(readFileSync(counter, "utf8"), "x\nx\n", "booted twice");
  assert.deepEqual(
    readdirSync(tmpdir()).filter((f) => f.startsWith("capgate-boot-")),
    [],
    "no private boot directory is left behind",
  );
});

test("an interrupted boot (abandonBoots, as verify's signal handler calls it) kills qemu and removes its private directory at once", async () => {
  const { openKernelImage, runOnBootedKernel, abandonBoots } = await import("../verify/boot.js");
  const { runnerUnavailable } = await import("../verify/runner.js");
  if (runnerUnavailable()) return; // no C compiler: nothing can be booted (CI has one)
  const dir = mkdtempSync(join(tmpdir(), "capgate-abandon-"));
  const image = openKernelImage(fakeImage(dir, Buffer.from("garbage".repeat(1000))));
  const hang = fakeQemu(dir, "sleep 600");
  const run = runOnBootedKernel(image, [{ state: threadState(), ops: [{ op: "capget" }] }], {
    qemu: hang,
    timeoutMs: 60_000,
  });
  const boots = () => readdirSync(tmpdir()).filter((f) => f.startsWith("capgate-boot-"));
  for (let i = 0; i < 100 && boots().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(boots().length, 1, "the boot made its private directory");
  abandonBoots();
  // the signal handler exits right after: nothing may be left for a finally block to do
  assert.deepEqual(boots(), []);
  await run.catch(() => undefined);
});

test("the answer port's frames: lengths and checksums are checked, a lost or damaged answer is named, never decoded (issue 22)", async () => {
  const { decodeAnswer, readFrames, BootFailure } = await import("../verify/boot.js");
  const { ANSWER } = await import("../src/engine/contract.js");
  const fnv = (b: Buffer) => {
    let h = 2166136261;
    for (const x of b) h = Math.imul(h ^ x, 16777619) >>> 0;
    return h;
  };
  const frame = (type: number, payload: Buffer) => {
    const h = Buffer.alloc(ANSWER.HEADER_SIZE);
    h.writeUInt32LE(ANSWER.MAGIC, 0);
    h.writeUInt32LE(type, 4);
    h.writeUInt32LE(payload.length, 8);
    h.writeUInt32LE(fnv(payload), 12);
    return Buffer.concat([h, payload]);
  };
  const trial = { state: threadState(), ops: [] };
  const batch = Buffer.alloc(12 + 8);
  batch.writeUInt32LE(0, 0); // batch 0
  batch.writeUInt32LE(0, 4); // the runner's exit status
  batch.writeUInt32LE(1, 8); // one trial
  // its answer: setup 0, 0 ops
  const u32 = (...n: number[]) => Buffer.from(new Uint32Array(n).buffer);
  const whole = Buffer.concat([
    frame(ANSWER.RELEASE, Buffer.from("7.3.4+deb13-cloud-amd64")),
    frame(ANSWER.BATCH, batch),
    frame(ANSWER.END, u32(1, 1)),
  ]);
  const ok = decodeAnswer(whole, [trial]);
  assert.equal(ok.release, "7.3.4+deb13-cloud-amd64");
  assert.deepEqual(ok.trials, [{ setup: 0, steps: [] }]);
  // cut short, damaged in the middle, or garbage first: named, never a half answer
  assert.throws(() => decodeAnswer(whole.subarray(0, whole.length - 20), [trial]), /incomplete/);
  const damaged = Buffer.from(whole);
  // a bit of the batch frame's payload (after the release frame and the batch frame's header)
  damaged[2 * ANSWER.HEADER_SIZE + "7.3.4+deb13-cloud-amd64".length + 2]! ^= 1;
  assert.match(readFrames(damaged).problem!, /frame 2 fails its checksum/);
  assert.throws(() => decodeAnswer(damaged, [trial]), BootFailure);
  assert.throws(() => decodeAnswer(Buffer.concat([Buffer.from("\u001bc"), whole]), [trial]), /garbage where frame 1/);
});
