import { CapSet } from "../capabilities/set.js";
import { CapgateInputError } from "../errors.js";

import { FEATURE } from "../engine/contract.js";

/** Feature bits of the engine's profile word (declared in contract/engine.json). */
const {
  NO_NEW_PRIVS: FEAT_NO_NEW_PRIVS,
  AMBIENT: FEAT_AMBIENT,
  FCAPS_V3: FEAT_FCAPS_V3,
  EXEC_SECUREBITS: FEAT_EXEC_SECUREBITS,
  EXEC_ID_CHANGED: FEAT_EXEC_ID_CHANGED,
  CAP_ELEVATED: FEAT_CAP_ELEVATED,
  VALID_MASK: FEAT_VALID_MASK,
} = FEATURE;

export interface KernelFeatures {
  /** PR_SET/GET_NO_NEW_PRIVS (3.5). */
  readonly noNewPrivs: boolean;
  /** The ambient set, PR_CAP_AMBIENT and SECBIT_NO_CAP_AMBIENT_RAISE (4.3). */
  readonly ambient: boolean;
  /** VFS_CAP_REVISION_3 file capabilities with a rootid (4.14). */
  readonly fileCapsV3: boolean;
  /** SECBIT_EXEC_RESTRICT_FILE / SECBIT_EXEC_DENY_INTERACTIVE, settable without CAP_SETPCAP (6.14). */
  readonly execSecurebits: boolean;
  /**
   * execve's set-id test compares the new euid with the old *effective* uid and the new egid by
   * in_group_p (the 2025 fix "exec: Correct the permission check for unsafe exec", commit
   * 337490f0007f: first in linux-next on 2025-06-24, after 6.16-rc1, so first released in
   * 6.17; confirmed on 6.18 and absent on 6.1 and 6.12 by the differential), instead of
   * comparing the new ids with the old real ones.
   */
  readonly execIdChanged: boolean;
  /**
   * AT_SECURE is decided with the new credentials in cap_bprm_set_creds (4.14, bprm->cap_elevated:
   * the set-id test counts). Before, cap_bprm_secureexec looked at the committed credentials
   * after any unsafe-exec downgrade: euid != uid, egid != gid, or a non-root caller that gained.
   */
  readonly capElevated: boolean;
  /**
   * CAP_FULL_SET is CAP_VALID_MASK, and capset and file capabilities are masked to it (3.16,
   * "CAPABILITIES: remove undefined caps from all processes"). Before, the full set was all 64
   * bits (a root shell's bounding, permitted and effective sets among them), capset stored bits
   * above CAP_LAST_CAP as given, and PR_CAPBSET_DROP could not remove them (EINVAL).
   */
  readonly validMask: boolean;
}

export interface KernelProfile {
  /** "MAJOR.MINOR" */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  /** CAP_LAST_CAP: the highest capability number this kernel knows. */
  readonly lastCap: number;
  readonly features: KernelFeatures;
  /** Every capability of this kernel (CAP_VALID_MASK). */
  readonly all: CapSet;
  /** CAP_FULL_SET: `all` from 3.16, all 64 bits before (see KernelFeatures.validMask). */
  readonly fullSet: CapSet;
  /** The engine's profile word. */
  readonly word: number;
  /** Newer than the newest kernel capgate was proven on (DEFAULT_KERNEL): modelled as that one. */
  readonly newerThanModelled: boolean;
}

/** Releases where something the engine models changed; any other version maps onto these. */
export const PROFILE_MILESTONES = ["3.0", "3.5", "3.16", "4.3", "4.14", "5.8", "5.9", "6.14", "6.17", "6.18"] as const;
/** The kernel on which capgate's model was last confirmed by its differential tests. */
export const DEFAULT_KERNEL = "6.18";
const [NEWEST_MAJOR, NEWEST_MINOR] = DEFAULT_KERNEL.split(".").map(Number) as [number, number];
/** The oldest kernel modelled (V3 headers and per-thread bounding sets exist; CAP_WAKE_ALARM is 35). */
export const OLDEST_KERNEL = "3.0";

export class ProfileError extends CapgateInputError {
  override name = "ProfileError";
}

const cache = new Map<string, KernelProfile>();

function atLeast(major: number, minor: number, m: number, n: number): boolean {
  return major > m || (major === m && minor >= n);
}

