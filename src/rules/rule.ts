// What a rule is: its stable id (declared with its engine code in contract/engine.json), the
// errno it fails with, where the kernel applies it, and how to explain a verdict it decided.
// The rules themselves live beside the engine file of their kernel concept (capget.ts for
// assembly/capget.ts, ...); catalog.ts puts them together.
import { CapSet } from "../capabilities/set.js";
import { capabilityName } from "../capabilities/table.js";
import { listNames } from "../capabilities/list.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { RULE_CODES, type RuleId, type EngineErrno } from "../engine/contract.js";
import type { Op } from "../ops.js";
import type { ThreadState } from "../state.js";

export { listNames };
export type { RuleId };

export interface RuleContext {
  readonly before: ThreadState;
  readonly after: ThreadState;
  readonly op: Op;
  /** The capabilities (or securebits) the deciding rule is about. */
  readonly fault: CapSet;
  /** A second set some explanations need (what ambient lost, what a file could not get). */
  readonly aux: CapSet;
  readonly ret: number;
  readonly profile: KernelProfile;
}

export interface RuleInfo {
  /** Engine code (contract/engine.json). */
  readonly code: number;
  /** Stable id, e.g. "capset.permitted-grows". */
  readonly id: RuleId;
  /** The errno it fails with, or null for a rule that decides a success. */
  readonly errno: EngineErrno | null;
  /** Where the kernel applies it. */
  readonly kernel: string;
  /** One line for the docs. */
  readonly summary: string;
  message(ctx: RuleContext): string;
  hint(ctx: RuleContext): string | null;
}

/** A rule's text, keyed by its id; its code comes from the contract. */
export interface RuleText {
  readonly errno: EngineErrno | null;
  readonly kernel: string;
  readonly summary: string;
  readonly message: (ctx: RuleContext) => string;
  /** What would make the call succeed; default: nothing to fix. */
  readonly hint?: (ctx: RuleContext) => string | null;
}

export function rule(id: RuleId, text: RuleText): RuleInfo {
  return {
    code: RULE_CODES[id],
    id,
    errno: text.errno,
    kernel: text.kernel,
    summary: text.summary,
    message: text.message,
    hint: text.hint ?? (() => null),
  };
}

export const isAre = (set: CapSet) => (set.size === 1 ? "is" : "are");
export const itThem = (set: CapSet) => (set.size === 1 ? "it" : "them");

/** A prctl argument as a capability name (or the number, when it is not one). */
export function capArg(ctx: RuleContext, which: "arg2" | "arg3"): string {
  if (ctx.op.op !== "prctl") return "?";
  const v = ctx.op[which] ?? 0;
  const n = typeof v === "bigint" ? v : BigInt(v);
  return n >= 0n && n <= 63n ? capabilityName(Number(n)) : String(n);
}
export function versionName(v: number | undefined): string {
  return v === undefined ? "V3" : `0x${(v >>> 0).toString(16)}`;
}
