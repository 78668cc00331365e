import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFileCaps, encodeFileCaps, XattrError } from "../src/capabilities/xattr.js";
import { CapSet } from "../src/capabilities/set.js";
import { capSetArb } from "../src/fuzz/arbitraries.js";

test("v2 bytes are what setcap writes for cap_net_raw+ep", () => {
  const bytes = encodeFileCaps({ permitted: CapSet.of(13), inheritable: CapSet.EMPTY, effective: true, version: 2 });
  assert.deepEqual([...bytes], [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("encode and decode round-trip every revision", () => {
  fc.assert(
    fc.property(
      capSetArb(),
      capSetArb(),
      fc.boolean(),
      fc.constantFrom(1, 2, 3),
      fc.integer({ min: 0, max: 0xfffffffe }),
      (p, i, e, version, rootid) => {
        const caps = {
          permitted: version === 1 ? new CapSet(p.lo, 0) : p,
          inheritable: version === 1 ? new CapSet(i.lo, 0) : i,
          effective: e,
          version: version,
          rootid: version === 3 ? rootid : 0,
        };
        const back = decodeFileCaps(encodeFileCaps(caps));
        assert.ok(back.permitted.equals(caps.permitted) && back.inheritable.equals(caps.inheritable));
        assert.deepEqual([back.effective, back.version, back.rootid], [e, version, caps.rootid]);
      },
    ),
  );
});

test("malformed values are rejected as the kernel rejects them", () => {
  assert.throws(() => decodeFileCaps(new Uint8Array(3)), XattrError);
  assert.throws(() => decodeFileCaps(new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0])), /revision 0x4 is unknown/);
  assert.throws(
    () => decodeFileCaps(new Uint8Array(24).fill(0).map((_, k) => (k === 3 ? 2 : 0))),
    /revision 2 security.capability is 20 bytes, not 24/,
  );
  assert.throws(
    () => encodeFileCaps({ permitted: CapSet.of(33), inheritable: CapSet.EMPTY, effective: false, version: 1 }),
    /only capabilities 0\.\.31/,
  );
});
