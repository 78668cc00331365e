import { ArgumentError } from "../errors.js";
import { capabilityName } from "./table.js";

/**
 * An immutable 64-bit capability set. Held as two unsigned 32-bit halves (never a BigInt on
 * the hot path); bits with no capability name (up to 63) are kept, never dropped.
 */
export class CapSet implements Iterable<number> {
  /** Bits 0..31. */
  readonly lo: number;
  /** Bits 32..63. */
  readonly hi: number;

  constructor(lo: number, hi: number) {
    // numbers only: anything else (a string, a list, a bigint) is no set's half (the throw is
    // out of line: this constructor runs for every set the engine hands back, and must inline)
    if (typeof lo !== "number" || typeof hi !== "number") badHalves(lo, hi);
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  static readonly EMPTY = new CapSet(0, 0);

  /** A set of the given capability numbers (0..63). */
  static of(...caps: number[]): CapSet {
    let lo = 0,
      hi = 0;
    for (const cap of caps) {
      if (!Number.isInteger(cap) || cap < 0 || cap > 63)
        throw new RangeError(`capability number out of range 0..63: ${cap}`);
      if (cap < 32) lo |= 1 << cap;
      else hi |= 1 << (cap - 32);
    }
    return new CapSet(lo, hi);
  }

  /** Every capability 0..lastCap. */
  static upTo(lastCap: number): CapSet {
    if (lastCap < 0) return CapSet.EMPTY;
    if (lastCap >= 63) return new CapSet(0xffffffff, 0xffffffff);
    if (lastCap < 31) return new CapSet(2 ** (lastCap + 1) - 1, 0);
    return new CapSet(0xffffffff, 2 ** (lastCap - 31) - 1);
  }

  static fromBigInt(mask: bigint): CapSet {
    if (mask < 0n || mask > 0xffffffffffffffffn) throw new RangeError(`capability mask out of range: ${mask}`);
    return new CapSet(Number(mask & 0xffffffffn), Number(mask >> 32n));
  }

  /** Parses "0x1ffffffffff" or "1ffffffffff" (at most 16 hex digits). */
  static fromHex(text: string): CapSet {
    const digits = text.trim().replace(/^0x/i, "");
    if (!/^[0-9a-f]{1,16}$/i.test(digits)) throw new SyntaxError(`not a hex capability mask: ${JSON.stringify(text)}`);
    const padded = digits.padStart(16, "0");
    return new CapSet(parseInt(padded.slice(8), 16), parseInt(padded.slice(0, 8), 16));
  }

  has(cap: number): boolean {
    if (cap < 0 || cap > 63) return false;
    return cap < 32 ? ((this.lo >>> cap) & 1) === 1 : ((this.hi >>> (cap - 32)) & 1) === 1;
  }
  with(...caps: number[]): CapSet {
    return this.union(CapSet.of(...caps));
  }
  without(...caps: number[]): CapSet {
    return this.difference(CapSet.of(...caps));
  }
  union(other: CapSet): CapSet {
    return new CapSet(this.lo | other.lo, this.hi | other.hi);
  }
  intersect(other: CapSet): CapSet {
    return new CapSet(this.lo & other.lo, this.hi & other.hi);
  }
  difference(other: CapSet): CapSet {
    return new CapSet(this.lo & ~other.lo, this.hi & ~other.hi);
  }
  isSubsetOf(other: CapSet): boolean {
    return ((this.lo & ~other.lo) | (this.hi & ~other.hi)) === 0;
  }
  equals(other: CapSet): boolean {
    return this.lo === other.lo && this.hi === other.hi;
  }
  get isEmpty(): boolean {
    return (this.lo | this.hi) === 0;
  }

  get size(): number {
    return popcount(this.lo) + popcount(this.hi);
  }

  [Symbol.iterator](): Iterator<number> {
    return this.toArray()[Symbol.iterator]();
  }
  /** The capability numbers, ascending. */
  toArray(): number[] {
    const out: number[] = [];
    for (let word = this.lo, base = 0; base < 64; word = this.hi, base += 32) {
      while (word !== 0) {
        const low = word & -word; // lowest set bit
        out.push(base + 31 - Math.clz32(low));
        word = (word ^ low) >>> 0;
      }
    }
    return out;
  }

  /** Kernel names, in number order; unnamed bits as decimal numbers. */
  names(): string[] {
    return this.toArray().map(capabilityName);
  }

  toBigInt(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Lowercase hex with a 0x prefix and no padding, as the scenario JSON uses ("0x3000"). */
  toHex(): string {
    return this.hi === 0
      ? `0x${this.lo.toString(16)}`
      : `0x${this.hi.toString(16)}${this.lo.toString(16).padStart(8, "0")}`;
  }
  /** 16 hex digits, as /proc/PID/status shows a set. */
  toStatusHex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
  toString(): string {
    return this.isEmpty ? "{}" : `{${this.names().join(",")}}`;
  }
  toJSON(): string {
    return this.toHex();
  }
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** CAP_FS_SET (include/linux/capability.h): what the fsuid fix-up moves in and out of effective. */
export const CAP_FS_SET = CapSet.of(0, 1, 2, 3, 4, 9, 27, 32);

function badHalves(lo: unknown, hi: unknown): never {
  throw new ArgumentError(`a CapSet's halves are numbers (32-bit words), got ${typeof lo} and ${typeof hi}`);
}
