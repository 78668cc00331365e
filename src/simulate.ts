import { CapSet } from "./capabilities/set.js";
import { KernelProfile, kernelProfile } from "./kernel/profiles.js";
import { ERRNO_NAMES, CAPABILITY_VERSION } from "./kernel/constants.js";
import { engine, words, withRegion, SCRATCH } from "./engine/wasm.js";
import { ST, RS, STATE_SIZE, OP_SIZE, RESULT_SIZE, FLAG_NO_NEW_PRIVS } from "./engine/layout.js";
import { encodeOp, type Op } from "./ops.js";
import type { ThreadState } from "./state.js";
import { ruleByCode, type RuleContext } from "./rules/catalog.js";
import { notesOf } from "./rules/notes.js";

export interface SimulateOptions {
  /** Kernel profile or "MAJOR.MINOR"; default the newest modelled kernel. */
  readonly kernel?: string | KernelProfile;
}

export interface Note { readonly id: string; readonly message: string }

/** The engine's answer for one call: what the kernel would return, why, and the thread afterwards. */
export class Verdict {
  /** Whether the call succeeded. */
  readonly ok: boolean;
  /** The return value as the kernel gives it (-1 on failure). */
  readonly ret: number;
  /** The errno name on failure, else null. */
  readonly errno: string | null;
  /** The stable id of the rule that decided the outcome. */
  readonly rule: string;
  /** The thread before the call. */
  readonly before: ThreadState;
  readonly profile: KernelProfile;
  /** capget/capset: the header version after the call (the kernel rewrites an unknown one). */
  readonly version: number | undefined;
  /** capget with data: the sets as copied out. */
  readonly data: { readonly effective: CapSet; readonly permitted: CapSet; readonly inheritable: CapSet } | undefined;
  /** execve: whether the new program runs with AT_SECURE. */
  readonly secureExec: boolean | undefined;
  /** Bit set of the notes (see `notes`). */
  readonly noteBits: number;
  protected readonly code: number;
  protected opValue: Op | undefined;
  protected stateValue: ThreadState | undefined;
  private readonly faultLo: number;
  private readonly faultHi: number;
  private readonly auxLo: number;
  private readonly auxHi: number;
  private messageValue: string | undefined;
  private hintValue: string | null | undefined;

  constructor(code: number, ok: boolean, ret: number, errno: string | null, before: ThreadState, profile: KernelProfile,
    op: Op | undefined, state: ThreadState | undefined, faultLo: number, faultHi: number, auxLo: number, auxHi: number,
    noteBits: number, version: number | undefined, data: Verdict["data"], secureExec: boolean | undefined) {
    this.code = code;
    this.ok = ok;
    this.ret = ret;
    this.errno = errno;
    this.rule = ruleByCode(code).id;
    this.before = before;
    this.profile = profile;
    this.opValue = op;
    this.stateValue = state;
    this.faultLo = faultLo;
    this.faultHi = faultHi;
    this.auxLo = auxLo;
    this.auxHi = auxHi;
    this.noteBits = noteBits;
    this.version = version;
    this.data = data;
    this.secureExec = secureExec;
    this.messageValue = undefined;
    this.hintValue = undefined;
  }

  /** The call, as simulated. */
  get op(): Op { return this.opValue!; }
  /** The thread after the call (the same object as `before` when nothing changed). */
  get state(): ThreadState { return this.stateValue!; }
  /** The capabilities the deciding rule is about (e.g. the ones at fault). */
  get fault(): CapSet { return (this.faultLo | this.faultHi) === 0 ? CapSet.EMPTY : new CapSet(this.faultLo, this.faultHi); }
  /** A second set some explanations need (what ambient lost, what a file could not get). */
  get aux(): CapSet { return (this.auxLo | this.auxHi) === 0 ? CapSet.EMPTY : new CapSet(this.auxLo, this.auxHi); }

  private context(): RuleContext {
    return { before: this.before, after: this.state, op: this.op, fault: this.fault, aux: this.aux, ret: this.ret, profile: this.profile };
  }
  /** One sentence: why the kernel decided so, naming the capabilities at fault. */
  get message(): string {
    return (this.messageValue ??= ruleByCode(this.code).message(this.context()));
  }
  /** What would make the call succeed (null when there is nothing to fix). */
  get hint(): string | null {
    if (this.hintValue === undefined) this.hintValue = ruleByCode(this.code).hint(this.context());
    return this.hintValue;
  }
  /** The kernel function that applies the deciding rule. */
  get kernelFunction(): string { return ruleByCode(this.code).kernel; }
  /** Silent side effects of the call (ambient trimmed, V1 truncation, fix-ups...). */
  get notes(): Note[] {
    if (this.noteBits === 0) return [];
    const ctx = this.context();
    return notesOf(this.noteBits).map((note) => ({ id: note.id, message: note.message(ctx) }));
  }
  /** Capabilities that entered / left the permitted set. */
  get gained(): CapSet { return this.state.permitted.difference(this.before.permitted); }
  get lost(): CapSet { return this.before.permitted.difference(this.state.permitted); }
  toJSON(): Record<string, unknown> {
    return { ok: this.ok, ret: this.ret, errno: this.errno, rule: this.rule, message: this.message, hint: this.hint, notes: this.notes };
  }
}

