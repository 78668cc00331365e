// Runs trials (a start state and ops) on the real kernel through native/capfuzz, each on a
// fresh thread in a throwaway user namespace, and reads every step back. Test and `capgate
// verify` tooling: the kernel's answers, for comparison with the engine's.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  statSync,
  mkdtempSync,
  rmSync,
  chmodSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  openSync,
  closeSync,
} from "node:fs";
import { tmpdir, homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeState, encodeOp, readStep, type KernelStep } from "../src/engine/codec.js";
import type { Op } from "../src/ops.js";
import { CapgateSystemError } from "../src/errors.js";
import { STATE_SIZE, OP_SIZE, STEP_SIZE, GROUPS_MAX } from "../src/engine/contract.js";
import type { ThreadState } from "../src/state.js";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = join(PACKAGE_ROOT, "native/capfuzz.c");
/** Where `npm install` of a checkout builds the runner. */
const BUILT = join(PACKAGE_ROOT, "build/capfuzz");

/** The package's version, so that a cached runner is rebuilt when capgate is upgraded. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "dev";
  }
}

/**
 * The kernel runner: build/capfuzz in a checkout; in an installed package (which ships the C
 * source, not a binary) a copy built on first use with the system C compiler, cached under
 * $CAPGATE_CACHE, $XDG_CACHE_HOME/capgate or ~/.cache/capgate.
 */
export const RUNNER_PATH = existsSync(BUILT)
  ? BUILT
  : join(
      process.env["CAPGATE_CACHE"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "capgate"),
      version(),
      "capfuzz",
    );

/** Compiles native/capfuzz.c into `out` (`static`: with no shared libraries, for a VM's initramfs); the reason when it cannot, else null. */
export function compileRunner(out: string, cc = process.env["CC"] ?? "cc", linkStatic = false): string | null {
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (e) {
    return `cannot create ${dirname(out)}: ${(e as Error).message}`;
  }
  const r = spawnSync(
    cc,
    ["-O2", "-Wall", "-Wextra", "-pthread", ...(linkStatic ? ["-static"] : []), "-o", out, SOURCE],
    {
      encoding: "utf8",
    },
  );
  if (r.error)
    return `no C compiler (${cc}: ${r.error.message}); install one (Debian: apt-get install gcc libc6-dev) or set CC`;
  if (r.status !== 0)
    return `${cc} could not compile ${SOURCE}: ${r.stderr.trim().split("\n")[0] ?? `exit ${r.status}`}`;
  return null;
}

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
  if (!existsSync(RUNNER_PATH) || !statSync(RUNNER_PATH).isFile()) {
    // an installed package: build it now, once
    const why = compileRunner(RUNNER_PATH);
    if (why) return `the kernel runner is not built and cannot be: ${why}`;
  }
  return null;
}

/**
 * Whether the runner can execute op: an execve's file must carry a v2 or v3 xattr (v1 cannot be
 * written). An execve may stand anywhere: the exec'd program (the runner itself) runs the rest.
 */
export function runnerSupports(op: Op): boolean {
  // setgroups beyond the state's 16 groups is outside the model: nothing to compare
  if (op.op === "setgroups") return op.groups.length <= GROUPS_MAX;
  if (op.op !== "execve") return true;
  // the runner makes the file the op describes: for a script, its interpreter
  const file = op.file.interpreter ?? op.file;
  return file.caps === undefined || file.caps.version !== 1;
}

