// A kernel profile chosen on the command line or in a scenario: say so when it is newer than
// anything capgate has been proven on, instead of answering for it without a word.
import type { KernelProfile } from "../kernel/profiles.js";
import { DEFAULT_KERNEL } from "../kernel/profiles.js";

const warned = new Set<string>();

export function noteProfile(profile: KernelProfile): KernelProfile {
  if (profile.newerThanModelled && !warned.has(profile.version)) {
    warned.add(profile.version);
    process.stderr.write(
      `capgate: kernel ${profile.version} is newer than the newest modelled (${DEFAULT_KERNEL}); answering as ${DEFAULT_KERNEL} would\n`,
    );
  }
  return profile;
}
