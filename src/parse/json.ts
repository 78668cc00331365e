// JSON from a user's file, checked before anything walks it: parsed, and refused when nested
// deeper than any capgate document needs (a parser that recurses would otherwise overflow
// the stack on 8,000 levels of brackets).
import { InputError } from "./errors.js";

/** Deeper than any scenario, Tracee event or manifest capgate reads. */
export const MAX_JSON_DEPTH = 64;

/** The depth of a parsed JSON value, counted without recursion (stops at limit + 1). */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** JSON.parse with the depth limit; `where` names the input in the error. */
export function parseJson(text: string, where: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(where, `not valid JSON: ${(e as Error).message}`);
  }
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new InputError(where, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

/** Refuses a value nested deeper than MAX_JSON_DEPTH: the same limit for every exported parser as for the CLI's files. */
export function checkDepth(value: unknown, where: string): void {
  if (typeof value === "object" && value !== null && jsonDepth(value) > MAX_JSON_DEPTH)
    throw new InputError(where, `nested deeper than ${MAX_JSON_DEPTH} levels`);
}
