// Least-privilege rings for a long-running Node program, after Tracee's pkg/capabilities:
// permitted is kept, effective is lowered to nothing, and a capability is effective only inside
// privileged() / required() / requested(). Every raise and lower is pre-flighted on the engine
// and read back through apply().
//
// What a ring does NOT cover (capabilities are per thread; measured in test/rings.test.ts): only
// the calling thread (Node's main thread) changes. Every thread that exists when init runs
// keeps the credentials it had: a Node program already has about ten (V8's platform workers,
// the libuv pool that runs async fs, dns and crypto work) before its first line, so an async
// fs call can still use CAP_DAC_OVERRIDE at ring 3. Init lists them (unreducedThreads). Threads
// created later copy the main thread's state at that moment. To reduce every thread, start the
// program under `capgate exec`; use rings for the main thread's own calls.
import { AsyncLocalStorage } from "node:async_hooks";
import { CapgateSystemError } from "../src/errors.js";
import { CapSet } from "../src/capabilities/set.js";
import { CAP, capabilityName, capabilityNumber } from "../src/capabilities/table.js";
import { PRCTL } from "../src/kernel/constants.js";
import type { Op } from "../src/ops.js";
import { simulateSequence, type Verdict } from "../src/simulate.js";
import { apply, ModelDivergence, RefusedByModel } from "./apply.js";
import { errnoText } from "./libc.js";
import { readThreadState, currentProfile } from "./thread-state.js";
import { threadsDifferingFromCaller, type ThreadDifference } from "./threads.js";

export type Ring = "privileged" | "required" | "requested" | "unprivileged";

