// Hex masks as /proc/PID/status and `capsh --decode=` show them.
import { argCapSet, argText } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { FormatError } from "./errors.js";
import { libcapName } from "./libcap-text.js";

/**
 * Parses "0x1ffffffffff", "000001ffffffffff" or "1ffffffffff": at most 16 significant hex
 * digits, leading zeros as many as you like (capsh --decode takes them too). A line copied from
 * /proc/PID/status ("CapEff:\t0000000000003000") is read for its mask.
 */
export function parseMask(text: string): CapSet {
  argText(text, "parseMask: the mask");
  const t = text.trim().replace(/^Cap(Inh|Prm|Eff|Bnd|Amb):\s*/, "");
  const digits = t.replace(/^0x/i, "").replace(/^0+(?=[0-9a-f])/i, "");
  if (!/^[0-9a-f]{1,16}$/i.test(digits)) {
    const bad = digits.search(/[^0-9a-f]/i);
    throw new FormatError(
      "hex mask",
      text,
      bad >= 0 ? bad + (t.length - digits.length) : 0,
      bad >= 0 ? digits.charAt(bad) : digits,
      digits.length > 16
        ? "more than 16 hex digits (64 bits)"
        : digits.length === 0
          ? "no hex digits"
          : "not a hex digit",
    );
  }
  return CapSet.fromHex(digits);
}

/** What `capsh --decode=MASK` prints: "0x000001ffffffffff=cap_chown,...". */
export function formatDecode(mask: CapSet): string {
  argCapSet(mask, "formatDecode: the mask");
  return `0x${mask.toStatusHex()}=${mask.toArray().map(libcapName).join(",")}`;
}
