// The two kinds of error capgate raises, so that a caller (and the CLI, in one place) can tell
// them apart: bad input, which the user fixes (exit status 2), and a refusal or failure of the
// real system (the kernel, the file system, the shim), which carries its own exit status.

/**
 * A message as text, whatever was passed: an error built from a value (a list nested thousands
 * deep, a symbol) must still be an error, never a stack overflow or a TypeError of its own.
 */
/** What was thrown, as an Error (a library may throw anything). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(messageText(e));
}

export function messageText(m: unknown): string {
  if (typeof m === "string") return m;
  if (m === undefined) return "";
  if (typeof m === "object" && m !== null) return Object.prototype.toString.call(m);
  if (typeof m === "number" || typeof m === "boolean" || typeof m === "bigint" || m === null) return String(m);
  return typeof m; // a symbol or a function
}

/** Bad input: a name, a number, a file, a format. Subclasses say where (path, position, token). */
export class CapgateInputError extends Error {
  override name = "CapgateInputError";
  /** The CLI's exit status for bad input. */
  readonly exitStatus: number = 2;
  constructor(message?: string) {
    super(messageText(message));
  }
}

/**
 * The real system said no or failed: the kernel refused a call, the model and the kernel
 * disagreed, a file could not be written, a program could not be executed. `exitStatus` is what
 * the CLI exits with (1 by default; 126/127 for a program that cannot run, as shells do).
 */
export class CapgateSystemError extends Error {
  override name = "CapgateSystemError";
  readonly exitStatus: number;
  constructor(message: string, exitStatus = 1) {
    super(messageText(message));
    this.exitStatus = Number.isInteger(exitStatus) && exitStatus >= 1 && exitStatus <= 255 ? exitStatus : 1;
  }
}

/** An argument of the wrong kind passed to an exported function: bad input naming the function and the argument. */
export class ArgumentError extends CapgateInputError {
  override name = "ArgumentError";
}
