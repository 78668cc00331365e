/** Bad input: names the place (file, step, field) and the problem. Never a stack trace for users. */
import { CapgateInputError, messageText } from "../errors.js";

export class InputError extends CapgateInputError {
  override name = "InputError";
  /** Where in the input, e.g. "steps[2].permitted". */
  readonly path: string;
  constructor(path: string, message: string) {
    const where = messageText(path);
    super(where ? `${where}: ${messageText(message)}` : messageText(message));
    this.path = where;
  }
}

/** Longer strings are cut in messages (the CLI's one line stays readable). */
const PREVIEW_CHARS = 60;

/**
 * A value from the input as an error message shows it: a string quoted and cut, a number as it
 * is, a list or an object by its kind and size. Never recursive, so that a value nested
 * thousands deep makes a message, not a stack overflow.
 */
/**
 * The path an exported parser names in its messages: a caller's string, or `fallback` for
 * anything else (a path is text; a list nested thousands deep must not become one).
 */
export function pathText(path: unknown, fallback: string): string {
  return typeof path === "string" ? path : fallback;
}

export function preview(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > PREVIEW_CHARS ? `${v.slice(0, PREVIEW_CHARS)}…` : v);
  if (Array.isArray(v)) return v.length === 0 ? "[]" : `a list of ${v.length}`;
  if (typeof v === "object" && v !== null) return "an object";
  if (typeof v === "bigint") return `${v}n`;
  return String(v);
}
