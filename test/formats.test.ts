import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import fc from "fast-check";
import { CapSet, kernelProfile } from "../src/index.js";
import { formatCapText, parseCapText } from "../src/formats/libcap-text.js";
import { formatIab, parseIab } from "../src/formats/iab.js";
import { formatDecode, parseMask } from "../src/formats/decode.js";
import { FormatError } from "../src/formats/errors.js";
import { capSetArb } from "../src/fuzz/arbitraries.js";
import { runnerUnavailable } from "../verify/runner.js";
import { inNamespace } from "../fixtures/kernel-gate.js";
import { fileURLToPath } from "node:url";

const profile = kernelProfile();
const all = profile.all;
const inCI = process.env["CI"] === "true";
const capsh = spawnSync("capsh", ["--version"], { encoding: "utf8" });
const noCapsh = capsh.error ? "capsh (libcap2-bin) is not installed" : runnerUnavailable();
const skip = noCapsh && !inCI ? noCapsh : false;

const setsArb = fc
  .tuple(capSetArb(profile), capSetArb(profile), capSetArb(profile))
  .map(([e, p, i]) => ({ effective: e.intersect(p), permitted: p, inheritable: i }));

test("libcap text: the outputs seen from capsh and getpcaps on this machine", () => {
  assert.equal(
    formatCapText({ effective: all.without(24), permitted: all.without(24), inheritable: CapSet.EMPTY }),
    "=ep cap_sys_resource-ep",
  );
  assert.equal(
    formatCapText({ effective: CapSet.of(0, 13), permitted: CapSet.of(0, 13, 40), inheritable: CapSet.of(0, 13) }),
    "cap_chown,cap_net_raw=eip cap_checkpoint_restore+p",
  );
  assert.equal(formatCapText({ effective: CapSet.EMPTY, permitted: CapSet.EMPTY, inheritable: CapSet.EMPTY }), "=");
  assert.equal(formatCapText({ effective: all, permitted: all, inheritable: all }), "=eip");
  const parsed = parseCapText("CAP_CHOWN,cap_net_raw+eip 40+p");
  assert.deepEqual(
    [parsed.effective.toHex(), parsed.permitted.toHex(), parsed.inheritable.toHex()],
    ["0x2001", "0x10000002001", "0x2001"],
  );
  assert.equal(
    formatIab({ inheritable: CapSet.EMPTY, ambient: CapSet.EMPTY, notBounding: CapSet.of(24) }),
    "!cap_sys_resource",
  );
  assert.equal(
    formatIab(parseIab("!cap_chown,^cap_net_raw,!cap_sys_resource")),
    "!cap_chown,^cap_net_raw,!cap_sys_resource",
  );
  assert.equal(formatDecode(CapSet.fromHex("20000000000")), "0x0000020000000000=41");
});

test("libcap text: every operator form parses as libcap documents it", () => {
  const t = (s: string) => {
    const r = parseCapText(s);
    return [r.effective, r.permitted, r.inheritable].map((x) => x.toHex()).join(" ");
  };
  assert.equal(t("="), "0x0 0x0 0x0");
  assert.equal(t("all=eip"), [all, all, all].map((x) => x.toHex()).join(" "));
  assert.equal(t("=ep cap_sys_admin-e"), `${all.without(21).toHex()} ${all.toHex()} 0x0`);
  assert.equal(t("cap_chown=pe cap_chown+i"), "0x1 0x1 0x1");
  assert.equal(t("cap_chown=p+e-p"), "0x1 0x0 0x0");
  assert.equal(t("cap_chown,cap_kill=ie cap_kill="), "0x1 0x0 0x1");
  assert.equal(t("cap_chown=+ep"), "0x1 0x1 0x0");
  assert.equal(t("cap_chown+pie"), "0x1 0x1 0x1");
  assert.equal(t("  CAP_NET_RAW+p   13-p "), "0x0 0x0 0x0");
});

