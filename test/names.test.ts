import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CapSet, kernelProfile } from "../src/index.js";
import {
  formatName,
  formatNames,
  parseName,
  parseNames,
  containerCapabilities,
  NAME_STYLES,
  CONTAINER_DEFAULT_CAPS,
} from "../src/formats/names.js";
import { FormatError } from "../src/formats/errors.js";

test("each ecosystem's spelling", () => {
  const expect: Record<string, [string, string]> = {
    kernel: ["CAP_NET_ADMIN", "41"],
    rust: ["CAP_NET_ADMIN", "41"],
    libcap: ["cap_net_admin", "41"],
    "libcap-ng": ["net_admin", "cap_41"],
    setpriv: ["net_admin", "cap_41"],
    docker: ["NET_ADMIN", "41"],
    kubernetes: ["NET_ADMIN", "41"],
    systemd: ["CAP_NET_ADMIN", "41"],
  };
  for (const style of NAME_STYLES)
    assert.deepEqual([formatName(12, style), formatName(41, style)], expect[style], style);
});

test("every style round-trips every capability, unnamed numbers up to 63 included (kernel 7.x, say)", () => {
  // numbers above CAP_LAST_CAP are kept as numbers by every style that has a syntax for them
  const future = kernelProfile();
  for (const style of NAME_STYLES) {
    if (style === "docker" || style === "kubernetes") continue; // they have no syntax for numbers
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 10 }), (caps) => {
        const set = CapSet.of(...caps);
        assert.ok(parseNames(formatNames(set, style), style, future).equals(set));
      }),
      { numRuns: 200 },
    );
  }
  for (const style of ["docker", "kubernetes"] as const) {
    const set = CapSet.upTo(40);
    assert.ok(parseNames(formatNames(set, style), style).equals(set));
  }
});

test("what each ecosystem accepts, and the errors that name the token", () => {
  assert.equal(parseName("net_admin", "docker"), 12);
  assert.equal(parseName("Cap_Net_Admin", "docker"), 12);
  assert.equal(parseName("NET_ADMIN", "kubernetes"), 12);
  assert.throws(() => parseName("CAP_NET_ADMIN", "kubernetes"), /containerd adds one, making CAP_CAP_X/);
  assert.throws(() => parseName("cap_net_raw", "setpriv"), /no CAP_ prefix/);
  assert.equal(parseName("cap_40", "setpriv"), 40);
  assert.equal(parseName("cap_41", "setpriv"), 41, "kept, although setpriv itself refuses numbers above CAP_LAST_CAP");
  assert.throws(() => parseName("cap_64", "setpriv"), /above 63/);
  assert.throws(
    () => parseName("CAP_BPF", "systemd", kernelProfile("5.4")),
    /CAP_BPF does not exist in kernel 5\.4 \(added in 5\.8\)/,
  );
  assert.throws(
    () => parseNames("NET_ADMIN, SYS_ADMN", "docker"),
    (e: unknown) => e instanceof FormatError && e.position === 11 && e.token === "SYS_ADMN",
  );
  assert.ok(parseNames("ALL", "docker").equals(kernelProfile().all));
  assert.ok(parseNames("~CAP_SYS_ADMIN CAP_NET_RAW", "systemd").equals(kernelProfile().all.without(21, 13)));
  assert.ok(parseNames("CAP_NET_BIND_SERVICE", "systemd").equals(CapSet.of(10)));
});

test("container cap-add / cap-drop give moby's sets", () => {
  assert.equal(CONTAINER_DEFAULT_CAPS.size, 14);
  const plain = containerCapabilities({});
  assert.ok(
    plain.bounding.equals(CONTAINER_DEFAULT_CAPS) &&
      plain.effective.equals(CONTAINER_DEFAULT_CAPS) &&
      plain.inheritable.isEmpty,
  );
  const dropAll = containerCapabilities({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] });
  assert.ok(dropAll.bounding.equals(CapSet.of(10)));
  const addAll = containerCapabilities({ add: "all", drop: "sys_admin" });
  assert.ok(addAll.bounding.equals(kernelProfile().all.without(21)));
  const both = containerCapabilities({ add: ["NET_RAW"], drop: ["NET_RAW", "CHOWN"] });
  assert.ok(both.bounding.has(13) && !both.bounding.has(0), "an add wins over a drop of the same capability");
  const user = containerCapabilities({ uid: 1000, add: ["NET_ADMIN"] });
  assert.ok(user.permitted.isEmpty && user.effective.isEmpty && user.bounding.has(12));
  assert.ok(containerCapabilities({ privileged: true, drop: ["ALL"] }).bounding.equals(kernelProfile().all));
  assert.throws(() => containerCapabilities({ add: ["CAP_NET_ADMIN"], style: "kubernetes" }), /CAP_CAP_X/);
});

test("parseAnyNames takes what people type: any spelling, commas or spaces, numbers", async () => {
  const { parseAnyNames } = await import("../src/formats/names.js");
  assert.ok(parseAnyNames("cap_net_raw, NET_ADMIN sys_admin 0").equals(CapSet.of(13, 12, 21, 0)));
  assert.throws(
    () => parseAnyNames("net_raw,net_admn"),
    (e: unknown) => e instanceof FormatError && e.position === 8 && /unknown capability name/.test(e.message),
  );
  assert.throws(() => parseAnyNames("bpf", kernelProfile("5.4")), /CAP_BPF does not exist in kernel 5\.4/);
});
