/** A usage error: exit status 2 with a one-line message. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A command ends with this exit status and one line on stderr (126/127 as a shell's, 1 a refusal). */
export class ExitError extends Error {
  override name = "ExitError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
