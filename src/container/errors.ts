import { CapgateInputError } from "../errors.js";

/** A container file capgate cannot read: not one of the kinds it knows, a wrong type, a missing rootfs. */
export class ContainerInputError extends CapgateInputError {
  override name = "ContainerInputError";
}
