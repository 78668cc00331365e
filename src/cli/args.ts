// Values of command-line options that several commands take, parsed one way.
import { parseSecurebits } from "../scenario/parse.js";
import { UsageError } from "./errors.js";
import { kernelProfile, ProfileError, type KernelProfile } from "../kernel/profiles.js";

/** Securebits as capsh --secbits takes them (a number, decimal or 0x hex) or as names (SECBIT_NOROOT,...). */
export function securebitsArg(text: string, option: string): number {
  const t = text.trim();
  if (/^\d+$|^0x[0-9a-f]+$/i.test(t)) {
    const n = Number(t);
    if (n > 0xffffffff) throw new UsageError(`${option}: ${t} is more than 32 bits`);
    return n;
  }
  try {
    return parseSecurebits(t, option);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** The profile of a --kernel value ("6.18", or a release as uname -r prints it); bad input names the flag. */
export function kernelArg(text: string, option = "--kernel"): KernelProfile {
  try {
    return kernelProfile(text);
  } catch (e) {
    if (e instanceof ProfileError) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}
