import { test } from "node:test";
import assert from "node:assert/strict";
import { CapSet, kernelProfile, capabilityNumber, capabilityName, CAPABILITIES } from "../src/index.js";
import { parseSetInput, InputError } from "../src/formats/index.js";

const p = kernelProfile("6.18");

test("every set form of scenario-format.md means the same thing", () => {
  const want = CapSet.of(13, 12, 21);
  for (const input of [
    "0x203000",
    ["CAP_NET_RAW", "net_admin", 21],
    "cap_net_raw,CAP_NET_ADMIN,sys_admin",
    [13, "12", "Cap_Sys_Admin"],
  ]) {
    assert.ok(parseSetInput(input, p, "x").equals(want), JSON.stringify(input));
  }
  assert.ok(parseSetInput("all", p, "x").equals(p.all));
  assert.ok(parseSetInput("ALL", kernelProfile("5.4"), "x").equals(CapSet.upTo(37)));
  assert.ok(parseSetInput("", p, "x").isEmpty);
  assert.ok(parseSetInput([], p, "x").isEmpty);
});

test("raw masks may carry bits above CAP_LAST_CAP only where the kernel drops them itself", () => {
  assert.throws(() => parseSetInput("0xffffffffffffffff", p, "state.permitted"), InputError);
  assert.equal(parseSetInput("0xffffffffffffffff", p, "x", { rawMask: true }).size, 64);
});

test("errors name the field and the token", () => {
  assert.throws(() => parseSetInput(["CAP_CHOWN", "CAP_FOO"], p, "steps[1].permitted"), {
    message: 'steps[1].permitted[1]: unknown capability name "CAP_FOO"',
  });
  assert.throws(() => parseSetInput("chown,,kill", p, "f"), /empty name at position 2/);
  assert.throws(() => parseSetInput(12, p, "f"), /expected a capability set/);
  assert.throws(() => parseSetInput([{}], p, "f"), /f\[0\]: expected a capability name or number/);
  assert.throws(() => parseSetInput([41], p, "f"), /capability 41 is above CAP_LAST_CAP \(40\)/);
});

test("the capability table is the kernel's: 41 names, numbers in order", () => {
  assert.equal(CAPABILITIES.length, 41);
  CAPABILITIES.forEach((c, i) => assert.equal(c.number, i));
  assert.equal(capabilityNumber("net_raw"), 13);
  assert.equal(capabilityNumber("CAP_CHECKPOINT_RESTORE"), 40);
  assert.equal(capabilityNumber("cap_nope"), undefined);
  assert.equal(capabilityName(41), "41");
});

test("CapSet keeps unnamed bits and formats like /proc", () => {
  const s = CapSet.of(0, 41, 63);
  assert.deepEqual(s.names(), ["CAP_CHOWN", "41", "63"]);
  assert.equal(s.toStatusHex(), "8000020000000001");
  assert.equal(s.toHex(), "0x8000020000000001");
  assert.equal(CapSet.of(13).toHex(), "0x2000");
  assert.ok(CapSet.fromHex("000001ffffffffff").equals(CapSet.upTo(40)));
  assert.throws(() => CapSet.of(64), RangeError);
  assert.throws(() => CapSet.fromHex("0x1ffffffffffffffff"), SyntaxError);
  assert.equal(CapSet.upTo(31).toHex(), "0xffffffff");
  assert.equal(CapSet.upTo(0).toHex(), "0x1");
});
