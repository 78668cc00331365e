// Capability names as each ecosystem writes them, in and out. Numbers without a name (up to 63)
// survive every round trip: they are never silently dropped.
import { ArgumentError } from "../errors.js";
import { argArray, argCapSet, argInteger, argObject, argProfile, argText } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { CAPABILITIES, capabilityNumber, parseCapNumber } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { FormatError } from "./errors.js";

/**
 * - `kernel` / `rust`: CAP_NET_ADMIN (include/uapi/linux/capability.h; the caps and capctl crates)
 * - `libcap`: cap_net_admin, unnamed as "41" (cap_to_name)
 * - `libcap-ng` / `setpriv`: net_admin, unnamed as "cap_41"
 * - `docker`: NET_ADMIN (any case and an optional CAP_ prefix are accepted; ALL)
 * - `kubernetes`: NET_ADMIN; a CAP_ prefix is an error (containerd prefixes again: CAP_CAP_X)
 * - `systemd`: CAP_NET_ADMIN (CapabilityBoundingSet=, AmbientCapabilities=; "~" inverts a list)
 */
export type NameStyle = "kernel" | "rust" | "libcap" | "libcap-ng" | "setpriv" | "docker" | "kubernetes" | "systemd";
export const NAME_STYLES: readonly NameStyle[] = [
  "kernel",
  "rust",
  "libcap",
  "libcap-ng",
  "setpriv",
  "docker",
  "kubernetes",
  "systemd",
];

export function formatName(cap: number, style: NameStyle): string {
  argInteger(cap, "formatName: the capability", 0, 63);
  argStyle(style, "formatName");
  const known = CAPABILITIES[cap];
  const short = known ? known.name.slice(4) : undefined;
  switch (style) {
    case "libcap":
      return short ? `cap_${short.toLowerCase()}` : String(cap);
    case "libcap-ng":
    case "setpriv":
      return short ? short.toLowerCase() : `cap_${cap}`;
    case "docker":
    case "kubernetes":
      return short ?? String(cap);
    default:
      return short ? `CAP_${short}` : String(cap);
  }
}

export function formatNames(set: CapSet, style: NameStyle): string[] {
  argCapSet(set, "formatNames: the set");
  argStyle(style, "formatNames");
  return set.toArray().map((cap) => formatName(cap, style));
}

/** One name in a style's spelling; `at` is its offset in `input` for error messages. */
export function parseName(
  token: string,
  style: NameStyle,
  profile: KernelProfile = kernelProfile(),
  input = token,
  at = 0,
): number {
  argText(token, "parseName: the name");
  argStyle(style, "parseName");
  argProfile(profile, "parseName: the profile");
  // (annotated, so that TypeScript knows the code after a fail() call is unreachable)
  const fail: (problem: string) => never = (problem) => {
    throw new FormatError(`${style} capability name`, input, at, token, problem);
  };
  const t = token.trim();
  let n: number;
  if (/^\d/.test(t) && (style === "libcap" || style === "kernel")) {
    // libcap reads numbers with strtoul(..., 0): 010 is octal 8, 0x0d is 13
    n = parseCapNumber(t) ?? NaN;
    if (Number.isNaN(n)) fail("not a number as libcap reads it (010 is octal, 0x0d hex)");
  } else if (/^\d+$/.test(t) && (style === "rust" || style === "systemd")) n = Number(t);
  else if (/^cap_\d+$/i.test(t) && (style === "libcap-ng" || style === "setpriv")) n = Number(t.slice(4));
  else {
    const hasPrefix = /^cap_/i.test(t);
    if ((style === "libcap-ng" || style === "setpriv") && hasPrefix)
      fail('libcap-ng and setpriv names have no CAP_ prefix (write "net_raw")');
    if (style === "kubernetes" && hasPrefix)
      fail('Kubernetes names have no CAP_ prefix: containerd adds one, making CAP_CAP_X (write "NET_RAW")');
    if ((style === "libcap" || style === "kernel" || style === "rust" || style === "systemd") && !hasPrefix)
      fail(`${style} names need the CAP_ prefix`);
    n = capabilityNumber(t) ?? fail("unknown capability name");
  }
  if (n > 63) fail("capability number above 63");
  const info = CAPABILITIES[n];
  if (n > profile.lastCap && info)
    fail(`${info.name} does not exist in kernel ${profile.version} (added in ${info.since})`);
  return n;
}

/**
 * A list of names in a style: comma- or space-separated text, or an array. "ALL" (any case) is
 * every capability of the profile for docker and kubernetes; for systemd a leading "~" inverts.
 */