/** A copy of `b` with new P, E, I, A, built as one literal so every state shares one hidden class. */
function withSets(b: ThreadState, permitted: CapSet, effective: CapSet, inheritable: CapSet, ambient: CapSet): ThreadState {
  return {
    permitted, effective, inheritable, bounding: b.bounding, ambient, securebits: b.securebits,
    ruid: b.ruid, euid: b.euid, suid: b.suid, fsuid: b.fsuid, noNewPrivs: b.noNewPrivs, tid: b.tid,
  };
}

/** The pre-flight verdict keeps the engine's raw answer and builds the op and the new state on demand. */
class CapsetPreflightVerdict extends Verdict {
  private readonly request: CapsetRequest;

  constructor(code: number, notes: number, before: ThreadState, profile: KernelProfile, request: CapsetRequest, w: Uint32Array) {
    const ok = code === 10;
    const res = RESULT_AT;
    super(code, ok, ok ? 0 : -1, ok ? null : CAPSET_FAILURE_ERRNO[code]!, before, profile, undefined, ok ? undefined : before,
      ok ? 0 : w[res + RS.fault]!, ok ? 0 : w[res + RS.fault + 1]!, notes === 0 ? 0 : w[res + RS.aux]!, notes === 0 ? 0 : w[res + RS.aux + 1]!,
      notes, code === 11 ? CAPABILITY_VERSION.v3 : (request.version ?? CAPABILITY_VERSION.v3), undefined, undefined);
    this.request = request;
    if (ok && notes !== 0) {
      // The engine changed the sets beyond the request (V1 or CAP_LAST_CAP masking, ambient
      // trim): read its answer now, before the scratch record is reused. The rare path.
      const same = (at: number, prev: CapSet) => (w[at] === prev.lo && w[at + 1] === prev.hi ? prev : new CapSet(w[at]!, w[at + 1]!));
      this.stateValue = withSets(before, same(OUT_AT + ST.permitted, before.permitted), same(OUT_AT + ST.effective, before.effective),
        same(OUT_AT + ST.inheritable, before.inheritable), same(OUT_AT + ST.ambient, before.ambient));
    }
  }
  override get op(): Op {
    const { request: r, before: b } = this;
    return (this.opValue ??= {
      op: "capset", version: r.version ?? CAPABILITY_VERSION.v3, pid: r.pid ?? 0,
      effective: r.effective ?? b.effective, permitted: r.permitted ?? b.permitted, inheritable: r.inheritable ?? b.inheritable,
    });
  }
  override get state(): ThreadState {
    if (this.stateValue) return this.stateValue;
    // Nothing was masked or trimmed: the new sets are exactly the request.
    const b = this.before, r = this.request;
    return (this.stateValue = withSets(b, r.permitted ?? b.permitted, r.effective ?? b.effective, r.inheritable ?? b.inheritable, b.ambient));
  }
}

const defaultProfile = kernelProfile();
const RESULT_AT = SCRATCH.result, OUT_AT = SCRATCH.out;
/** Resolves the kernel option (kernelProfile caches, so the hot path does not re-parse). */
export function profileOf(options?: SimulateOptions): KernelProfile {
  const kernel = options?.kernel;
  if (kernel === undefined) return defaultProfile;
  return typeof kernel === "string" ? kernelProfile(kernel) : kernel;
}

export function writeState(w: Uint32Array, at: number, s: ThreadState): void {
  w[at + ST.permitted] = s.permitted.lo; w[at + ST.permitted + 1] = s.permitted.hi;
  w[at + ST.effective] = s.effective.lo; w[at + ST.effective + 1] = s.effective.hi;
  w[at + ST.inheritable] = s.inheritable.lo; w[at + ST.inheritable + 1] = s.inheritable.hi;
  w[at + ST.bounding] = s.bounding.lo; w[at + ST.bounding + 1] = s.bounding.hi;
  w[at + ST.ambient] = s.ambient.lo; w[at + ST.ambient + 1] = s.ambient.hi;
  w[at + ST.securebits] = s.securebits;
  w[at + ST.ruid] = s.ruid; w[at + ST.euid] = s.euid; w[at + ST.suid] = s.suid; w[at + ST.fsuid] = s.fsuid;
  w[at + ST.flags] = s.noNewPrivs ? FLAG_NO_NEW_PRIVS : 0;
  w[at + ST.tid] = s.tid;
}

