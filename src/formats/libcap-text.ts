// The libcap text format of cap_from_text(3) / cap_to_text(3): "cap_chown,cap_net_raw+ep",
// "=ep cap_sys_admin-e", "all=eip", "=". format() prints exactly what libcap prints (the
// shortest form, from the most common flag combination); parse() accepts what libcap accepts.
import { argInteger, argProfile, argText } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { requireSets } from "../state.js";
import { CAPABILITIES, capabilityNumber, parseCapNumber } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { FormatError } from "./errors.js";

/** The three capset sets a text describes. */
export interface CapText {
  readonly effective: CapSet;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
}

// libcap's flag bits: LIBCAP_EFF = 1 << CAP_EFFECTIVE (0), LIBCAP_PER = 1 << CAP_PERMITTED (1),
// LIBCAP_INH = 1 << CAP_INHERITABLE (2). The output loops depend on these values.
const EFF = 1,
  PER = 2,
  INH = 4;
const flagText = (f: number) => `${f & EFF ? "e" : ""}${f & INH ? "i" : ""}${f & PER ? "p" : ""}`;

/** libcap's name for a capability: the lowercase kernel name, or decimal when it has none. */
export function libcapName(cap: number): string {
  argInteger(cap, "libcapName: the capability", 0, 63);
  return CAPABILITIES[cap] ? CAPABILITIES[cap].name.toLowerCase() : String(cap);
}

function stateFlags(t: CapText, cap: number): number {
  return (t.effective.has(cap) ? EFF : 0) | (t.permitted.has(cap) ? PER : 0) | (t.inheritable.has(cap) ? INH : 0);
}

/** cap_to_text: the canonical text for the sets, as libcap prints it on a kernel with this profile. */
export function formatCapText(sets: CapText, profile: KernelProfile = kernelProfile()): string {
  requireSets(sets, ["permitted", "effective", "inheritable"], "formatCapText");
  argProfile(profile, "formatCapText: the profile");
  const named = profile.lastCap + 1; // cap_max_bits()
  const histo = new Array<number>(8).fill(0);
  for (let n = 0; n < named; n++) histo[stateFlags(sets, n)]!++;
  // The most common combination is the base ("=ep"); ties prefer the lower one (none first).
  let m = 7;
  for (let t = 6; t >= 0; t--) if (histo[t]! >= histo[m]!) m = t;
  let out = `=${flagText(m)}`;
  let folded = false;
  for (let t = 7; t >= 0; t--) {
    if (t === m || !histo[t]) continue;
    const names: string[] = [];
    for (let n = 0; n < named; n++) if (stateFlags(sets, n) === t) names.push(libcapName(n));
    let clause = names.join(",");
    const plus = t & ~m,
      minus = ~t & m;
    if (plus) {
      // "= foo+eip" is printed as the equivalent, shorter "foo=eip" (only as the first clause).
      if (m === 0 && !folded && out === "=") {
        out = "";
        folded = true;
        clause += `=${flagText(plus)}`;
      } else clause += `+${flagText(plus)}`;
    }
    if (minus) clause += `-${flagText(minus)}`;
    out += out === "" ? clause : ` ${clause}`;
  }
  // Bits beyond CAP_LAST_CAP are kept and printed by number, always with "+".
  for (let t = 7; t >= 1; t--) {
    const extra: string[] = [];
    for (let n = named; n < 64; n++) if (stateFlags(sets, n) === t) extra.push(libcapName(n));
    if (extra.length) out += ` ${extra.join(",")}+${flagText(t)}`;
  }
  return out;
}

const isNameChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

/** cap_from_text: the sets a text describes, starting from all clear. */
export function parseCapText(text: string, profile: KernelProfile = kernelProfile()): CapText {
  argText(text, "parseCapText: the text");
  argProfile(profile, "parseCapText: the profile");
  // (annotated, so that TypeScript knows the code after a fail() call is unreachable)
  const fail: (at: number, token: string, problem: string) => never = (at, token, problem) => {
    throw new FormatError("libcap text", text, at, token, problem);
  };
  let e = CapSet.EMPTY,
    p = CapSet.EMPTY,
    i = CapSet.EMPTY;
  let pos = 0;
  const at = () => text.charAt(pos); // "" at the end
  const end = () => pos >= text.length;
  for (;;) {
    while (/\s/.test(at())) pos++;
    if (end()) return { effective: e, permitted: p, inheritable: i };
    // the capabilities this clause is about
    let list = CapSet.EMPTY;
    let listed = false;
    if (isNameChar(at())) {
      for (;;) {
        const start = pos;
        while (isNameChar(at())) pos++;
        const token = text.slice(start, pos);
        if (token.toLowerCase() === "all") list = list.union(profile.all);
        else if (parseCapNumber(token) !== undefined) {
          // libcap reads numbers with strtoul(..., 0): 010 is octal 8, 0x0d is 13, 08 is an error
          const n = parseCapNumber(token) ?? NaN;
          if (Number.isNaN(n)) fail(start, token, "not a number as libcap reads it (010 is octal, 0x0d hex)");
          if (n > 63) fail(start, token, "capability number above 63");
          list = list.with(n);
        } else {
          const n = capabilityNumber(token);
          if (n === undefined || !/^cap_/i.test(token)) fail(start, token, "unknown capability name");
          list = list.with(n);
        }
        if (at() !== ",") break;
        pos++;
        if (!isNameChar(at())) fail(pos, at(), "expected a capability name after ','");
      }
      listed = true;
    } else if (at() === "+" || at() === "-") {
      fail(pos, at(), "'+' and '-' need a list of capabilities before them");
    } else {
      list = profile.all; // "=ep" means all
    }
    // the first operator
    const opAt = pos;
    let op = text[pos++];
    if (op === "=" && (at() === "+" || at() === "-")) {
      if (!listed) fail(pos, at(), "'=+' and '=-' need a list of capabilities");
      op = at() === "+" ? "P" : "M";
      pos++;
    } else if (op !== "+" && op !== "-" && op !== "=") {
      fail(
        opAt,
        op ?? "",
        op === undefined ? "expected an operator (=, + or -) at the end" : "expected an operator (=, + or -)",
      );
    }
    let flags = 0;
    do {
      if (!end() && !/\s/.test(at())) {
        const c = text.charAt(pos++);
        if (c === "e") flags |= EFF;
        else if (c === "i") flags |= INH;
        else if (c === "p") flags |= PER;
        else fail(pos - 1, c, "expected a flag (e, i or p)");
      } else if (op !== "=")
        fail(pos, "", `'${op === "P" ? "=+" : op === "M" ? "=-" : op}' needs at least one flag (e, i or p)`);
      if (op === "=" || op === "P" || op === "M") {
        e = e.difference(list);
        p = p.difference(list);
        i = i.difference(list);
      }
      if (op === "=" || op === "P" || op === "+") {
        if (flags & EFF) e = e.union(list);
        if (flags & PER) p = p.union(list);
        if (flags & INH) i = i.union(list);
      } else {
        if (flags & EFF) e = e.difference(list);
        if (flags & PER) p = p.difference(list);
        if (flags & INH) i = i.difference(list);
      }
      if (at() === "+" || at() === "-") {
        if (!listed) fail(pos, at(), "'+' and '-' need a list of capabilities");
        flags = 0;
        op = text[pos++];
        if (!/[A-Za-z]/.test(at())) fail(pos, at(), "expected a flag (e, i or p)");
      }
    } while (!end() && !/\s/.test(at()));
  }
}
