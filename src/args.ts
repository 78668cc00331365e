// What the exported functions check of their arguments before they use them: a value of the
// wrong kind (a number where a set belongs, a string nested in lists, undefined) is bad input,
// a CapgateInputError naming the function and the argument, never a TypeError from somewhere
// inside. The library fuzzer (fixtures/library-fuzz.ts) holds every export to it.
import { ArgumentError } from "./errors.js";
import { CapSet } from "./capabilities/set.js";
import { isKernelProfile, type KernelProfile } from "./kernel/profiles.js";

export { ArgumentError };

/** How a value is shown in a message: by kind, never by walking into it. */
export function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return "a string";
  if (typeof v === "object") return "an object";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v;
}

export function argText(v: unknown, where: string): string {
  if (typeof v !== "string") throw new ArgumentError(`${where} must be a string, got ${kind(v)}`);
  return v;
}

export function argCapSet(v: unknown, where: string): CapSet {
  if (!(v instanceof CapSet)) throw new ArgumentError(`${where} must be a CapSet, got ${kind(v)}`);
  return v;
}

/**
 * Array.isArray that keeps the element type: on a `readonly T[]` it narrows to `readonly T[]`,
 * not to `any[]` (TypeScript's own declaration), so what follows stays type-checked.
 */
export function isList<T>(v: unknown): v is readonly T[] {
  return Array.isArray(v);
}

export function argArray<T = unknown>(v: unknown, where: string): readonly T[] {
  if (!Array.isArray(v)) throw new ArgumentError(`${where} must be a list, got ${kind(v)}`);
  return v as readonly T[];
}

export function argObject<T extends object>(v: unknown, where: string): T {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ArgumentError(`${where} must be an object, got ${kind(v)}`);
  return v as T;
}

export function argInteger(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw new ArgumentError(`${where} must be an integer from ${min} to ${max}, got ${kind(v)}`);
  return v;
}

/** A kernel profile (an object kernelProfile() made); undefined stays undefined (the default). */
export function argProfile(v: unknown, where: string): KernelProfile | undefined {
  if (v === undefined) return undefined;
  if (!isKernelProfile(v))
    throw new ArgumentError(`${where} must be a kernel profile (see kernelProfile), got ${kind(v)}`);
  return v;
}
