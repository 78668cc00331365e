import { CapSet } from "./capabilities/set.js";
import { KernelProfile, kernelProfile } from "./kernel/profiles.js";
import { ERRNO_NAMES, ERRNO_NUMBERS, CAPABILITY_VERSION, PRCTL, AMBIENT_SUBOP } from "./kernel/constants.js";
import { engine, words, withRegion, SCRATCH } from "./engine/wasm.js";
import { STATE_SIZE, OP_SIZE, RESULT_SIZE, SEQUENCE_SIZE, RULE_CODES, NOTE_BITS } from "./engine/contract.js";
import {
  encodeOp,
  writeState,
  readState,
  readResult,
  readResultData,
  readFaultAux,
  emptyResult,
  writeSequence,
  type RawResult,
} from "./engine/codec.js";
import type { Op } from "./ops.js";
import { StateError, stateFieldProblem, stateProblem, type ThreadState } from "./state.js";
import { stateFieldsOk } from "./state-fields.js";
import { withSets } from "./engine/state-codec.js";
import { ArgumentError, CapgateInputError } from "./errors.js";
import { argArray, argObject, argProfile } from "./args.js";
import { ruleByCode, type RuleContext } from "./rules/catalog.js";
import { notesOf } from "./rules/notes.js";

export interface SimulateOptions {
  /** Kernel profile or "MAJOR.MINOR"; default the newest modelled kernel. */
  readonly kernel?: string | KernelProfile;
}

export interface Note {
  readonly id: string;
  readonly message: string;
}

/** The engine's answer for one call: what the kernel would return, why, and the thread afterwards. */
/** What a Verdict is made of: the engine's raw answer, and the call it answers. */
export interface VerdictInit {
  /** Read in the constructor only (a caller may reuse the object). */
  readonly raw: RawResult;
  readonly before: ThreadState;
  readonly profile: KernelProfile;
  /** The call; a subclass may build it on demand. */
  readonly op?: Op | undefined;
  /** The thread after the call; a subclass may build it on demand. */
  readonly state?: ThreadState | undefined;
  /** The op's kind (given apart from the op, which a subclass may build on demand). */
  readonly kind: Op["op"] | undefined;
  /** capget's data as copied out (a successful capget with data only). */
  readonly data?: { readonly effective: CapSet; readonly permitted: CapSet; readonly inheritable: CapSet } | undefined;
}

/** The engine's answer for one call: what the kernel would return, why, and the thread afterwards. */
export class Verdict {
  /** Whether the call succeeded (false, too, when it is not modelled). */
  readonly ok: boolean;

  /** The return value as the kernel gives it (-1 on failure). */
  readonly ret: number;
  /** The thread before the call. */
  readonly before: ThreadState;
  readonly profile: KernelProfile;
  /** capget with data: the sets as copied out. */
  readonly data: { readonly effective: CapSet; readonly permitted: CapSet; readonly inheritable: CapSet } | undefined;
  /** Bit set of the notes (see `notes`). */
  readonly noteBits: number;
  // The raw answer as numbers; the names are looked up when read (this constructor is on every
  // simulate's hot path, and V8 inlines it only while it stays small).
  protected readonly code: number;
  private readonly errnoNumber: number;
  private readonly versionValue: number;
  private readonly kind: Op["op"] | undefined;
  private readonly faultLo: number;
  private readonly faultHi: number;
  private readonly auxLo: number;
  private readonly auxHi: number;
  protected opValue: Op | undefined;
  protected stateValue: ThreadState | undefined;
  private messageValue: string | undefined;
  private hintValue: string | null | undefined;

  constructor(init: VerdictInit) {
    const raw = (init as VerdictInit | undefined)?.raw;
    if (raw == null) notEngineAnswer(); // (one small branch: this constructor must stay small enough to inline)
    this.ok = raw.ok;
    this.ret = raw.ret;
    this.before = init.before;
    this.profile = init.profile;
    this.data = init.data;
    this.noteBits = raw.notes;
    this.code = raw.rule;
    this.errnoNumber = raw.errno;
    this.versionValue = raw.version;
    this.kind = init.kind;
    this.faultLo = raw.faultLo;
    this.faultHi = raw.faultHi;
    this.auxLo = raw.auxLo;
    this.auxHi = raw.auxHi;
    this.opValue = init.op;
    this.stateValue = init.state;
    this.messageValue = undefined;
    this.hintValue = undefined;
  }