export function parseNames(
  input: string | readonly string[],
  style: NameStyle,
  profile: KernelProfile = kernelProfile(),
): CapSet {
  if (typeof input !== "string")
    for (const t of argArray(input, "parseNames: the names")) argText(t, "parseNames: each name");
  argStyle(style, "parseNames");
  argProfile(profile, "parseNames: the profile");
  const text = typeof input === "string" ? input : input.join(",");
  let body = text;
  let invert = false;
  if (style === "systemd" && body.trimStart().startsWith("~")) {
    invert = true;
    body = body.replace(/^\s*~/, " ");
  }
  let set = CapSet.EMPTY;
  const re = /[^\s,]+/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const token = m[0];
    if ((style === "docker" || style === "kubernetes") && token.toUpperCase() === "ALL") {
      set = set.union(profile.all);
      continue;
    }
    set = set.with(parseName(token, style, profile, text, m.index));
  }
  return invert ? profile.all.difference(set) : set;
}

/** moby's and containerd's default capabilities for a container (oci/caps/defaults). */
export const CONTAINER_DEFAULT_CAPS = CapSet.of(0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31);

export interface ContainerCapRequest {
  readonly add?: string | readonly string[];
  readonly drop?: string | readonly string[];
  readonly privileged?: boolean;
  /** The container process's uid: root gets the sets, others only the bounding set. */
  readonly uid?: number;
  /** "docker" (names in any case, optional CAP_) or "kubernetes" (no prefix). */
  readonly style?: "docker" | "kubernetes";
}

/**
 * The thread sets a container's first process starts with, from cap-add/cap-drop (moby's
 * TweakCapabilities): privileged gets everything; ALL in add means everything but the drops;
 * ALL in drop means only the adds; otherwise the defaults minus the drops, plus the adds (an
 * add wins over a drop of the same capability). Docker 23+ and containerd leave inheritable and
 * ambient empty; a non-root process gets no permitted or effective capabilities.
 */
export function containerCapabilities(req: ContainerCapRequest, profile: KernelProfile = kernelProfile()) {
  argObject(req, "containerCapabilities: the request");
  argProfile(profile, "containerCapabilities: the profile");
  if (req.uid !== undefined) argInteger(req.uid, "containerCapabilities: uid", 0, 0xfffffffe);
  const style = req.style ?? "docker";
  if (style !== "docker" && style !== "kubernetes")
    throw new ArgumentError('containerCapabilities: the style is "docker" or "kubernetes"');
  const add = parseNames(req.add ?? [], style, profile);
  const drop = parseNames(req.drop ?? [], style, profile);
  const list = (x: string | readonly string[] | undefined) => (typeof x === "string" ? x.split(/[\s,]+/) : (x ?? []));
  const addAll = list(req.add).some((t) => t.toUpperCase() === "ALL");
  const dropAll = list(req.drop).some((t) => t.toUpperCase() === "ALL");
  let caps: CapSet;
  if (req.privileged) caps = profile.all;
  else if (addAll) caps = profile.all.difference(drop);
  else if (dropAll) caps = add;
  else caps = CONTAINER_DEFAULT_CAPS.intersect(profile.all).difference(drop).union(add);
  const root = (req.uid ?? 0) === 0;
  return {
    bounding: caps,
    permitted: root ? caps : CapSet.EMPTY,
    effective: root ? caps : CapSet.EMPTY,
    inheritable: CapSet.EMPTY,
    ambient: CapSet.EMPTY,
  };
}

/**
 * Capability names as a person types them on a command line, in any ecosystem's spelling:
 * cap_net_raw, CAP_NET_RAW, net_raw, NET_RAW or 13 (comma- or space-separated).
 */
export function parseAnyNames(text: string, profile: KernelProfile = kernelProfile()): CapSet {
  argText(text, "parseAnyNames: the names");
  let set = CapSet.EMPTY;
  const re = /[^\s,]+/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const token = m[0];
    const spelled = /^\d/.test(token) || /^cap_/i.test(token) ? token : `CAP_${token}`;
    try {
      set = set.with(parseName(spelled, "kernel", profile, text, m.index));
    } catch (e) {
      // name the token as it was typed (not the CAP_-prefixed spelling looked up)
      if (e instanceof FormatError) throw new FormatError(e.format, text, m.index, token, e.problem);
      throw e;
    }
  }
  return set;
}

/** A name style argument: one of NAME_STYLES. */
function argStyle(style: unknown, where: string): void {
  if (typeof style !== "string" || !(NAME_STYLES as readonly string[]).includes(style))
    throw new ArgumentError(`${where}: the style must be one of ${NAME_STYLES.join(", ")}`);
}
