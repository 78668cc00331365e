// libcap's IAB text (cap_iab_to_text / cap_iab_from_text): the inheritable set, the ambient set
// and the bounding set's dropped capabilities of a thread, e.g. "!cap_chown,^cap_net_raw".
// "!" dropped from bounding, "^" ambient (and so inheritable), "%" inheritable only (written
// where a "!" precedes it), a bare name inheritable.
import { argCapSet, argObject, argProfile, argText } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { requireSets } from "../state.js";
import { capabilityNumber, parseCapNumber } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { FormatError } from "./errors.js";
import { libcapName } from "./libcap-text.js";

export interface Iab {
  readonly inheritable: CapSet;
  readonly ambient: CapSet;
  /** Capabilities dropped from the bounding set (libcap's "nb"). */
  readonly notBounding: CapSet;
}

export function formatIab(iab: Iab, profile: KernelProfile = kernelProfile()): string {
  argObject(iab, "formatIab: the IAB");
  for (const k of ["inheritable", "ambient", "notBounding"] as const) argCapSet(iab[k], `formatIab: ${k}`);
  argProfile(profile, "formatIab: the profile");
  const parts: string[] = [];
  for (let c = 0; c <= profile.lastCap; c++) {
    const i = iab.inheritable.has(c),
      a = iab.ambient.has(c),
      nb = iab.notBounding.has(c);
    if (!(i || a || nb)) continue;
    parts.push(`${nb ? "!" : ""}${a ? "^" : nb && i ? "%" : ""}${libcapName(c)}`);
  }
  return parts.join(",");
}

/** The IAB of a thread state: I, A, and the complement of B within the profile. */
export function iabOf(
  state: { inheritable: CapSet; ambient: CapSet; bounding: CapSet },
  profile: KernelProfile = kernelProfile(),
): Iab {
  requireSets(state, ["inheritable", "ambient", "bounding"], "iabOf");
  return {
    inheritable: state.inheritable,
    ambient: state.ambient,
    notBounding: profile.all.difference(state.bounding),
  };
}

export function parseIab(text: string): Iab {
  argText(text, "parseIab: the text");
  let i = CapSet.EMPTY,
    a = CapSet.EMPTY,
    nb = CapSet.EMPTY;
  if (text === "") return { inheritable: i, ambient: a, notBounding: nb };
  let pos = 0;
  while (pos <= text.length) {
    let bang = false,
      hat = false,
      pct = false;
    while (text[pos] === "!" || text[pos] === "^" || text[pos] === "%") {
      if (text[pos] === "!") bang = true;
      else if (text[pos] === "^") hat = true;
      else pct = true;
      pos++;
    }
    const start = pos;
    while (/[A-Za-z0-9_]/.test(text.charAt(pos))) pos++;
    const token = text.slice(start, pos);
    if (!token) throw new FormatError("IAB text", text, start, text[start] ?? "", "expected a capability name");
    const number = parseCapNumber(token); // strtoul(..., 0), as libcap reads IAB numbers
    if (number !== undefined && Number.isNaN(number))
      throw new FormatError("IAB text", text, start, token, "not a number as libcap reads it (010 is octal, 0x0d hex)");
    const n = number ?? capabilityNumber(token);
    if (n === undefined || n > 63 || (number === undefined && !/^cap_/i.test(token)))
      throw new FormatError("IAB text", text, start, token, "unknown capability name");
    // No prefix means inheritable; "^" is inheritable and ambient; "!" alone only bounding.
    if (hat || pct || (!bang && !hat)) i = i.with(n);
    if (hat) a = a.with(n);
    if (bang) nb = nb.with(n);
    if (pos === text.length) break;
    if (text[pos] !== ",")
      throw new FormatError("IAB text", text, pos, text.charAt(pos), "expected ',' between capabilities");
    pos++;
  }
  return { inheritable: i, ambient: a, notBounding: nb };
}
