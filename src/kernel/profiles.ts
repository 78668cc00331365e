// Kernel profiles: what a kernel of a given version has, folded from the kernel facts
// (contract/kernel.json: every capability, securebit, prctl option and feature with the kernel
// that brought it). A version is taken as users write it: "6.18", "7.4", "6.1.170", or as
// uname -r prints it ("6.12.113+deb12-cloud-amd64", "6.1.0-47-cloud-amd64", "5.10.0-32-amd64").
// A kernel newer than the newest profile is answered by the newest, and says so
// (newerThanProfile); one older than the oldest is refused.
import { CapSet } from "../capabilities/set.js";
import { CapgateInputError } from "../errors.js";
import { FEATURE, VERSION_SHIFT } from "../engine/contract.js";
import {
  CAPABILITY_ROWS,
  FEATURE_KEYS,
  FEATURE_ROWS,
  NEWEST_PROFILE,
  OLDEST_PROFILE,
  PRCTL_ROWS,
  SECUREBIT_ROWS,
  type KernelFeatures,
} from "./facts.js";

export type { KernelFeatures };

export interface KernelProfile {
  /** The profile's "MAJOR.MINOR": the kernel asked for, or the newest profile for a newer one. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  /** The kernel as asked for ("7.4", "6.1.170", "6.12.113+deb12-cloud-amd64"). */
  readonly kernel: string;
  /** The asked release's patch level, when it says one (a distribution's ABI number is none). */
  readonly patch: number | null;
  /** CAP_LAST_CAP: the highest capability number this kernel knows. */
  readonly lastCap: number;
  readonly features: KernelFeatures;
  /** Every capability of this kernel (CAP_VALID_MASK). */
  readonly all: CapSet;
  /** CAP_FULL_SET: `all` from 3.16, all 64 bits before (see KernelFeatures.validMask). */
  readonly fullSet: CapSet;
  /** The engine's profile word. */
  readonly word: number;
  /** The kernel asked for is newer than the newest profile (NEWEST_KERNEL), which answers for it. */
  readonly newerThanProfile: boolean;
  /** The same as newerThanProfile (its name before 0.2). */
  readonly newerThanModelled: boolean;
}

/** The newest kernel with a profile of its own, proven on a real kernel by the differential. */
export const NEWEST_KERNEL = NEWEST_PROFILE;
/** The profile used when none is named: the newest. */
export const DEFAULT_KERNEL = NEWEST_PROFILE;
/** The oldest kernel modelled (V3 headers and per-thread bounding sets exist; CAP_WAKE_ALARM is 35). */
export const OLDEST_KERNEL = OLDEST_PROFILE;

export class ProfileError extends CapgateInputError {
  override name = "ProfileError";
}

/** MAJOR << 8 | MINOR, as the engine compares versions. */
function code(version: string): number {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return (major << 8) | minor;
}

/**
 * Releases where something the engine models changed (a capability, a feature, a prctl option
 * or its handling), from the oldest profile to the newest: every other version answers as the
 * milestone below it.
 */
export const PROFILE_MILESTONES: readonly string[] = Object.freeze(
  [
    ...new Set([
      OLDEST_PROFILE,
      NEWEST_PROFILE,
      ...CAPABILITY_ROWS.map((r) => r[1]),
      ...Object.values(FEATURE_ROWS).map((f) => f.since),
      ...PRCTL_ROWS.flatMap((r) => r.handling.map((h) => h[0])),
    ]),
  ]
    .map((v) => v.split(".").slice(0, 2).join("."))
    .filter((v) => code(v) >= code(OLDEST_PROFILE))
    .filter((v, i, all) => all.indexOf(v) === i)
    .sort((a, b) => code(a) - code(b)),
);

/** A kernel version as users write it, parsed: MAJOR.MINOR and the patch level when it has one. */
export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number | null;
}

/**
 * "7.3", "6.1.170", "6.12.113+deb12-cloud-amd64" (patch 113), "6.1.0-47-cloud-amd64" and
 * "5.10.0-32-amd64" (Debian's and Ubuntu's ABI forms: the 0 is no patch level, so none is known),
 * or null when the text does not start with MAJOR.MINOR.
 */
export function parseKernelVersion(text: string): KernelVersion | null {
  if (typeof text !== "string") return null;
  const m = /^(\d{1,2})\.(\d{1,3})(?:\.(\d{1,6}))?([-+.~][\x21-\x7e]*)?$/.exec(text.trim());
  if (!m) return null;
  const abi = m[3] === "0" && /^-\d/.test(m[4] ?? "");
  return { major: Number(m[1]), minor: Number(m[2]), patch: m[3] === undefined || abi ? null : Number(m[3]) };
}

const cache = new Map<string, KernelProfile>();

/**
 * The profile of a kernel, as users write its version (see parseKernelVersion); default: the
 * newest. A kernel newer than the newest profile gets the newest (newerThanProfile: true); one
 * older than the oldest, or text that is no version, is a ProfileError.
 */
