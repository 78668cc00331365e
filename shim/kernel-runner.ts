// Runs trials (a start state and ops) on the real kernel through native/capfuzz, each on a
// fresh thread in a throwaway user namespace, and reads every step back. Test and `capgate
// verify` tooling: the kernel's answers, for comparison with the engine's.
import { spawnSync } from "node:child_process";
import { existsSync, statSync, mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeState, encodeOp, readStep, type KernelStep } from "../src/engine/codec.js";
import type { Op } from "../src/ops.js";
import { CapgateSystemError } from "../src/errors.js";
import { STATE_SIZE, OP_SIZE, STEP_SIZE } from "../src/engine/contract.js";
import type { ThreadState } from "../src/state.js";

export const RUNNER_PATH = fileURLToPath(new URL("../../build/capfuzz", import.meta.url));

export type { KernelStep };
export interface KernelTrial {
  /** 0 when the start state was reached; otherwise the setup stage that failed. */
  readonly setup: number;
  readonly steps: readonly KernelStep[];
}
export interface Trial {
  readonly state: ThreadState;
  readonly ops: readonly Op[];
}

export class KernelRunnerError extends CapgateSystemError {
  override name = "KernelRunnerError";
}

/** Why the kernel runner cannot run here, or null when it can. */
export function runnerUnavailable(): string | null {
  if (process.platform !== "linux") return "not Linux";
  if (!existsSync(RUNNER_PATH) || !statSync(RUNNER_PATH).isFile())
    return `${RUNNER_PATH} is not built (needs a C compiler: npm run build:native)`;
  return null;
}

/**
 * Whether the runner can execute op: an execve's file must carry a v2 or v3 xattr (v1 cannot be
 * written). An execve may stand anywhere: the exec'd program (the runner itself) runs the rest.
 */
export function runnerSupports(op: Op): boolean {
  return op.op !== "execve" || op.file.caps === undefined || op.file.caps.version !== 1;
}

function encodeTrials(trials: readonly Trial[]): Buffer {
  let bytes = 4;
  for (const t of trials) bytes += 4 + STATE_SIZE + t.ops.length * OP_SIZE;
  const buf = Buffer.alloc(bytes);
  const w = new Uint32Array(buf.buffer, buf.byteOffset, bytes >>> 2);
  w[0] = trials.length;
  let at = 1;
  for (const t of trials) {
    w[at++] = t.ops.length;
    writeState(w, at, t.state);
    at += STATE_SIZE >>> 2;
    for (const op of t.ops) {
      encodeOp(w, at, op, t.state);
      at += OP_SIZE >>> 2;
    }
  }
  return buf;
}

/** Runs the trials on the kernel (one runner process, two trial threads at a time). */
export function runOnKernel(trials: readonly Trial[]): KernelTrial[] {
  const why = runnerUnavailable();
  if (why) throw new KernelRunnerError(`the kernel runner is unavailable: ${why}`);
  for (const t of trials)
    t.ops.forEach((op, i) => {
      if (!runnerSupports(op))
        throw new KernelRunnerError(
          `the kernel runner cannot run step ${i + 1}: a v1 security.capability cannot be written`,
        );
    });
  const input = encodeTrials(trials);
  // execve trials put their files here: a real filesystem (xattrs, no nosuid), removed after.
  const dir = mkdtempSync(join(process.env["CAPGATE_EXEC_DIR"] ?? tmpdir(), "capgate-exec-"));
  chmodSync(dir, 0o755); // trial threads run as other uids without CAP_DAC_OVERRIDE
  let r;
  try {
    r = spawnSync(RUNNER_PATH, ["--userns", "--dir", dir], { input, maxBuffer: 1 << 30 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.error) throw new KernelRunnerError(`cannot start ${RUNNER_PATH}: ${r.error.message}`);
  if (r.status !== 0)
    throw new KernelRunnerError(`${RUNNER_PATH} exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  const out = r.stdout;
  const w = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  const result: KernelTrial[] = [];
  let at = 0;
  for (const t of trials) {
    const setup = w[at]!,
      n = w[at + 1]!;
    at += 2;
    const steps: KernelStep[] = [];
    if (setup === 0) {
      for (let i = 0; i < n; i++) {
        steps.push(readStep(w, at, t.ops[i]!));
        at += STEP_SIZE >>> 2;
      }
    }
    result.push({ setup, steps });
  }
  return result;
}