function setAt(w: Uint32Array, at: number, prev: CapSet | undefined): CapSet {
  const lo = w[at]!, hi = w[at + 1]!;
  return prev && lo === prev.lo && hi === prev.hi ? prev : new CapSet(lo, hi);
}

/** Decodes a state record (word offset `at`), reusing the sets of `prev` that did not change. */
export function readState(w: Uint32Array, at: number, prev?: ThreadState): ThreadState {
  return {
    permitted: setAt(w, at + ST.permitted, prev?.permitted),
    effective: setAt(w, at + ST.effective, prev?.effective),
    inheritable: setAt(w, at + ST.inheritable, prev?.inheritable),
    bounding: setAt(w, at + ST.bounding, prev?.bounding),
    ambient: setAt(w, at + ST.ambient, prev?.ambient),
    securebits: w[at + ST.securebits]!,
    ruid: w[at + ST.ruid]!, euid: w[at + ST.euid]!, suid: w[at + ST.suid]!, fsuid: w[at + ST.fsuid]!,
    noNewPrivs: (w[at + ST.flags]! & FLAG_NO_NEW_PRIVS) !== 0,
    tid: w[at + ST.tid]!,
  };
}

function pair(w: Uint32Array, at: number): CapSet {
  const lo = w[at]!, hi = w[at + 1]!;
  return (lo | hi) === 0 ? CapSet.EMPTY : new CapSet(lo, hi);
}

/** Builds the verdict from a result record at `res` and a state record at `out` (word offsets). */
export function readVerdict(w: Uint32Array, res: number, out: number, before: ThreadState, op: Op, profile: KernelProfile): Verdict {
  const ok = w[res + RS.ok] === 1;
  const code = w[res + RS.rule]!;
  const noteBits = w[res + RS.notes]!;
  let version: number | undefined;
  let data: Verdict["data"];
  if (op.op === "capget" || op.op === "capset") {
    version = w[res + RS.version]!;
    if (op.op === "capget" && ok && code === 1) {
      data = { effective: pair(w, res + RS.dataEffective), permitted: pair(w, res + RS.dataPermitted), inheritable: pair(w, res + RS.dataInheritable) };
    }
  }
  // A failed call never changes the thread, and the read-only calls do not either.
  const changes = ok && (op.op !== "capget" && op.op !== "prctl" || isPrctlWrite(op));
  return new Verdict(code, ok, w[res + RS.ret]! | 0, ok ? null : errnoName(w[res + RS.errno]!), before, profile, op,
    changes ? readState(w, out, before) : before, w[res + RS.fault]!, w[res + RS.fault + 1]!, w[res + RS.aux]!, w[res + RS.aux + 1]!,
    noteBits, version, data, op.op === "execve" ? ok && (noteBits & (1 << 17)) !== 0 : undefined);
}

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

function isPrctlWrite(op: Op): boolean {
  if (op.op !== "prctl") return false;
  // The getters (PR_GET_*, PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET) change nothing.
  if (op.option === 7 || op.option === 23 || op.option === 27 || op.option === 39) return false;
  if (op.option === 47 && BigInt(op.arg2 ?? 0) === 1n) return false;
  return true;
}

/** Simulates one call on one thread: the kernel's verdict, its rule, and the thread afterwards. */
export function simulate(state: ThreadState, op: Op, options?: SimulateOptions): Verdict {
  const profile = profileOf(options);
  const w = words();
  writeState(w, SCRATCH.state, state);
  encodeOp(w, SCRATCH.op, op, state);
  engine.evaluateScratch(profile.word);
  return readVerdict(w, SCRATCH.result, SCRATCH.out, state, op, profile);
}

export interface CapsetRequest {
  readonly effective?: CapSet;
  readonly permitted?: CapSet;
  readonly inheritable?: CapSet;
  readonly version?: number;
  readonly pid?: number;
}

const CAPSET_FAILURE_ERRNO: Record<number, string> = { 11: "EINVAL", 12: "EPERM", 13: "EFAULT", 14: "EPERM", 15: "EPERM", 16: "EPERM", 17: "EPERM" };

/**
 * Pre-flights capset(2): would it succeed from `state`, which rule decides, and what follows.
 * Omitted sets keep their current value. The hot path: one wasm call, no state record, and the
 * verdict's op, new state, message and hint are built only when read.
 */
export function preflightCapset(state: ThreadState, request: CapsetRequest, options?: SimulateOptions): Verdict {
  const profile = options === undefined ? defaultProfile : profileOf(options);
  const { permitted: p, effective: e, inheritable: i, bounding: b, ambient: a } = state;
  const ne = request.effective ?? e, np = request.permitted ?? p, ni = request.inheritable ?? i;
  const code = engine.preflightCapset(profile.word, state.tid, request.version ?? CAPABILITY_VERSION.v3, request.pid ?? 0,
    p.lo, p.hi, e.lo, e.hi, i.lo, i.hi, b.lo, b.hi, a.lo, a.hi, ne.lo, ne.hi, np.lo, np.hi, ni.lo, ni.hi);
  return new CapsetPreflightVerdict(code & 0xff, code >>> 8, state, profile, request, words());
}

