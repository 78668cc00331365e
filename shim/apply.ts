// apply(op): change the calling thread's capabilities for real, but only after the engine has
// pre-flighted the change from the state just read, and prove afterwards that the kernel did
// what the engine predicted.
import { simulate, type Verdict } from "../src/simulate.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import { CAPABILITY_VERSION } from "../src/kernel/constants.js";
import type { ThreadState } from "../src/state.js";
import { CapgateSystemError } from "../src/errors.js";
import { compareStep } from "../src/compare.js";
import { idCallArgs, isIdCall, type Op } from "../src/ops.js";
import { toScenario } from "../src/scenario/emit.js";
import { syscall, prctl, type SyscallResult } from "./libc.js";
import { readThreadState, currentProfile } from "./thread-state.js";

/** The engine predicted that the call fails; nothing was done. */
export class RefusedByModel extends CapgateSystemError {
  override name = "RefusedByModel";
  constructor(readonly verdict: Verdict) {
    super(
      `capgate refused ${verdict.op.op}: the kernel would answer ${verdict.errno} (${verdict.rule}): ${verdict.message}${verdict.hint ? `; hint: ${verdict.hint}` : ""}`,
    );
  }
}

/** The kernel did something other than the engine predicted. Never silently accepted. */
export class ModelDivergence extends CapgateSystemError {
  override name = "ModelDivergence";
  constructor(
    readonly op: Op,
    readonly verdict: Verdict,
    readonly kernel: SyscallResult,
    readonly before: ThreadState,
    readonly predicted: ThreadState,
    readonly actual: ThreadState,
    readonly differences: readonly string[],
    /** A scenario that replays the call on the engine (`capgate simulate`). */
    readonly reproducer: Record<string, unknown>,
  ) {
    super(`the kernel disagreed with capgate's model on ${op.op}: ${differences.join("; ")}`);
  }
}

export interface ApplyOptions {
  /** Make the call even when the engine predicts failure (a divergence is still reported). */
  readonly force?: boolean;
  /** The kernel profile to pre-flight with; default: the running kernel's. */
  readonly profile?: KernelProfile;
}

export interface Applied {
  readonly verdict: Verdict;
  readonly kernel: SyscallResult;
  readonly before: ThreadState;
  readonly after: ThreadState;
}

function longArg(v: number | bigint | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return v;
  const n = BigInt.asIntN(64, v);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
    throw new RangeError(`the shim passes prctl arguments as safe integers; ${v} is not one`);
  return Number(n);
}

function call(op: Op, before: ThreadState): SyscallResult {
  // glibc's seteuid and setegid: -1 is EINVAL, otherwise setres[ug]id(-1, id, -1)
  if (op.op === "seteuid")
    return op.euid === 0xffffffff ? { ret: -1, errno: 22 } : syscall("setresuid", -1, op.euid, -1);
  if (op.op === "setegid")
    return op.egid === 0xffffffff ? { ret: -1, errno: 22 } : syscall("setresgid", -1, op.egid, -1);
  // the other set*id calls take their ids in the order the op declares them
  if (isIdCall(op)) return syscall(op.op, ...idCallArgs(op).map((v) => v | 0));
  switch (op.op) {
    case "capget":
    case "capset": {
      const header = Buffer.alloc(8);
      header.writeUInt32LE((op.version ?? CAPABILITY_VERSION.v3) >>> 0, 0);
      header.writeInt32LE(op.pid ?? 0, 4);
      const data = Buffer.alloc(24);
      if (op.op === "capset") {
        const e = op.effective ?? before.effective,
          p = op.permitted ?? before.permitted,
          i = op.inheritable ?? before.inheritable;
        [e.lo, p.lo, i.lo, e.hi, p.hi, i.hi].forEach((word, k) => data.writeUInt32LE(word, k * 4));
      }
      return op.data === false ? syscall(op.op, header, 0) : syscall(op.op, header, data);
    }
    case "prctl":
      return prctl(op.option, longArg(op.arg2), longArg(op.arg3), longArg(op.arg4), longArg(op.arg5));
    case "setgroups": {
      const list = Buffer.alloc(Math.max(4, op.groups.length * 4));
      op.groups.forEach((g, i) => list.writeUInt32LE(g >>> 0, i * 4));
      return syscall("setgroups", op.groups.length, list);
    }
    case "unshare":
      throw new RangeError("apply() does not unshare: a Node process has other threads (the kernel says EINVAL)");
    case "execve":
      throw new RangeError("apply() does not exec: execve replaces the process (see capgate exec)");
  }
}

/**
 * Applies op to the calling thread: pre-flight on the engine (refused with RefusedByModel when
 * it would fail, unless forced), the system call, then the state read back and compared with
 * the prediction (ModelDivergence on any difference). Acts on the calling thread only: other
 * threads of the process keep their capabilities (see threadsDifferingFromCaller).
 */
export function apply(op: Op, options: ApplyOptions = {}): Applied {
  const profile = options.profile ?? currentProfile();
  const before = readThreadState();
  const verdict = simulate(before, op, { kernel: profile });
  // outside the model: nothing was pre-flighted, so nothing is applied, forced or not
  if (!verdict.modelled || (!verdict.ok && !options.force)) throw new RefusedByModel(verdict);
  const kernel = call(op, before);
  const after = readThreadState();
  const diff = compareStep(verdict, { ret: kernel.ret, errno: kernel.errno, state: after }, "predicted");
  if (diff.length) {
    throw new ModelDivergence(
      op,
      verdict,
      kernel,
      before,
      verdict.state,
      after,
      diff,
      toScenario(profile.version, before, [op], "a call on which the kernel disagreed with capgate's model"),
    );
  }
  return { verdict, kernel, before, after };
}
