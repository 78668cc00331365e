import { CapgateInputError } from "../errors.js";

/** A document lint cannot read (not YAML, not JSON, nested too deep). */
export class LintInputError extends CapgateInputError {
  override name = "LintInputError";
}
