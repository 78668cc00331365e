import { ERRNO } from "../engine/contract.js";
import { ArgumentError } from "../errors.js";
// Constants of the kernel ABI that capgate speaks: include/uapi/linux/capability.h,
// prctl.h and securebits.h (the prctl options and securebits declared in contract/kernel.json).
import { PRCTL_OPTIONS, SECUREBIT_VALUES } from "./facts.js";

export const CAPABILITY_VERSION = { v1: 0x19980330, v2: 0x20071026, v3: 0x20080522 } as const;

/** Every prctl option some kernel knows, by name (contract/kernel.json). */
export const PRCTL = PRCTL_OPTIONS;
export type PrctlOptionName = keyof typeof PRCTL;

export const AMBIENT_SUBOP = {
  PR_CAP_AMBIENT_IS_SET: 1,
  PR_CAP_AMBIENT_RAISE: 2,
  PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

/** Every securebit and its lock (contract/kernel.json). */
export const SECUREBITS = SECUREBIT_VALUES;
export type SecurebitName = keyof typeof SECUREBITS;

/** Names of the bits set in a securebits word (unknown bits as "bit N"). */
export function securebitNames(bits: number): string[] {
  if (typeof bits !== "number") throw new ArgumentError(`securebitNames: bits must be a number, got ${typeof bits}`);
  const names: string[] = [];
  for (let b = 0; b < 32; b++) {
    if (((bits >>> b) & 1) === 0) continue;
    const entry = Object.entries(SECUREBITS).find(([, v]) => v === 2 ** b);
    names.push(entry ? entry[0] : `bit ${b}`);
  }
  return names;
}

/** The errnos the engine answers with (declared in contract/engine.json), by name and by number. */
export const ERRNO_NUMBERS: Readonly<Record<string, number>> = ERRNO;
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
);