export function kernelProfile(version: string = DEFAULT_KERNEL): KernelProfile {
  if (typeof version !== "string")
    throw new ProfileError(`a kernel version is a string such as "6.18", got ${typeof version}`);
  const cached = cache.get(version);
  if (cached) return cached;
  const v = parseKernelVersion(version);
  if (!v)
    throw new ProfileError(
      `kernel version must look like "6.18", "6.1.170" or what uname -r prints, got ${JSON.stringify(version.slice(0, 60))}`,
    );
  const asked = (v.major << 8) | v.minor;
  if (asked < code(OLDEST_PROFILE))
    throw new ProfileError(`kernel ${v.major}.${v.minor} is older than the oldest modelled kernel (${OLDEST_KERNEL})`);
  const newer = asked > code(NEWEST_PROFILE);
  const profileVersion = newer ? NEWEST_PROFILE : `${v.major}.${v.minor}`;
  const at = code(profileVersion);
  const lastCap = CAPABILITY_ROWS.reduce((last, [, since], n) => (code(since) <= at ? n : last), 0);
  // a feature: from its first kernel on, and in a stable series that carries it from the
  // backport on (a release without a patch level is taken as its series' newest)
  const has = (name: string): boolean => {
    const f = FEATURE_ROWS[name];
    if (!f) return false;
    if (code(f.since) <= at) return true;
    const backport = f.backports[profileVersion];
    return backport !== undefined && (v.patch === null || v.patch >= backport);
  };
  const features = Object.freeze(
    Object.fromEntries(Object.entries(FEATURE_KEYS).map(([name, key]) => [key, has(name)])),
  ) as unknown as KernelFeatures;
  let word = lastCap | (at << VERSION_SHIFT);
  for (const [name, bit] of Object.entries(FEATURE)) if (has(name)) word |= bit;
  const profile: KernelProfile = Object.freeze({
    version: profileVersion,
    major: newer ? Number(NEWEST_PROFILE.split(".")[0]) : v.major,
    minor: newer ? Number(NEWEST_PROFILE.split(".")[1]) : v.minor,
    kernel: version.trim(),
    patch: v.patch,
    lastCap,
    features,
    all: CapSet.upTo(lastCap),
    fullSet: features.validMask ? CapSet.upTo(lastCap) : CapSet.upTo(63),
    word: word >>> 0,
    newerThanProfile: newer,
    newerThanModelled: newer,
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
 * can hold (assembly/securebits.ts allBits is the engine's side), from contract/kernel.json.
 * Each value bit's lock is the bit above it.
 */
export function knownSecurebits(profile: KernelProfile): number {
  let bits = 0;
  for (const [, bit, since] of SECUREBIT_ROWS) if (code(since) <= code(profile.version)) bits |= 3 << bit;
  return bits >>> 0;
}

/** How the model answers a prctl option on the profile's kernel: unknown, or a handling of PRCTL_ROWS. */
export function prctlHandling(
  profile: KernelProfile,
  option: number,
): "unknown" | "modelled" | "capability-checked" | "not-modelled" | "refused" {
  const row = PRCTL_ROWS.find((r) => r.number === option);
  let handling: ReturnType<typeof prctlHandling> = "unknown";
  for (const [since, h] of row?.handling ?? []) if (code(since) <= code(profile.version)) handling = h;
  return handling;
}

/**
 * The profile of a kernel release as uname -r prints it ("6.12.113+deb12-cloud-amd64" → 6.12);
 * null when it does not start with MAJOR.MINOR. A kernel older than the oldest profile throws.
 */
export function releaseProfile(release: string): KernelProfile | null {
  if (typeof release !== "string")
    throw new ProfileError(`a kernel release is a string such as "6.1.0-47-cloud-amd64", got ${typeof release}`);
  return parseKernelVersion(release) ? kernelProfile(release) : null;
}

/**
 * How a report names its kernel: the kernel asked for and the profile that answered (they differ
 * for a kernel newer than the newest profile, which says so). Every JSON report carries these.
 */
export function profileFields(profile: KernelProfile): {
  kernel: string;
  profile: string;
  newerThanProfile?: true;
} {
  return {
    kernel: profile.newerThanProfile ? profile.kernel : (asMajorMinor(profile.kernel) ?? profile.version),
    profile: profile.version,
    ...(profile.newerThanProfile && { newerThanProfile: true as const }),
  };
}

/** The same in words, for a text heading: "7.4 (answered by the 7.3 profile, the newest)" or "6.18". */
export function profileText(profile: KernelProfile): string {
  const { kernel } = profileFields(profile);
  if (profile.newerThanProfile) return `${kernel} (answered by the ${profile.version} profile, the newest)`;
  return kernel === profile.version ? kernel : `${kernel} (profile ${profile.version})`;
}

/** "6.18" for "6.18", the release as given otherwise ("6.1.170", a uname -r form). */
function asMajorMinor(kernel: string): string | null {
  return /^\d+\.\d+$/.test(kernel) ? kernel : kernel.length ? kernel : null;
}
