import { CapgateInputError, CapgateSystemError } from "../errors.js";

/** A usage error: exit status 2 with a one-line message. */
export class UsageError extends CapgateInputError {
  override name = "UsageError";
}

/** A command ends with this exit status and one line on stderr (126/127 as a shell's, 1 a refusal). */
export class ExitError extends CapgateSystemError {
  override name = "ExitError";
  constructor(status: number, message: string) {
    super(message, status);
  }
}