  /**
   * false: the call is outside the model (another task's capget, a prctl option whose outcome
   * depends on what capgate does not hold). ok, ret and errno then mean nothing, the rule ends
   * in `.not-modelled`, and the state after it is unknown: a sequence stops there. (Read from
   * the rule: the engine answers "not modelled" only with those rules, and the constructor
   * stays small enough for V8 to inline.)
   */
  get modelled(): boolean {
    return !NOT_MODELLED_CODES.has(this.code);
  }
  /** The stable id of the rule that decided the outcome. */
  get rule(): string {
    return ruleByCode(this.code).id;
  }
  /** The errno name on failure, else null. */
  get errno(): string | null {
    return this.ok || !this.modelled ? null : errnoName(this.errnoNumber);
  }
  /** capget/capset: the header version after the call (the kernel rewrites an unknown one). */
  get version(): number | undefined {
    return this.kind === "capget" || this.kind === "capset" ? this.versionValue : undefined;
  }
  /** execve: whether the new program runs with AT_SECURE. */
  get secureExec(): boolean | undefined {
    return this.kind === "execve" ? this.ok && (this.noteBits & EXEC_SECURE_NOTE) !== 0 : undefined;
  }
  /** The capabilities the deciding rule is about (e.g. the ones at fault). */
  get fault(): CapSet {
    return (this.faultLo | this.faultHi) === 0 ? CapSet.EMPTY : new CapSet(this.faultLo, this.faultHi);
  }
  /** A second set some explanations need (what ambient lost, what a file could not get). */
  get aux(): CapSet {
    return (this.auxLo | this.auxHi) === 0 ? CapSet.EMPTY : new CapSet(this.auxLo, this.auxHi);
  }
  /** The call, as simulated. */
  get op(): Op {
    return this.opValue!; // (set by every constructor path: readVerdict and the not-modelled verdicts)
  }
  /** The thread after the call (the same object as `before` when nothing changed). */
  get state(): ThreadState {
    return this.stateValue!; // (set with opValue)
  }

  private context(): RuleContext {
    return {
      before: this.before,
      after: this.state,
      op: this.op,
      fault: this.fault,
      aux: this.aux,
      ret: this.ret,
      profile: this.profile,
    };
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
  get kernelFunction(): string {
    return ruleByCode(this.code).kernel;
  }
  /** Silent side effects of the call (ambient trimmed, V1 truncation, fix-ups...). */
  get notes(): Note[] {
    if (this.noteBits === 0) return [];
    const ctx = this.context();
    return notesOf(this.noteBits).map((note) => ({ id: note.id, message: note.message(ctx) }));
  }
  /** Capabilities that entered / left the permitted set. */
  get gained(): CapSet {
    return this.state.permitted.difference(this.before.permitted);
  }
  get lost(): CapSet {
    return this.before.permitted.difference(this.state.permitted);
  }
  toJSON(): Record<string, unknown> {
    return {
      modelled: this.modelled,
      ok: this.modelled ? this.ok : null,
      ret: this.modelled ? this.ret : null,
      errno: this.errno,
      rule: this.rule,
      message: this.message,
      hint: this.hint,
      notes: this.notes,
    };
  }
}

/** A Verdict made from something other than the engine's answer. */
function notEngineAnswer(): never {
  throw new ArgumentError("a Verdict is made by simulate and its kin, from the engine's answer");
}

/** The rules the engine answers "not modelled" with (OUTCOME_NOT_MODELLED; test/rules.test.ts holds them to it). */
const NOT_MODELLED_CODES: ReadonlySet<number> = new Set<number>(
  Object.entries(RULE_CODES)
    .filter(([id]) => id.endsWith(".not-modelled"))
    .map(([, code]) => code),
);
const CAPGET_OK = RULE_CODES["capget.ok"],
  CAPGET_OTHER_TASK = RULE_CODES["capget.other-task"],
  CAPSET_OK = RULE_CODES["capset.ok"],
  CAPSET_VERSION_UNKNOWN = RULE_CODES["capset.version-unknown"];
const EXEC_SECURE_NOTE = 1 << NOTE_BITS["execve.secure"];
const STATE_IMPOSSIBLE = RULE_CODES["engine.state-impossible"];

/** The engine refused a start state no thread can be in: StateError, with the reason in words. */
function impossible(state: ThreadState, profile: KernelProfile, raw: { faultLo: number; faultHi: number }): StateError {
  const why =
    stateProblem(state, profile) ??
    `it holds ${new CapSet(raw.faultLo, raw.faultHi).names().join(", ") || "values"} no thread can hold`;
  return new StateError(`impossible state: ${why}`);
}
/** The raw answer of the single-call paths, read into one object (the Verdict copies it). */
const SCRATCH_RAW = emptyResult();
const SCRATCH_INIT: { -readonly [K in keyof VerdictInit]: VerdictInit[K] } = {
  raw: SCRATCH_RAW,
  before: undefined as unknown as ThreadState,
  profile: undefined as unknown as KernelProfile,
  op: undefined,
  kind: undefined,
  state: undefined,
  data: undefined,
};

/** The pre-flight verdict keeps the engine's raw answer and builds the op and the new state on demand. */
class CapsetPreflightVerdict extends Verdict {
  private readonly request: CapsetRequest;

