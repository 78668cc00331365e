/** A usage error: exit status 2 with a one-line message. */
export class UsageError extends Error {
  override name = "UsageError";
}
