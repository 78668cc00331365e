// Least-privilege rings for a long-running Node program, after Tracee's pkg/capabilities:
// permitted is kept, effective is lowered to nothing, and a capability is effective only inside
// privileged() / required() / requested(). Every raise and lower is pre-flighted on the engine
// and read back through apply().
//
// What a ring does NOT cover (capabilities are per thread, and measured in test/rings.test.ts):
// only the calling thread (Node's main thread) changes. libuv pool threads, which run async
// fs, dns and crypto work, keep the credentials they were created with: pool threads created
// before init keep every capability whatever the ring (a ring weaker than it looks), and pool
// threads created after init have an empty effective set inside every ring. Worker threads
// copy the main thread's state at their creation. To reduce every thread, start the program
// under `capgate exec` (or drop before Node starts its threads); use rings for the main thread.
import { CapSet } from "../src/capabilities/set.js";
import { capabilityNumber } from "../src/capabilities/table.js";
import { PRCTL } from "../src/kernel/constants.js";
import type { Verdict } from "../src/simulate.js";
import { apply, RefusedByModel } from "./apply.js";
import { readThreadState, currentProfile } from "./thread-state.js";

export type Ring = "privileged" | "required" | "requested" | "unprivileged";

/** A ring change the engine refused (or the kernel did not make): the verdict says why. */
export class RingError extends Error {
  override name = "RingError";
  constructor(readonly ring: Ring, readonly verdict: Verdict) {
    super(`cannot enter the ${ring} ring: ${verdict.message}${verdict.hint ? ` (${verdict.hint})` : ""} [${verdict.rule}]`);
  }
}

type Caps = CapSet | readonly (string | number)[];
function toSet(caps: Caps | undefined): CapSet {
  if (caps === undefined) return CapSet.EMPTY;
  if (caps instanceof CapSet) return caps;
  let s = CapSet.EMPTY;
  for (const c of caps) {
    const n = typeof c === "number" ? c : capabilityNumber(c); // cap_kill, CAP_KILL, kill
    if (n === undefined) throw new RangeError(`unknown capability ${JSON.stringify(c)}`);
    s = s.with(n);
  }
  return s;
}

export interface RingsOptions {
  /** The base ring: what required() makes effective (Tracee's "Require"). */
  readonly required?: Caps;
  /** Added to / removed from the base ring (Tracee's --capabilities add=/drop=). */
  readonly add?: Caps;
  readonly drop?: Caps;
  /** Change nothing: every permitted capability stays effective. Default: CAPABILITIES_BYPASS=1. */
  readonly bypass?: boolean;
  /** The bounding set after init (what execs from here can ever get). Default: the base ring. */
  readonly bounding?: Caps;
}

export class Rings {
  readonly bypass: boolean;
  /** The base ring. */
  readonly base: CapSet;
  #stack: CapSet[] = [];
  #lock: Promise<void> = Promise.resolve();

  private constructor(bypass: boolean, base: CapSet) {
    this.bypass = bypass;
    this.base = base;
  }

  /** Drops to the unprivileged ring (see RingsOptions). Call once, on the main thread. */
  static init(options: RingsOptions = {}): Rings {
    const bypass = options.bypass ?? process.env["CAPABILITIES_BYPASS"] === "1";
    const base = toSet(options.required).union(toSet(options.add)).difference(toSet(options.drop));
    const rings = new Rings(bypass, base);
    if (bypass) return rings;
    const profile = currentProfile();
    const start = readThreadState();
    if (!base.isSubsetOf(start.permitted)) {
      throw new RingError("required", { message: `the base ring needs ${base.difference(start.permitted).names().join(", ")}, which ${base.difference(start.permitted).size === 1 ? "is" : "are"} not permitted`, hint: "start the program with them permitted", rule: "capset.effective-not-permitted" } as Verdict);
    }
    const keepBounding = options.bounding === undefined ? base : toSet(options.bounding);
    // Bounding drops need CAP_SETPCAP effective: do them before effective goes down.
    if (!start.effective.has(8) && !start.bounding.difference(keepBounding).isEmpty) rings.#set("privileged", start.permitted);
    for (const cap of readThreadState().bounding.difference(keepBounding)) {
      try {
        apply({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: cap }, { profile });
      } catch (e) {
        if (e instanceof RefusedByModel) throw new RingError("unprivileged", e.verdict);
        throw e;
      }
    }
    rings.#set("unprivileged", CapSet.EMPTY);
    return rings;
  }

  /** The effective set now (read from the kernel). */
  effective(): CapSet {
    return readThreadState().effective;
  }

  #set(ring: Ring, effective: CapSet): void {
    const s = readThreadState();
    if (s.effective.equals(effective)) return;
    try {
      apply({ op: "capset", effective, permitted: s.permitted, inheritable: s.inheritable });
    } catch (e) {
      if (e instanceof RefusedByModel) throw new RingError(ring, e.verdict);
      throw e;
    }
  }

  #enter<T>(ring: Ring, effective: () => CapSet, fn: () => T): T {
    if (this.bypass) return fn();
    const before = readThreadState().effective;
    this.#set(ring, effective());
    this.#stack.push(before);
    try {
      return fn();
    } finally {
      // Back to the enclosing ring (unprivileged at the top), also when fn throws.
      this.#set("unprivileged", this.#stack.pop()!);
    }
  }

  /** Ring 0: every permitted capability effective for the duration of fn. */
  privileged<T>(fn: () => T): T { return this.#enter("privileged", () => readThreadState().permitted, fn); }
  /** Ring 1: the base ring effective. */
  required<T>(fn: () => T): T { return this.#enter("required", () => this.base, fn); }
  /** Ring 2: just these capabilities effective (they must be permitted). */
  requested<T>(caps: Caps, fn: () => T): T { return this.#enter("requested", () => toSet(caps), fn); }

  /**
   * The async rings hold their effective set across every await of fn, and are serialized: a
   * second async ring waits for the first to finish (Tracee's big lock). Code that runs in
   * the gaps (other callbacks, timers) runs with the ring's capabilities effective; a sync
   * ring entered there nests on top and restores them before it returns.
   */
  async privilegedAsync<T>(fn: () => Promise<T>): Promise<T> { return this.#async("privileged", () => readThreadState().permitted, fn); }
  async requiredAsync<T>(fn: () => Promise<T>): Promise<T> { return this.#async("required", () => this.base, fn); }
  async requestedAsync<T>(caps: Caps, fn: () => Promise<T>): Promise<T> { return this.#async("requested", () => toSet(caps), fn); }

  async #async<T>(ring: Ring, effective: () => CapSet, fn: () => Promise<T>): Promise<T> {
    if (this.bypass) return fn();
    let release!: () => void;
    const previous = this.#lock;
    this.#lock = new Promise<void>((r) => { release = r; });
    await previous;
    const before = readThreadState().effective;
    try {
      this.#set(ring, effective());
      return await fn();
    } finally {
      this.#set("unprivileged", before);
      release();
    }
  }
}
