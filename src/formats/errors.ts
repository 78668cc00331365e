/** A malformed input in one of the text formats: names the offending token and its position. */
import { CapgateInputError, messageText } from "../errors.js";

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
    const t = messageText(token),
      i = messageText(input);
    super(
      `${messageText(format)}: ${messageText(problem)} at position ${typeof position === "number" ? position + 1 : "?"}${t ? ` (${JSON.stringify(t)})` : ""} in ${JSON.stringify(i.length > 200 ? `${i.slice(0, 200)}…` : i)}`,
    );
  }
}