/** The runner's input: u32 count, then per trial u32 op count, the state record, the op records. */
export function encodeTrials(trials: readonly Trial[]): Buffer {
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

/** Refuses trials the runner cannot make (a v1 xattr, too many groups, a start state nested deeper). */
export function checkRunnable(trials: readonly Trial[]): void {
  for (const t of trials) {
    if (t.state.ns && t.state.ns.level !== 1)
      throw new KernelRunnerError(
        "the kernel runner starts a trial at most one user namespace down (deeper ones come from unshare steps)",
      );
    t.ops.forEach((op, i) => {
      if (!runnerSupports(op))
        throw new KernelRunnerError(
          `the kernel runner cannot run step ${i + 1}: ${op.op === "setgroups" ? `more than ${GROUPS_MAX} groups is outside the model` : "a v1 security.capability cannot be written"}`,
        );
    });
  }
}

/** Decodes the runner's output: per trial, the setup status, the op count, a step record per op. */
export function decodeResults(out: Buffer, trials: readonly Trial[]): KernelTrial[] {
  const w = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  const result: KernelTrial[] = [];
  let at = 0;
  for (const t of trials) {
    if (at + 2 > w.length) throw new KernelRunnerError("the runner's output ends early");
    const setup = w[at]!,
      n = w[at + 1]!;
    at += 2;
    const steps: KernelStep[] = [];
    // the runner writes every trial's step records, also when its setup failed (then unused)
    if (setup === 0) for (let i = 0; i < n; i++) steps.push(readStep(w, at + i * (STEP_SIZE >>> 2), t.ops[i]!));
    at += n * (STEP_SIZE >>> 2);
    result.push({ setup, steps });
  }
  return result;
}

/**
 * A directory for one runner: the runner mounts a tmpfs of its own on it (in its own mount
 * namespace) for the execve trials' files; removed after.
 */
function execDir(): string {
  const parent = process.env["CAPGATE_EXEC_DIR"] ?? tmpdir();
  try {
    const dir = mkdtempSync(join(parent, "capgate-exec-"));
    chmodSync(dir, 0o755); // trial threads run as other uids without CAP_DAC_OVERRIDE
    return dir;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new KernelRunnerError(
      `cannot make a directory for the exec files in ${parent}${process.env["CAPGATE_EXEC_DIR"] ? " ($CAPGATE_EXEC_DIR)" : ""}: ${code}`,
    );
  }
}

function runnerFailed(status: number | null, signal: string | null, stderr: string): KernelRunnerError {
  return new KernelRunnerError(`${RUNNER_PATH} exited with ${status ?? signal}: ${stderr.trim()}`);
}

/** Runs the trials on the kernel (one runner process, two trial threads at a time). */
export function runOnKernel(trials: readonly Trial[]): KernelTrial[] {
  const why = runnerUnavailable();
  if (why) throw new KernelRunnerError(`the kernel runner is unavailable: ${why}`);
  checkRunnable(trials);
  const input = encodeTrials(trials);
  const dir = execDir();
  let r;
  try {
    r = spawnSync(RUNNER_PATH, ["--userns", "--dir", dir], { input, maxBuffer: 1 << 30 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.error) throw new KernelRunnerError(`cannot start ${RUNNER_PATH}: ${r.error.message}`);
  if (r.status !== 0) throw runnerFailed(r.status, r.signal, r.stderr.toString());
  return decodeResults(r.stdout, trials);
}

/**
 * runOnKernel without blocking: the runner reads its input from a file and writes its answers
 * to one, so it runs on while this process does other work (a campaign makes the next batch of
 * trials meanwhile) and never waits for this process to feed or drain a pipe.
 */
export function runOnKernelAsync(trials: readonly Trial[]): Promise<KernelTrial[]> {
  const why = runnerUnavailable();
  if (why) return Promise.reject(new KernelRunnerError(`the kernel runner is unavailable: ${why}`));
  try {
    checkRunnable(trials);
  } catch (e) {
    return Promise.reject(e as Error);
  }
  let io: string, dir: string;
  try {
    io = mkdtempSync(join(tmpdir(), "capgate-run-"));
  } catch (e) {
    return Promise.reject(
      new KernelRunnerError(`cannot make a directory for the runner's input: ${(e as Error).message}`),
    );
  }
  try {
    dir = execDir();
  } catch (e) {
    rmSync(io, { recursive: true, force: true });
    return Promise.reject(e as Error);
  }
  const done = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(io, { recursive: true, force: true });
  };
  let input = -1,
    output = -1;
  try {
    writeFileSync(join(io, "in"), encodeTrials(trials));
    input = openSync(join(io, "in"), "r");
    output = openSync(join(io, "out"), "w");
  } catch (e) {
    if (input >= 0) closeSync(input);
    done();
    return Promise.reject(new KernelRunnerError(`cannot write the runner's input: ${(e as Error).message}`));
  }
  return new Promise<KernelTrial[]>((resolve, reject) => {
    const child = spawn(RUNNER_PATH, ["--userns", "--dir", dir], { stdio: [input, output, "pipe"] });
    closeSync(input);
    closeSync(output);
    const stderr: Buffer[] = [];
    child.stderr!.on("data", (b: Buffer) => stderr.push(b));
    child.on("error", (e) => {
      done();
      reject(new KernelRunnerError(`cannot start ${RUNNER_PATH}: ${e.message}`));
    });
    child.on("close", (status, signal) => {
      try {
        if (status !== 0) throw runnerFailed(status, signal, Buffer.concat(stderr).toString());
        resolve(decodeResults(readFileSync(join(io, "out")), trials));
      } catch (e) {
        reject(e as Error);
      } finally {
        done();
      }
    });
  });
}
