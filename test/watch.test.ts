import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CapSet, kernelProfile } from "../src/index.js";
import { classifyChange, type Observed } from "../src/watch/classify.js";
import { why, skip, inNamespace } from "../fixtures/kernel-gate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "dist/src/cli/main.js");
const ALL = kernelProfile().all;
const st = (o: Partial<Observed> = {}): Observed => ({ permitted: ALL, effective: ALL, inheritable: CapSet.EMPTY, bounding: ALL, ambient: CapSet.EMPTY, ruid: 0, euid: 0, suid: 0, fsuid: 0, ...o });

test("classification: what capset, prctl, set*uid and execve can and cannot explain", () => {
  assert.equal(classifyChange(st(), st({ permitted: ALL.without(13), effective: ALL.without(13) }), false).cause, "capset/prctl/setuid");
  assert.equal(classifyChange(st({ permitted: ALL.without(13) , effective: ALL.without(13)}), st(), false).anomaly, true, "permitted grew with no exec");
  assert.match(classifyChange(st({ bounding: ALL.without(21) }), st(), true).reasons[0]!, /bounding set grew by CAP_SYS_ADMIN/);
  assert.equal(classifyChange(st({ permitted: CapSet.EMPTY, effective: CapSet.EMPTY, ruid: 1000, euid: 1000, suid: 1000, fsuid: 1000 }), st({ permitted: CapSet.of(13), effective: CapSet.of(13), ruid: 1000, euid: 1000, suid: 1000, fsuid: 1000 }), true).cause, "execve");
  const capped = st({ permitted: CapSet.EMPTY, effective: CapSet.EMPTY, bounding: CapSet.of(10), ruid: 1000, euid: 1000, suid: 1000, fsuid: 1000 });
  assert.match(classifyChange(capped, { ...capped, permitted: CapSet.of(13), effective: CapSet.of(13) }, true).reasons[0]!, /execve gave permitted CAP_NET_RAW, beyond the old bounding ∪ inheritable sets/);
  assert.match(classifyChange(st(), st({ ambient: CapSet.of(10) }), false).reasons[0]!, /ambient holds CAP_NET_BIND_SERVICE outside permitted ∩ inheritable/);
  const sb = st({ securebits: 0, inheritable: CapSet.of(10), ambient: CapSet.of(10) });
  assert.match(classifyChange(sb, { ...sb, ruid: 1000, euid: 1000, suid: 1000, fsuid: 1000, effective: CapSet.EMPTY }, false).reasons.join(), /uids left 0 but ambient kept/);
  assert.equal(classifyChange({ ...sb, securebits: 0x10, ambient: CapSet.EMPTY }, { ...sb, securebits: 0x10, ambient: CapSet.EMPTY, ruid: 1000, euid: 1000, suid: 1000, fsuid: 1000, effective: CapSet.EMPTY }, false).anomaly, false, "KEEP_CAPS keeps permitted");
});

test("capgate watch --tracee judges commit_creds events and flags the impossible one (exit 1)", () => {
  const cred = (p: bigint, e: bigint, uid = 0, sb = 0, b = 0x1ffffffffffn) => ({ Uid: uid, Gid: 0, Suid: uid, Sgid: 0, Euid: uid, Egid: 0, Fsuid: uid, Fsgid: 0, UserNamespace: 4026531837, SecureBits: sb, CapInheritable: 0, CapPermitted: Number(p), CapEffective: Number(e), CapBounding: Number(b), CapAmbient: 0 });
  const ev = (n: number, syscall: string, oldc: unknown, newc: unknown) => JSON.stringify({ timestamp: n, processId: 4242, threadId: 4242, processName: "app", userId: 0, eventName: "commit_creds", syscall, args: [{ name: "old_cred", type: "trace.SlimCred", value: oldc }, { name: "new_cred", type: "trace.SlimCred", value: newc }] });
  const stream = [
    JSON.stringify({ eventName: "openat", processId: 1 }),
    ev(1, "capset", cred(0x1ffffffffffn, 0x1ffffffffffn), cred(0x400n, 0x400n)),
    ev(2, "execve", cred(0n, 0n, 1000), cred(0x2000n, 0x2000n, 1000)),
    ev(3, "capset", cred(0x400n, 0x400n, 1000), cred(0x200000n, 0x200000n, 1000)),
  ].join("\n");
  const file = join(mkdtempSync(join(tmpdir(), "capgate-tracee-")), "events.json");
  writeFileSync(file, stream + "\n");
  const r = spawnSync(process.execPath, [bin, "watch", "--tracee", file, "--json", "--fail-on-anomaly"], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { cause: string; anomaly: boolean; reasons: string[] });
  assert.deepEqual(events.map((e) => e.cause), ["capset/prctl/setuid", "execve", "unexplained"]);
  assert.match(events[2]!.reasons[0]!, /permitted grew by CAP_SYS_ADMIN with no exec/);
  const clean = spawnSync(process.execPath, [bin, "watch", "--tracee", "-", "--fail-on-anomaly"], { encoding: "utf8", input: stream.split("\n").slice(0, 3).join("\n") });
  assert.equal(clean.status, 0);
  const bad = spawnSync(process.execPath, [bin, "watch", "--tracee", "-"], { encoding: "utf8", input: "{not json\n" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /line 1 is not JSON/);
});

test("capgate watch follows a real process: a capset drop, a uid change and an exec with file caps, each explained", { skip, timeout: 60_000 }, () => {
  assert.equal(why, null, `must run under CI: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), "capgate-watch-"));
  const child = fileURLToPath(new URL("../fixtures/watch-child.js", import.meta.url));
  // The child changes only after DIR/go exists, which appears once the watcher is running.
  const r = inNamespace([
    `${process.execPath} ${child} ${dir} &`, "CHILD=$!",
    `${process.execPath} ${bin} watch --pid $CHILD --interval 40 --duration 4000 --json --fail-on-anomaly > ${dir}/events &`, "WATCH=$!",
    "sleep 0.5", `touch ${dir}/go`, "wait $WATCH", 'echo "watch=$?" >> ' + `${dir}/events`, "wait $CHILD", `cat ${dir}/events`, "",
  ].join("\n"), dir);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.pop(), "watch=0", "no anomaly in a legitimate life");
  const events = lines.map((l) => JSON.parse(l) as { pid: number; tid: number; cause: string; changed: string[]; new: { permitted: string; uid: number[] } });
  const main = events.filter((e) => e.tid === e.pid);
  assert.deepEqual(main.map((e) => e.cause), ["capset/prctl/setuid", "capset/prctl/setuid", "execve"], JSON.stringify(main));
  assert.deepEqual(main[0]!.changed, ["permitted", "effective"]);
  assert.equal(main[1]!.new.uid[0], 1000);
  assert.equal(main[2]!.new.permitted, "0x2000", "the file's CAP_NET_RAW, gained by the exec");
});