/** Simulates many independent (state, op) pairs in one engine call. */
export function simulateBatch(records: ReadonlyArray<{ readonly state: ThreadState; readonly op: Op }>, options?: SimulateOptions): Verdict[] {
  const profile = profileOf(options);
  const inBytes = records.length * (STATE_SIZE + OP_SIZE);
  return withRegion(inBytes + records.length * (RESULT_SIZE + STATE_SIZE), (base) => {
    let w = words();
    const inWords = base >>> 2, outWords = (base + inBytes) >>> 2;
    const inStride = (STATE_SIZE + OP_SIZE) >>> 2, outStride = (RESULT_SIZE + STATE_SIZE) >>> 2;
    records.forEach(({ state, op }, i) => {
      writeState(w, inWords + i * inStride, state);
      encodeOp(w, inWords + i * inStride + (STATE_SIZE >>> 2), op, state);
    });
    engine.evaluateBatch(profile.word, base, base + inBytes, records.length);
    w = words();
    return records.map(({ state, op }, i) => {
      const res = outWords + i * outStride;
      return readVerdict(w, res, res + (RESULT_SIZE >>> 2), state, op, profile);
    });
  });
}

/** Runs ops in order on one thread (each from the state the previous one left) in one engine call. */
export function simulateSequence(start: ThreadState, ops: readonly Op[], options?: SimulateOptions): Verdict[] {
  return simulateSequences([{ state: start, ops }], options)[0]!;
}

/** capset's omitted sets mean "current": they depend on the state each step starts from. */
function needsCurrent(ops: readonly Op[]): boolean {
  return ops.some((op) => op.op === "capset" && (!op.effective || !op.permitted || !op.inheritable));
}

/** A sequence with such a capset runs step by step, each step from the state the last one left. */
function stepByStep(start: ThreadState, ops: readonly Op[], profile: KernelProfile): Verdict[] {
  const verdicts: Verdict[] = [];
  let state = start;
  for (const op of ops) {
    const v = simulate(state, op, { kernel: profile });
    verdicts.push(v);
    state = v.state;
  }
  return verdicts;
}

/**
 * Many independent sequences (each from its own start state) in one engine call; a sequence
 * whose capset steps omit a set ("keep the current one") runs step by step instead.
 */
export function simulateSequences(items: ReadonlyArray<{ readonly state: ThreadState; readonly ops: readonly Op[] }>, options?: SimulateOptions): Verdict[][] {
  const profile = profileOf(options);
  const out: Verdict[][] = new Array(items.length);
  const batch: number[] = [];
  items.forEach((it, i) => { if (needsCurrent(it.ops)) out[i] = stepByStep(it.state, it.ops, profile); else batch.push(i); });
  if (!batch.length) return out;
  // Layout: descriptors, then per item: start state, ops, results, states.
  let bytes = batch.length * 20;
  const offsets = batch.map((i) => {
    const start = bytes;
    bytes += STATE_SIZE + items[i]!.ops.length * (OP_SIZE + RESULT_SIZE + STATE_SIZE);
    return start;
  });
  withRegion(bytes, (base) => {
    let w = words();
    batch.forEach((i, j) => {
      const it = items[i]!, n = it.ops.length;
      const start = base + offsets[j]!, ops = start + STATE_SIZE, results = ops + n * OP_SIZE, states = results + n * RESULT_SIZE;
      const d = (base >>> 2) + j * 5;
      w[d] = start; w[d + 1] = ops; w[d + 2] = n; w[d + 3] = results; w[d + 4] = states;
      writeState(w, start >>> 2, it.state);
      it.ops.forEach((op, k) => encodeOp(w, (ops >>> 2) + k * (OP_SIZE >>> 2), op, it.state));
    });
    engine.evaluateSequences(profile.word, base, batch.length);
    w = words();
    batch.forEach((i, j) => {
      const it = items[i]!, n = it.ops.length;
      const results = base + offsets[j]! + STATE_SIZE + n * OP_SIZE, states = results + n * RESULT_SIZE;
      const verdicts: Verdict[] = [];
      let state = it.state;
      for (let k = 0; k < n; k++) {
        const v = readVerdict(w, (results >>> 2) + k * (RESULT_SIZE >>> 2), (states >>> 2) + k * (STATE_SIZE >>> 2), state, it.ops[k]!, profile);
        verdicts.push(v);
        state = v.state;
      }
      out[i] = verdicts;
    });
  });
  return out;
}
