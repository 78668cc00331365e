// A kernel profile chosen on the command line or in a scenario: say so when it is newer than
// anything capgate has been proven on, instead of answering for it without a word.
import type { KernelProfile } from "../kernel/profiles.js";
import { NEWEST_KERNEL } from "../kernel/profiles.js";

const notes = new Set<string>();

/** Notes a profile newer than any modelled; the line is printed when the command has run (flushNotes). */
export function noteProfile(profile: KernelProfile): KernelProfile {
  if (profile.newerThanProfile)
    notes.add(
      `kernel ${profile.kernel} is newer than the newest profile (${NEWEST_KERNEL}); answered as ${NEWEST_KERNEL} would`,
    );
  return profile;
}

/** Prints the pending notes (not after bad input, where the one error line is all there is to say). */
export function flushNotes(print: boolean): void {
  if (print) for (const note of notes) process.stderr.write(`capgate: ${note}\n`);
  notes.clear();
}
