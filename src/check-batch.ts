import { ArgumentError } from "./errors.js";
import { CapSet } from "./capabilities/set.js";
import { engine, words, allocate, release } from "./engine/wasm.js";
import { CHECK_SIZE } from "./engine/contract.js";
import { writeCheck } from "./engine/codec.js";
import { ruleByCode } from "./rules/catalog.js";

const regions = new FinalizationRegistry<number>((at) => release(at));

/**
 * The four capset checks of cap_capset over many (state, request) records resident in wasm
 * memory: fill it once, run it as often as needed. For fuzzers and bulk pre-flight.
 * Only the checks: no header version, pid or ambient update (use simulateBatch for those).
 *
 * Each batch owns its region of engine memory (records and answers): another batch, or any
 * other engine call, never reads or overwrites them. The region is given back by dispose()
 * (or `using`), or when the batch is garbage-collected.
 */
/** The most records one batch holds (64 MiB of engine memory). */
const MAX_CAPACITY = Math.floor((64 << 20) / (CHECK_SIZE + 1));

export class CapsetCheckBatch {
  readonly capacity: number;
  #base: number;
  #count = 0;

  constructor(capacity: number) {
    if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity <= 0 || capacity > MAX_CAPACITY)
      throw new ArgumentError(
        `CapsetCheckBatch: the capacity must be an integer from 1 to ${MAX_CAPACITY}, got ${typeof capacity === "number" ? capacity : typeof capacity}`,
      );
    this.capacity = capacity;
    this.#base = allocate(capacity * CHECK_SIZE + capacity);
    regions.register(this, this.#base, this);
  }

  /** Gives the batch's engine memory back; the batch cannot be used afterwards. */
  dispose(): void {
    if (this.#base < 0) return;
    regions.unregister(this);
    release(this.#base);
    this.#base = -1;
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(): number {
    if (this.#base < 0) throw new RangeError("this CapsetCheckBatch was disposed");
    return this.#base;
  }

  get count(): number {
    return this.#count;
  }

  /** Sets record i: the thread's P, E, I, B and the requested E, P, I. */
  set(
    i: number,
    state: { permitted: CapSet; effective: CapSet; inheritable: CapSet; bounding: CapSet },
    request: { effective: CapSet; permitted: CapSet; inheritable: CapSet },
  ): void {
    if (i < 0 || i >= this.capacity) throw new RangeError(`record ${i} is outside 0..${this.capacity - 1}`);
    writeCheck(words(), (this.#live() >>> 2) + i * (CHECK_SIZE >>> 2), state, request);
    if (i >= this.#count) this.#count = i + 1;
  }

  /** Raw access for bulk fills: the record words start at this index of words(). */
  get wordOffset(): number {
    return this.#live() >>> 2;
  }
  /** Declares how many records are filled (after bulk fills through wordOffset). */
  setCount(count: number): void {
    if (count < 0 || count > this.capacity) throw new RangeError(`count ${count} is outside 0..${this.capacity}`);
    this.#count = count;
  }

  /** Runs the checks on every record; returns how many would succeed. */
  run(): number {
    const base = this.#live();
    return engine.capsetCheckBatch(base, base + this.capacity * CHECK_SIZE, this.#count);
  }

  /** The rule code of record i after run() (0: allowed). */
  code(i: number): number {
    if (i < 0 || i >= this.#count) throw new RangeError(`record ${i} is outside 0..${this.#count - 1}`);
    return new Uint8Array(engine.memory.buffer, this.#live() + this.capacity * CHECK_SIZE, this.capacity)[i]!;
  }
  /** The rule id of record i after run(): "capset.ok" or the check that failed. */
  rule(i: number): string {
    const code = this.code(i);
    return code === 0 ? "capset.ok" : ruleByCode(code).id;
  }
}
