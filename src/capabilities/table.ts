// The capability table: include/uapi/linux/capability.h numbers and names, with the kernel
// release that added each capability (capabilities(7)), declared in contract/kernel.json.
import { CAPABILITY_ROWS } from "../kernel/facts.js";

import { ArgumentError } from "../errors.js";

export interface CapabilityInfo {
  /** Kernel name, e.g. "CAP_NET_RAW". */
  readonly name: string;
  readonly number: number;
  /** The kernel release that added it. */
  readonly since: string;
  readonly description: string;
}

/** The rows of contract/kernel.json (src/kernel/facts.ts mirrors them). */
const rows = CAPABILITY_ROWS;

/** Capability numbers by kernel name without the CAP_ prefix: CAP.SETFCAP is 31. */
export const CAP = Object.freeze(Object.fromEntries(rows.map(([short], number) => [short, number]))) as {
  readonly [K in (typeof rows)[number][0]]: number;
};

export const CAPABILITIES: readonly CapabilityInfo[] = Object.freeze(
  rows.map(([short, since, description], number) =>
    Object.freeze({ name: `CAP_${short}`, number, since, description }),
  ),
);

/** The highest capability number capgate has a name for (CAP_LAST_CAP of its newest profile). */
export const LAST_KNOWN_CAP = CAPABILITIES.length - 1;

const byName = new Map<string, number>(CAPABILITIES.map((c) => [c.name, c.number]));

/** The number of a kernel name ("CAP_NET_RAW", any case, prefix optional), or undefined. */
export function capabilityNumber(name: string): number | undefined {
  if (typeof name !== "string") return undefined;
  // Names are ASCII: toUpperCase() would fold look-alikes ("ſ" → "S", "ı" → "I") into real names.
  if (!/^[\x20-\x7e]*$/.test(name)) return undefined;
  const upper = name.trim().toUpperCase();
  return byName.get(upper.startsWith("CAP_") ? upper : `CAP_${upper}`);
}

/** The entry of a capability capgate has a name for (a RangeError for any other number: a caller's bug). */
export function capabilityInfo(number: number): CapabilityInfo {
  const info = CAPABILITIES[number];
  if (!info) throw new RangeError(`no capability ${number} in capgate's table`);
  return info;
}

/** The kernel name of a capability number; numbers without a name print as decimal, as libcap does. */
export function capabilityName(number: number): string {
  if (typeof number !== "number")
    throw new ArgumentError(`capabilityName: the number must be a number, got ${typeof number}`);
  return CAPABILITIES[number]?.name ?? String(number);
}

/**
 * A capability number as libcap reads it (strtoul with base 0): "13", "015" (octal), "0x0d"
 * (hex). undefined when the token does not start with a digit; NaN when it does but is not a
 * whole C number ("08", "0x", "1e3").
 */
export function parseCapNumber(token: string): number | undefined {
  if (!/^\d/.test(token)) return undefined;
  if (/^0x[0-9a-f]+$/i.test(token)) return parseInt(token.slice(2), 16);
  if (/^0[0-7]*$/.test(token)) return parseInt(token, 8);
  if (/^[1-9]\d*$/.test(token)) return Number(token);
  return NaN;
}
