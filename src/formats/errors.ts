/** A malformed input in one of the text formats: names the offending token and its position. */
import { CapgateInputError } from "../errors.js";

export class FormatError extends CapgateInputError {
  override name = "FormatError";
  constructor(
    /** Which format, e.g. "libcap text". */
    readonly format: string,
    readonly input: string,
    /** 0-based offset of the offending token. */
    readonly position: number,
    readonly token: string,
    readonly problem: string,
  ) {
    super(
      `${format}: ${problem} at position ${position + 1}${token ? ` (${JSON.stringify(token)})` : ""} in ${JSON.stringify(input)}`,
    );
  }
}
