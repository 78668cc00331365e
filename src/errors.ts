// The two kinds of error capgate raises, so that a caller (and the CLI, in one place) can tell
// them apart: bad input, which the user fixes (exit status 2), and a refusal or failure of the
// real system (the kernel, the file system, the shim), which carries its own exit status.

/** Bad input: a name, a number, a file, a format. Subclasses say where (path, position, token). */
export class CapgateInputError extends Error {
  override name = "CapgateInputError";
  /** The CLI's exit status for bad input. */
  readonly exitStatus: number = 2;
}

/**
 * The real system said no or failed: the kernel refused a call, the model and the kernel
 * disagreed, a file could not be written, a program could not be executed. `exitStatus` is what
 * the CLI exits with (1 by default; 126/127 for a program that cannot run, as shells do).
 */
export class CapgateSystemError extends Error {
  override name = "CapgateSystemError";
  constructor(
    message: string,
    readonly exitStatus = 1,
  ) {
    super(message);
  }
}