test("libcap text: malformed input names the token and its position", () => {
  const cases: Array<[string, RegExp]> = [
    ["cap_chown+x", /expected a flag \(e, i or p\) at position 11 \("x"\)/],
    ["cap_foo+e", /unknown capability name at position 1 \("cap_foo"\)/],
    ["chown+e", /unknown capability name at position 1 \("chown"\)/],
    ["+e", /need a list of capabilities/],
    ["cap_chown", /expected an operator/],
    ["cap_chown+", /needs at least one flag/],
    ["cap_chown,+e", /expected a capability name after ','/],
    ["64+e", /capability number above 63/],
    ["=+e", /need a list of capabilities/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseCapText(text),
      (e: unknown) => e instanceof FormatError && message.test(e.message) && e.input === text,
      text,
    );
  }
  assert.throws(() => parseIab("cap_chown;cap_kill"), /expected ',' between capabilities at position 10/);
  assert.throws(() => parseIab("!"), /expected a capability name/);
  assert.throws(() => parseMask("0x12g4"), /not a hex digit at position 5 \("g"\)/);
  assert.throws(() => parseMask("0x" + "f".repeat(17)), /more than 16 hex digits/);
});

test("libcap text and IAB: format and parse round-trip any sets, unnamed bits included", () => {
  fc.assert(
    fc.property(setsArb, fc.integer({ min: 0, max: 0x7fffff }), (sets, high) => {
      const withUnknown = { ...sets, permitted: sets.permitted.union(new CapSet(0, high << 9)) };
      const back = parseCapText(formatCapText(withUnknown));
      assert.ok(
        back.effective.equals(withUnknown.effective) &&
          back.permitted.equals(withUnknown.permitted) &&
          back.inheritable.equals(withUnknown.inheritable),
      );
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(capSetArb(profile), capSetArb(profile), capSetArb(profile), (i, a, nb) => {
      const iab = { inheritable: i.union(a), ambient: a, notBounding: nb };
      const back = parseIab(formatIab(iab));
      assert.ok(back.inheritable.equals(iab.inheritable) && back.ambient.equals(a) && back.notBounding.equals(nb));
    }),
    { numRuns: 1000 },
  );
});

test("the parsers never throw anything but FormatError, and format(parse(x)) is stable", () => {
  const near = fc
    .array(
      fc.constantFrom(
        "cap_chown",
        "CAP_NET_RAW",
        "all",
        "13",
        "64",
        "=",
        "+",
        "-",
        "e",
        "i",
        "p",
        "x",
        ",",
        " ",
        "!",
        "^",
        "%",
        "cap_",
        "=+",
        "0x",
      ),
      { maxLength: 12 },
    )
    .map((t) => t.join(""));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 30 }), near), (text) => {
      for (const [parse, format] of [
        [parseCapText, formatCapText],
        [parseIab, formatIab],
        [parseMask, (m: CapSet) => m.toStatusHex()],
      ] as const) {
        let parsed: unknown;
        try {
          parsed = (parse as (s: string) => unknown)(text);
        } catch (e) {
          assert.ok(e instanceof FormatError, `${String(e)} for ${JSON.stringify(text)}`);
          continue;
        }
        const once = (format as (x: unknown) => string)(parsed);
        assert.equal((format as (x: unknown) => string)((parse as (s: string) => unknown)(once)), once);
      }
    }),
    { numRuns: 3000 },
  );
});

function linesInNamespace(script: string): string[] {
  const r = inNamespace(script);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trimEnd().split("\n");
}

test("libcap text: capsh prints exactly what capgate prints, for 200 random thread states", { skip }, () => {
  assert.equal(noCapsh, null, `must run under CI: ${noCapsh}`);
  const samples = fc.sample(setsArb, { numRuns: 200, seed: 42 });
  const texts = samples.map((s) => formatCapText(s));
  const lines = linesInNamespace(texts.map((t) => `capsh --caps='${t}' --print | sed -n 's/^Current: //p'\n`).join(""));
  assert.equal(lines.length, texts.length);
  lines.forEach((line, k) => {
    assert.equal(line, texts[k], "libcap's cap_to_text of the same sets");
    const back = parseCapText(line);
    assert.ok(
      back.permitted.equals(samples[k]!.permitted) &&
        back.effective.equals(samples[k]!.effective) &&
        back.inheritable.equals(samples[k]!.inheritable),
    );
  });
});

