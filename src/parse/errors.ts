/** Bad input: names the place (file, step, field) and the problem. Never a stack trace for users. */
import { CapgateInputError } from "../errors.js";

export class InputError extends CapgateInputError {
  override name = "InputError";
  /** Where in the input, e.g. "steps[2].permitted". */
  readonly path: string;
  constructor(path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.path = path;
  }
}
