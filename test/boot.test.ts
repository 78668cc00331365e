// The parts of booting another kernel that need no qemu: the initramfs format and reading a
// kernel image's version (the boots themselves run in `npm run verify:kernels`, which CI runs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newcArchive } from "../verify/boot.js";
import { imageRelease } from "../verify/boot.js";

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
