import { argProfile } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { capabilityInfo, capabilityNumber } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { InputError, preview } from "./errors.js";
import { checkDepth } from "./json.js";

export interface SetInputOptions {
  /** Accept hex bits above CAP_LAST_CAP (capset data and file caps: the kernel drops them itself). */
  readonly rawMask?: boolean;
}

/** One capability token: a name (any case, CAP_ prefix optional) or a decimal number. */
export function parseCapability(
  token: string | number,
  profile: KernelProfile = kernelProfile(),
  path: string = "capability",
): number {
  profile = argProfile(profile, "parseCapability: the profile") ?? kernelProfile();
  if (typeof path !== "string") path = "capability";
  if (typeof token !== "number" && typeof token !== "string")
    throw new InputError(path, `expected a capability name or number, got ${preview(token)}`);
  if (typeof token === "number") {
    if (!Number.isInteger(token) || token < 0) throw new InputError(path, `${token} is not a capability number`);
    if (token > profile.lastCap)
      throw new InputError(
        path,
        `capability ${token} is above CAP_LAST_CAP (${profile.lastCap}) of kernel ${profile.version}`,
      );
    return token;
  }
  const text = token.trim();
  if (/^\d+$/.test(text)) return parseCapability(Number(text), profile, path);
  const number = capabilityNumber(text);
  if (number === undefined) throw new InputError(path, `unknown capability name ${preview(text)}`);
  if (number > profile.lastCap) {
    throw new InputError(
      path,
      `${capabilityInfo(number).name} does not exist in kernel ${profile.version} (added in ${capabilityInfo(number).since})`,
    );
  }
  return number;
}

/**
 * A capability set in any form scenario-format.md accepts: a hex mask string ("0x3000"), a
 * list of names and/or numbers, a comma-separated string of names, "all", "" or [].
 */
export function parseSetInput(
  value: unknown,
  profile: KernelProfile = kernelProfile(),
  path: string = "set",
  options: SetInputOptions = {},
): CapSet {
  if (typeof path !== "string") path = "set";
  checkDepth(value, path);
  profile = argProfile(profile, "parseSetInput: the profile") ?? kernelProfile();
  if (typeof options !== "object" || options === null) options = {};
  if (Array.isArray(value)) {
    let set = CapSet.EMPTY;
    value.forEach((item, i) => {
      if (typeof item !== "string" && typeof item !== "number") {
        throw new InputError(`${path}[${i}]`, `expected a capability name or number, got ${preview(item)}`);
      }
      set = set.with(parseCapability(item, profile, `${path}[${i}]`));
    });
    return set;
  }
  if (typeof value !== "string") {
    throw new InputError(
      path,
      `expected a capability set (hex string, list of names, comma-separated names, "all" or ""), got ${preview(value)}`,
    );
  }
  const text = value.trim();
  if (text === "") return CapSet.EMPTY;
  if (text.toLowerCase() === "all") return profile.all;
  if (/^0x/i.test(text)) {
    let set: CapSet;
    try {
      set = CapSet.fromHex(text);
    } catch {
      throw new InputError(path, `${preview(text)} is not a hex mask of at most 16 digits`);
    }
    if (!options.rawMask && !set.isSubsetOf(profile.fullSet)) {
      throw new InputError(
        path,
        `mask ${text} has bits above CAP_LAST_CAP (${profile.lastCap}) of kernel ${profile.version}: ${set.difference(profile.fullSet).toArray().join(", ")}`,
      );
    }
    return set;
  }
  let set = CapSet.EMPTY;
  text.split(",").forEach((token, i) => {
    if (token.trim() === "") throw new InputError(path, `empty name at position ${i + 1} of ${preview(text)}`);
    set = set.with(parseCapability(token, profile, path));
  });
  return set;
}