/** The profile of a kernel "MAJOR.MINOR" (a patch level is ignored). Default: DEFAULT_KERNEL. */
export function kernelProfile(version: string = DEFAULT_KERNEL): KernelProfile {
  if (typeof version !== "string")
    throw new ProfileError(`a kernel version is a string such as "6.18", got ${typeof version}`);
  const cached = cache.get(version);
  if (cached) return cached;
  const match = /^(\d{1,2})\.(\d{1,3})(?:\.\d+)?$/.exec(String(version).trim());
  if (!match) throw new ProfileError(`kernel version must look like "6.18", got ${JSON.stringify(version)}`);
  const major = Number(match[1]),
    minor = Number(match[2]);
  if (!atLeast(major, minor, 3, 0)) {
    throw new ProfileError(`kernel ${version} is older than the oldest modelled kernel (${OLDEST_KERNEL})`);
  }
  const is = (m: number, n: number) => atLeast(major, minor, m, n);
  const lastCap = is(5, 9) ? 40 : is(5, 8) ? 39 : is(3, 16) ? 37 : is(3, 5) ? 36 : 35;
  const features: KernelFeatures = Object.freeze({
    noNewPrivs: is(3, 5),
    ambient: is(4, 3),
    fileCapsV3: is(4, 14),
    execSecurebits: is(6, 14),
    execIdChanged: is(6, 17),
    capElevated: is(4, 14),
    validMask: is(3, 16),
  });
  const word =
    lastCap |
    (features.noNewPrivs ? FEAT_NO_NEW_PRIVS : 0) |
    (features.ambient ? FEAT_AMBIENT : 0) |
    (features.fileCapsV3 ? FEAT_FCAPS_V3 : 0) |
    (features.execSecurebits ? FEAT_EXEC_SECUREBITS : 0) |
    (features.execIdChanged ? FEAT_EXEC_ID_CHANGED : 0) |
    (features.capElevated ? FEAT_CAP_ELEVATED : 0) |
    (features.validMask ? FEAT_VALID_MASK : 0);
  const profile: KernelProfile = Object.freeze({
    version: `${major}.${minor}`,
    major,
    minor,
    lastCap,
    features,
    all: CapSet.upTo(lastCap),
    fullSet: features.validMask ? CapSet.upTo(lastCap) : CapSet.upTo(63),
    word,
    newerThanModelled: major > NEWEST_MAJOR || (major === NEWEST_MAJOR && minor > NEWEST_MINOR),
  });
  cache.set(version, profile);
  made.add(profile);
  return profile;
}

/** Every profile kernelProfile() made: the only objects the library accepts as a profile. */
const made = new WeakSet<object>();

/** Whether `v` is a profile kernelProfile() made (not an object that merely looks like one). */
export function isKernelProfile(v: unknown): v is KernelProfile {
  return typeof v === "object" && v !== null && made.has(v);
}

/**
 * SECURE_ALL_BITS of the profile with their lock bits: every securebit a thread on that kernel
 * can hold (assembly/securebits.ts allBits is the engine's side). NOROOT, NO_SETUID_FIXUP and
 * KEEP_CAPS always; NO_CAP_AMBIENT_RAISE from 4.3; EXEC_RESTRICT_FILE and EXEC_DENY_INTERACTIVE
 * from 6.14. Each value bit's lock is the bit above it.
 */
export function knownSecurebits(profile: KernelProfile): number {
  let values = SECBIT_VALUES_ALWAYS;
  if (profile.features.ambient) values |= SECBIT_NO_CAP_AMBIENT_RAISE;
  if (profile.features.execSecurebits) values |= SECBIT_EXEC_VALUES;
  return (values | (values << 1)) >>> 0;
}
const SECBIT_VALUES_ALWAYS = (1 << 0) | (1 << 2) | (1 << 4); // NOROOT, NO_SETUID_FIXUP, KEEP_CAPS
const SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6;
const SECBIT_EXEC_VALUES = (1 << 8) | (1 << 10); // EXEC_RESTRICT_FILE, EXEC_DENY_INTERACTIVE

/**
 * The profile of a kernel release as uname -r prints it ("6.12.113+deb12-cloud-amd64" → 6.12);
 * null when it does not start with MAJOR.MINOR. A kernel older than the oldest profile throws.
 */
export function releaseProfile(release: string): KernelProfile | null {
  if (typeof release !== "string")
    throw new ProfileError(`a kernel release is a string such as "6.1.0-47-cloud-amd64", got ${typeof release}`);
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  return m ? kernelProfile(`${m[1]}.${m[2]}`) : null;
}
