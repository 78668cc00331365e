import { ERRNO } from "../engine/contract.js";
import { ArgumentError } from "../errors.js";
// Constants of the kernel ABI that capgate speaks: include/uapi/linux/capability.h,
// prctl.h and securebits.h.

export const CAPABILITY_VERSION = { v1: 0x19980330, v2: 0x20071026, v3: 0x20080522 } as const;

export const PRCTL = {
  PR_GET_KEEPCAPS: 7,
  PR_SET_KEEPCAPS: 8,
  PR_CAPBSET_READ: 23,
  PR_CAPBSET_DROP: 24,
  PR_GET_SECUREBITS: 27,
  PR_SET_SECUREBITS: 28,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_GET_NO_NEW_PRIVS: 39,
  PR_CAP_AMBIENT: 47,
} as const;
export type PrctlOptionName = keyof typeof PRCTL;

export const AMBIENT_SUBOP = {
  PR_CAP_AMBIENT_IS_SET: 1,
  PR_CAP_AMBIENT_RAISE: 2,
  PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

export const SECUREBITS = {
  SECBIT_NOROOT: 1 << 0,
  SECBIT_NOROOT_LOCKED: 1 << 1,
  SECBIT_NO_SETUID_FIXUP: 1 << 2,
  SECBIT_NO_SETUID_FIXUP_LOCKED: 1 << 3,
  SECBIT_KEEP_CAPS: 1 << 4,
  SECBIT_KEEP_CAPS_LOCKED: 1 << 5,
  SECBIT_NO_CAP_AMBIENT_RAISE: 1 << 6,
  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: 1 << 7,
  SECBIT_EXEC_RESTRICT_FILE: 1 << 8,
  SECBIT_EXEC_RESTRICT_FILE_LOCKED: 1 << 9,
  SECBIT_EXEC_DENY_INTERACTIVE: 1 << 10,
  SECBIT_EXEC_DENY_INTERACTIVE_LOCKED: 1 << 11,
} as const;
export type SecurebitName = keyof typeof SECUREBITS;

/** Names of the bits set in a securebits word (unknown bits as "bit N"). */
export function securebitNames(bits: number): string[] {
  if (typeof bits !== "number") throw new ArgumentError(`securebitNames: bits must be a number, got ${typeof bits}`);
  const names: string[] = [];
  for (let b = 0; b < 32; b++) {
    if (((bits >>> b) & 1) === 0) continue;
    const entry = Object.entries(SECUREBITS).find(([, v]) => v === 1 << b || (b === 31 && v === -2147483648));
    names.push(entry ? entry[0] : `bit ${b}`);
  }
  return names;
}

/** The errnos the engine answers with (declared in contract/engine.json), by name and by number. */
export const ERRNO_NUMBERS: Readonly<Record<string, number>> = ERRNO;
export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
);