test("IAB text: capsh --iab sets and prints what capgate prints", { skip }, () => {
  assert.equal(noCapsh, null, `must run under CI: ${noCapsh}`);
  const samples = fc.sample(
    fc
      .tuple(capSetArb(profile), capSetArb(profile), capSetArb(profile))
      .map(([i, a, nb]) => ({ inheritable: i.union(a), ambient: a, notBounding: nb })),
    { numRuns: 100, seed: 5 },
  );
  const texts = samples.map((s) => formatIab(s));
  const lines = linesInNamespace(
    texts.map((t) => `capsh --iab='${t}' --print | sed -n 's/^Current IAB: //p'\n`).join(""),
  );
  lines.forEach((line, k) => assert.equal(line, texts[k]));
});

test(
  "decode: capsh --decode prints what capgate prints",
  { skip: capsh.error && !inCI ? "capsh is not installed" : false },
  () => {
    const masks = fc.sample(
      fc
        .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
        .map(([lo, hi]) => new CapSet(lo, hi)),
      { numRuns: 50, seed: 3 },
    );
    for (const mask of masks) {
      const r = spawnSync("capsh", [`--decode=0x${mask.toStatusHex()}`], { encoding: "utf8" });
      assert.equal(r.stdout.trim(), formatDecode(mask));
      assert.ok(parseMask(mask.toStatusHex()).equals(mask));
    }
  },
);

test("the names and /proc status parsers fail only with FormatError, and round-trip what they format", async () => {
  const { parseNames, formatNames, NAME_STYLES } = await import("../src/formats/names.js");
  const { parseStatus } = await import("../src/formats/proc-status.js");
  const tokens = fc.constantFrom(
    "NET_ADMIN",
    "cap_chown",
    "CAP_CAP_X",
    "chown",
    "cap_41",
    "41",
    "ALL",
    "~",
    ",",
    " ",
    "x",
    "CAP_BPF",
    "",
  );
  fc.assert(
    fc.property(
      fc.array(tokens, { maxLength: 8 }).map((t) => t.join(" ")),
      fc.constantFrom(...NAME_STYLES),
      (text, style) => {
        try {
          const set = parseNames(text, style);
          if (style !== "docker" && style !== "kubernetes")
            assert.ok(parseNames(formatNames(set, style), style).equals(set));
        } catch (e) {
          assert.ok(e instanceof FormatError, String(e));
        }
      },
    ),
    { numRuns: 2000 },
  );
  const lines = fc.constantFrom(
    "CapInh:\t0000000000000000",
    "CapPrm:\t000001ffffffffff",
    "CapEff:\tzz",
    "CapBnd:\t000001ffffffffff",
    "CapAmb:\t0000000000000400",
    "Uid:\t0\t0\t0\t0",
    "Uid:\t1 2",
    "NoNewPrivs:\t1",
    "junk",
  );
  fc.assert(
    fc.property(fc.array(lines, { maxLength: 8 }), (ls) => {
      try {
        parseStatus(ls.join("\n"));
      } catch (e) {
        assert.ok(e instanceof FormatError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test(
  "getpcaps prints for a live process what capgate show prints",
  { skip: capsh.error && !inCI ? "libcap2-bin is not installed" : false },
  () => {
    const bin = join(fileURLToPath(new URL("../../", import.meta.url)), "dist/src/cli/main.js");
    for (const pid of ["1", String(process.pid)]) {
      const getpcaps = spawnSync("getpcaps", [pid], { encoding: "utf8" });
      const ours = JSON.parse(
        spawnSync(process.execPath, [bin, "show", pid, "--json"], { encoding: "utf8" }).stdout,
      ) as { caps: string };
      assert.equal(getpcaps.stdout.trim() || getpcaps.stderr.trim(), `${pid}: ${ours.caps}`);
    }
  },
);