/** A ring change that was refused (by the engine or the kernel): the verdict says why, when there is one. */
export class RingError extends CapgateSystemError {
  override name = "RingError";
  constructor(
    readonly ring: Ring | "init",
    message: string,
    readonly verdict?: Verdict,
  ) {
    super(message);
  }
  static refused(ring: Ring | "init", verdict: Verdict): RingError {
    return new RingError(
      ring,
      `cannot enter the ${ring === "init" ? "unprivileged" : ring} ring: ${verdict.message}${verdict.hint ? ` (${verdict.hint})` : ""} [${verdict.rule}]`,
      verdict,
    );
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

/** The variable Tracee reads; capgate honours it only for a program that opts in (bypassFromEnv). */
export const BYPASS_VARIABLE = "CAPABILITIES_BYPASS";

export interface RingsOptions {
  /** The base ring: what required() makes effective (Tracee's "Require"). */
  readonly required?: Caps;
  /** Added to / removed from the base ring (Tracee's --capabilities add=/drop=). */
  readonly add?: Caps;
  readonly drop?: Caps;
  /**
   * Rings change nothing: every permitted capability stays effective. The bounding set is still
   * cut as asked. Default false.
   */
  readonly bypass?: boolean;
  /** Let CAPABILITIES_BYPASS=1 turn bypass on (Tracee's behaviour). Default false: the environment never relaxes rings unasked. */
  readonly bypassFromEnv?: boolean;
  /** The bounding set after init (what execs from here can ever get). Default: the base ring. */
  readonly bounding?: Caps;
}

/** The async ring a piece of async code runs in: nested async rings take this ring's lock, not the process's. */
interface AsyncRing {
  lock: Promise<void>;
}

let instance: Rings | null = null;

export class Rings {
  readonly bypass: boolean;
  /** The base ring. */
  readonly base: CapSet;
  /** The other threads that kept different credentials when init reduced this one (see the top of this file). */
  readonly unreducedThreads: readonly ThreadDifference[];
  #stack: CapSet[] = [];
  #top: AsyncRing = { lock: Promise.resolve() };
  #context = new AsyncLocalStorage<AsyncRing>();

  private constructor(bypass: boolean, base: CapSet, unreduced: readonly ThreadDifference[]) {
    this.bypass = bypass;
    this.base = base;
    this.unreducedThreads = unreduced;
  }

  /**
   * Drops to the unprivileged ring (see RingsOptions). Once per process, on the main thread. The
   * whole change (bounding drops, effective lowered) is pre-flighted on the engine first; when
   * the kernel refuses a step, the effective set the thread had is restored before RingError.
   */
  static init(options: RingsOptions = {}): Rings {
    if (instance)
      throw new RingError(
        "init",
        "Rings.init was already called in this process: there is one set of rings per process (use the Rings it returned)",
      );
    const bypass = options.bypass ?? (options.bypassFromEnv === true && process.env[BYPASS_VARIABLE] === "1");
    const base = toSet(options.required).union(toSet(options.add)).difference(toSet(options.drop));
    const profile = currentProfile();
    const start = readThreadState();
    if (!base.isSubsetOf(start.permitted)) {
      const missing = base.difference(start.permitted);
      throw new RingError(
        "required",
        `cannot enter the required ring: it needs ${missing.names().join(", ")}, which ${missing.size === 1 ? "is" : "are"} not permitted (start the program with ${missing.size === 1 ? "it" : "them"} permitted)`,
      );
    }
    const keepBounding = options.bounding === undefined ? base : toSet(options.bounding);
    const drops = start.bounding.difference(keepBounding);
    const ops: Op[] = [];
    // Bounding drops need CAP_SETPCAP effective: raise it first when it is only permitted.
    if (!drops.isEmpty && !start.effective.has(CAP.SETPCAP))
      ops.push({
        op: "capset",
        effective: start.permitted,
        permitted: start.permitted,
        inheritable: start.inheritable,
      });
    for (const cap of drops) ops.push({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: cap });
    if (!bypass)
      ops.push({ op: "capset", effective: CapSet.EMPTY, permitted: start.permitted, inheritable: start.inheritable });
    else if (!start.effective.equals(start.permitted))
      ops.push({
        op: "capset",
        effective: start.permitted,
        permitted: start.permitted,
        inheritable: start.inheritable,
      });
    const refused = simulateSequence(start, ops, { kernel: profile }).find((v) => !v.ok);
    if (refused) throw RingError.refused("init", refused);
    ops.forEach((op, i) => {
      try {
        apply(op, { profile });
      } catch (e) {
        if (!(e instanceof RefusedByModel || e instanceof ModelDivergence)) throw e;
        const said =
          e instanceof ModelDivergence && e.kernel.ret === -1
            ? `the kernel refused it: ${errnoText(e.kernel.errno)}`
            : e.message;
        const dropped = ops.slice(0, i).filter((o) => o.op === "prctl").length;
        let restored = "the effective set was restored";
        try {
          const now = readThreadState();
          if (!now.effective.equals(start.effective))
            apply(
              { op: "capset", effective: start.effective, permitted: now.permitted, inheritable: now.inheritable },
              { profile },
            );
        } catch (r) {
          restored = `the effective set could not be restored (${(r as Error).message})`;
        }
        throw new RingError(
          "init",
          `Rings.init failed at step ${i + 1} (${op.op === "prctl" ? `PR_CAPBSET_DROP ${capabilityName(Number(op.arg2))}` : "capset"}): ${said}; ${restored}` +
            `${dropped ? `; ${dropped} bounding drop${dropped === 1 ? " was" : "s were"} made and cannot be undone` : ""}`,
          e.verdict,
        );
      }
    });
    instance = new Rings(bypass, base, threadsDifferingFromCaller());
    return instance;
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
      if (e instanceof RefusedByModel) throw RingError.refused(ring, e.verdict);
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
  privileged<T>(fn: () => T): T {
    return this.#enter("privileged", () => readThreadState().permitted, fn);
  }
  /** Ring 1: the base ring effective. */
  required<T>(fn: () => T): T {
    return this.#enter("required", () => this.base, fn);
  }
  /** Ring 2: just these capabilities effective (they must be permitted). */
  requested<T>(caps: Caps, fn: () => T): T {
    return this.#enter("requested", () => toSet(caps), fn);
  }

  /**
   * The async rings hold their effective set across every await of fn, and are serialized: a
   * second async ring waits for the first to finish (Tracee's big lock). An async ring entered
   * inside another (in its async context) nests: it waits only for its siblings, and restores
   * the enclosing ring's set when it ends. Code that runs in the gaps (other callbacks, timers)
   * runs with the ring's capabilities effective; a sync ring entered there nests on top and
   * restores them before it returns.
   */
  async privilegedAsync<T>(fn: () => Promise<T>): Promise<T> {
    return this.#async("privileged", () => readThreadState().permitted, fn);
  }
  async requiredAsync<T>(fn: () => Promise<T>): Promise<T> {
    return this.#async("required", () => this.base, fn);
  }
  async requestedAsync<T>(caps: Caps, fn: () => Promise<T>): Promise<T> {
    return this.#async("requested", () => toSet(caps), fn);
  }

  async #async<T>(ring: Ring, effective: () => CapSet, fn: () => Promise<T>): Promise<T> {
    if (this.bypass) return fn();
    const parent = this.#context.getStore() ?? this.#top;
    let release!: () => void;
    const previous = parent.lock;
    parent.lock = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    const before = readThreadState().effective;
    try {
      this.#set(ring, effective());
      return await this.#context.run({ lock: Promise.resolve() }, fn);
    } finally {
      try {
        this.#set("unprivileged", before);
      } finally {
        release();
      }
    }
  }
}