  constructor(
    code: number,
    notes: number,
    before: ThreadState,
    profile: KernelProfile,
    request: CapsetRequest,
    w: Uint32Array,
  ) {
    const ok = code === CAPSET_OK;
    // One reused record: the Verdict constructor copies what it keeps, and nothing is allocated.
    const raw = SCRATCH_RAW;
    if (ok && notes === 0) raw.faultLo = raw.faultHi = raw.auxLo = raw.auxHi = 0;
    else readFaultAux(w, RESULT_AT, raw);
    raw.ok = ok;
    raw.modelled = true;
    raw.ret = ok ? 0 : -1;
    raw.errno = ok ? 0 : capsetErrno(code);
    raw.rule = code;
    raw.version = code === CAPSET_VERSION_UNKNOWN ? CAPABILITY_VERSION.v3 : (request.version ?? CAPABILITY_VERSION.v3);
    raw.notes = notes;
    if (ok) raw.faultLo = raw.faultHi = 0;
    if (notes === 0) raw.auxLo = raw.auxHi = 0;
    super({ raw, before, profile, op: undefined, kind: "capset", state: ok ? undefined : before, data: undefined });
    this.request = request;
    if (ok && notes !== 0) {
      // The engine changed the sets beyond the request (V1 or CAP_LAST_CAP masking, ambient
      // trim): read its answer now, before the scratch record is reused. The rare path.
      const after = readState(w, OUT_AT, before);
      this.stateValue = withSets(before, after.permitted, after.effective, after.inheritable, after.ambient);
    }
  }
  override get op(): Op {
    const { request: r, before: b } = this;
    return (this.opValue ??= {
      op: "capset",
      version: r.version ?? CAPABILITY_VERSION.v3,
      pid: r.pid ?? 0,
      effective: r.effective ?? b.effective,
      permitted: r.permitted ?? b.permitted,
      inheritable: r.inheritable ?? b.inheritable,
    });
  }
  override get state(): ThreadState {
    if (this.stateValue) return this.stateValue;
    // Nothing was masked or trimmed: the new sets are exactly the request.
    const b = this.before,
      r = this.request;
    return (this.stateValue = withSets(
      b,
      r.permitted ?? b.permitted,
      r.effective ?? b.effective,
      r.inheritable ?? b.inheritable,
      b.ambient,
    ));
  }
}

/** capset's errno for a failing rule, from the catalog (the engine reports it in the result record). */
function capsetErrno(code: number): number {
  const name = ruleByCode(code).errno;
  return name === null ? 0 : (ERRNO_NUMBERS[name] ?? 0);
}

const defaultProfile = kernelProfile();
const RESULT_AT = SCRATCH.result,
  OUT_AT = SCRATCH.out;
/** Resolves the kernel option (kernelProfile caches, so the hot path does not re-parse). */
export function profileOf(options?: SimulateOptions): KernelProfile {
  const kernel = options?.kernel;
  if (kernel === undefined) return defaultProfile;
  if (kernel === lastProfile) return lastProfile; // checked already: a caller passes one profile again and again
  // (argProfile returns undefined only for undefined, handled above)
  return (lastProfile = typeof kernel === "string" ? kernelProfile(kernel) : argProfile(kernel, "options.kernel")!);
}
let lastProfile: KernelProfile = defaultProfile;

/** Builds the verdict from a result record at `res` and a state record at `out` (word offsets). */
export function readVerdict(
  w: Uint32Array,
  res: number,
  out: number,
  before: ThreadState,
  op: Op,
  profile: KernelProfile,
): Verdict {
  const raw = readResult(w, res, SCRATCH_RAW);
  if (raw.rule === STATE_IMPOSSIBLE) throw impossible(before, profile, raw);
  // A failed call never changes the thread, and the read-only calls do not either.
  const changes = raw.ok && ((op.op !== "capget" && op.op !== "prctl") || isPrctlWrite(op));
  // One reused init (the constructor copies what it keeps): no allocation besides the Verdict.
  const init = SCRATCH_INIT;
  init.raw = raw;
  init.before = before;
  init.profile = profile;
  init.op = op;
  init.kind = op.op;
  init.state = changes ? readState(w, out, before) : before;
  init.data =
    op.op === "capget" && raw.ok && (raw.rule === CAPGET_OK || raw.rule === CAPGET_OTHER_TASK)
      ? readResultData(w, res)
      : undefined;
  return new Verdict(init);
}

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** The prctl getters (PR_GET_*, PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET) change nothing. */
const PRCTL_GETTERS: ReadonlySet<number> = new Set([
  PRCTL.PR_GET_KEEPCAPS,
  PRCTL.PR_CAPBSET_READ,
  PRCTL.PR_GET_SECUREBITS,
  PRCTL.PR_GET_NO_NEW_PRIVS,
]);
function isPrctlWrite(op: Op): boolean {
  if (op.op !== "prctl") return false;
  if (PRCTL_GETTERS.has(op.option)) return false;
  if (op.option === PRCTL.PR_CAP_AMBIENT && BigInt(op.arg2 ?? 0) === BigInt(AMBIENT_SUBOP.PR_CAP_AMBIENT_IS_SET))
    return false;
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

/**
 * Pre-flights capset(2): would it succeed from `state`, which rule decides, and what follows.
 * Omitted sets keep their current value. The hot path: one wasm call, no state record, and the
 * verdict's op, new state, message and hint are built only when read.
 */
export function preflightCapset(state: ThreadState, request: CapsetRequest, options?: SimulateOptions): Verdict {
  const profile = options === undefined ? defaultProfile : profileOf(options);
  // a state and a request of the right kinds (the engine checks what they mean together)
  if (!stateFieldsOk(state) || typeof request !== "object" || request === null)
    throw preflightInputError(state, request);
  const { permitted: p, effective: e, inheritable: i, bounding: b, ambient: a, tid } = state;
  const ne = request.effective ?? e,
    np = request.permitted ?? p,
    ni = request.inheritable ?? i;
  if (
    !(ne instanceof CapSet && np instanceof CapSet && ni instanceof CapSet) ||
    (request.version !== undefined &&
      (typeof request.version !== "number" || request.version !== request.version >>> 0)) ||
    (request.pid !== undefined && (typeof request.pid !== "number" || request.pid !== (request.pid | 0)))
  )
    throw preflightInputError(state, request);
  const code = engine.preflightCapset(
    profile.word,
    tid,
    request.version ?? CAPABILITY_VERSION.v3,
    request.pid ?? 0,
    p.lo,
    p.hi,
    e.lo,
    e.hi,
    i.lo,
    i.hi,
    b.lo,
    b.hi,
    a.lo,
    a.hi,
    ne.lo,
    ne.hi,
    np.lo,
    np.hi,
    ni.lo,
    ni.hi,
  );
  if ((code & 0xff) === STATE_IMPOSSIBLE) throw impossible(state, profile, readResult(words(), RESULT_AT));
  return new CapsetPreflightVerdict(code & 0xff, code >>> 8, state, profile, request, words());
}

/** What is wrong with a pre-flight's arguments, as bad input. */
function preflightInputError(state: ThreadState, request: CapsetRequest): CapgateInputError {
  if (!stateFieldsOk(state)) return new StateError(`impossible state: ${stateFieldProblem(state)}`);
  if (typeof request !== "object" || request === null)
    return new CapgateInputError("preflightCapset: the request must be an object of sets");
  for (const k of ["effective", "permitted", "inheritable"] as const)
    if (request[k] !== undefined && !(request[k] instanceof CapSet))
      return new CapgateInputError(`preflightCapset: request.${k} must be a CapSet`);
  if (request.version !== undefined && request.version !== request.version >>> 0)
    return new CapgateInputError(
      `preflightCapset: request.version must be a 32-bit unsigned integer, got ${String(request.version)}`,
    );
  if (request.pid !== undefined && request.pid !== (request.pid | 0))
    return new CapgateInputError(`preflightCapset: request.pid must be a 32-bit integer, got ${String(request.pid)}`);
  return new StateError(`impossible state: ${stateFieldProblem(state)}`);
}

/** Simulates many independent (state, op) pairs in one engine call. */
export function simulateBatch(
  records: ReadonlyArray<{ readonly state: ThreadState; readonly op: Op }>,
  options?: SimulateOptions,
): Verdict[] {
  const profile = profileOf(options);
  for (const r of argArray<{ state: ThreadState; op: Op }>(records, "simulateBatch: records"))
    argObject(r, "simulateBatch: each record ({ state, op })");
  const inBytes = records.length * (STATE_SIZE + OP_SIZE);
  return withRegion(inBytes + records.length * (RESULT_SIZE + STATE_SIZE), (base) => {
    let w = words();
    const inWords = base >>> 2,
      outWords = (base + inBytes) >>> 2;
    const inStride = (STATE_SIZE + OP_SIZE) >>> 2,
      outStride = (RESULT_SIZE + STATE_SIZE) >>> 2;
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
  return simulateSequences([{ state: start, ops }], options)[0]!; // (one answer per item)
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
export function simulateSequences(
  items: ReadonlyArray<{ readonly state: ThreadState; readonly ops: readonly Op[] }>,
  options?: SimulateOptions,
): Verdict[][] {
  const profile = profileOf(options);
  for (const it of argArray<{ state: ThreadState; ops: readonly Op[] }>(items, "simulateSequences: items")) {
    argObject(it, "simulateSequences: each item ({ state, ops })");
    for (const op of argArray(it.ops, "simulateSequences: ops")) argObject(op, "an op");
  }
  const out = new Array<Verdict[]>(items.length);
  const batch: number[] = [];
  items.forEach((it, i) => {
    if (needsCurrent(it.ops)) out[i] = stepByStep(it.state, it.ops, profile);
    else batch.push(i);
  });
  if (!batch.length) return out;
  // Layout: descriptors, then per item: start state, ops, results, states.
  let bytes = batch.length * SEQUENCE_SIZE;
  const offsets = batch.map((i) => {
    const start = bytes;
    bytes += STATE_SIZE + items[i]!.ops.length * (OP_SIZE + RESULT_SIZE + STATE_SIZE); // (batch holds indexes of items)
    return start;
  });
  withRegion(bytes, (base) => {
    let w = words();
    batch.forEach((i, j) => {
      // (batch holds indexes of items; offsets has one entry per batch entry)
      const it = items[i]!,
        n = it.ops.length;
      const start = base + offsets[j]!,
        ops = start + STATE_SIZE,
        results = ops + n * OP_SIZE,
        states = results + n * RESULT_SIZE;
      writeSequence(w, (base + j * SEQUENCE_SIZE) >>> 2, { start, ops, count: n, results, states });
      writeState(w, start >>> 2, it.state);
      it.ops.forEach((op, k) => encodeOp(w, (ops >>> 2) + k * (OP_SIZE >>> 2), op, it.state));
    });
    engine.evaluateSequences(profile.word, base, batch.length);
    w = words();
    batch.forEach((i, j) => {
      // (as above)
      const it = items[i]!,
        n = it.ops.length;
      const results = base + offsets[j]! + STATE_SIZE + n * OP_SIZE,
        states = results + n * RESULT_SIZE;
      const verdicts: Verdict[] = [];
      let state = it.state;
      for (let k = 0; k < n; k++) {
        const v = readVerdict(
          w,
          (results >>> 2) + k * (RESULT_SIZE >>> 2),
          (states >>> 2) + k * (STATE_SIZE >>> 2),
          state,
          it.ops[k]!, // (k < n = it.ops.length)
          profile,
        );
        verdicts.push(v);
        state = v.state;
      }
      out[i] = verdicts;
    });
  });
  return out;
}
