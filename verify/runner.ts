// Runs trials (a start state and ops) on the real kernel through native/capfuzz, each on a
// fresh thread in a throwaway user namespace, and reads every step back. Test and `capgate
// verify` tooling: the kernel's answers, for comparison with the engine's.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  existsSync,
  rmSync,
  chmodSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  openSync,
  closeSync,
} from "node:fs";
import { tmpdir, homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeState, encodeOp, readStep, type KernelStep } from "../src/engine/codec.js";
import type { Op } from "../src/ops.js";
import { CapgateSystemError, asError } from "../src/errors.js";
import { STATE_SIZE, OP_SIZE, STEP_SIZE, GROUPS_MAX } from "../src/engine/contract.js";
import type { ThreadState } from "../src/state.js";
import {
  directoryTrustProblem,
  ensureTrustedDirectory,
  helperProgram,
  openTrustedProgram,
  privateDirectory,
  runsAsRoot,
} from "../shim/trust.js";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SOURCE = join(PACKAGE_ROOT, "native/capfuzz.c");
/** Where `npm install` of a checkout builds the runner. */
const BUILT_DIR = join(PACKAGE_ROOT, "build");

/** The package's version, so that a cached runner is rebuilt when capgate is upgraded. */
function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "dev";
  }
}

/** The runner's cache: $CAPGATE_CACHE, $XDG_CACHE_HOME/capgate or ~/.cache/capgate, then the version. */
function cacheDirectory(): string {
  const base =
    process.env["CAPGATE_CACHE"] ||
    join(process.env["XDG_CACHE_HOME"] || join(process.env["HOME"] || homedir(), ".cache"), "capgate");
  return join(isAbsolute(base) ? base : join(homedir(), base), version());
}

/** How the runner is built: the C compiler a command line named (else `cc`; see helperProgram). */
let compilerFlag: string | undefined;
/** Names the C compiler for the runner (`capgate verify --cc`): the only way root uses another than the system's. */
export function setCompiler(cc: string | undefined): void {
  compilerFlag = cc;
}

/**
 * Compiles native/capfuzz.c into `out` (`linkStatic`: with no shared libraries, for a VM's
 * initramfs): into a temporary name beside it, then renamed into place, so that nothing ever
 * runs a half-written file. The reason when it cannot, else null.
 */
export function compileRunner(out: string, linkStatic = false): string | null {
  const { program: cc, env, ignoredVariable } = helperProgram(compilerFlag, "CC", "cc");
  if (ignoredVariable) noteOnce("CC is ignored when capgate runs as root: name a compiler with --cc");
  try {
    mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  } catch (e) {
    return `cannot create ${dirname(out)}: ${(e as Error).message}`;
  }
  const temporary = `${out}.${process.pid}.tmp`;
  const r = spawnSync(
    cc,
    ["-O2", "-Wall", "-Wextra", "-pthread", ...(linkStatic ? ["-static"] : []), "-o", temporary, SOURCE],
    { encoding: "utf8", env },
  );
  if (r.error)
    return `no C compiler (${cc}: ${r.error.message}); install one (Debian: apt-get install gcc libc6-dev)${runsAsRoot() ? " or name one with --cc" : " or set CC"}`;
  if (r.status !== 0) {
    rmSync(temporary, { force: true });
    return `${cc} could not compile ${SOURCE}: ${r.stderr.trim().split("\n")[0] ?? `exit ${r.status}`}`;
  }
  try {
    chmodSync(temporary, 0o755);
    renameSync(temporary, out);
  } catch (e) {
    rmSync(temporary, { force: true });
    return `cannot put the runner at ${out}: ${(e as Error).message}`;
  }
  return null;
}

const noted = new Set<string>();
function noteOnce(line: string): void {
  if (noted.has(line)) return;
  noted.add(line);
  process.stderr.write(`capgate: ${line}\n`);
}

/** A runner ready to start: `execPath` runs exactly the file that was checked. */
export interface Runner {
  readonly execPath: string;
  /** Where it was found (for messages). */
  readonly shown: string;
  readonly fd: number;
}

const located = new Map<string, Runner | { problem: string }>();
/** A directory of this process's own for a runner compiled because no trusted one was found. */
let privateBuild: string | undefined;

/**
 * The kernel runner (`static`: the one linked statically, for a VM's initramfs), found and
 * opened once per process. Nothing another user could have put or changed is ever run (see
 * shim/trust.ts): build/ of a checkout, else the cache, each only when trusted; else a copy
 * compiled now into the cache (when the cache is trusted) or into a private directory of this
 * process (removed when it exits).
 */
export function locateRunner(linkStatic = false): Runner | { problem: string } {
  const name = linkStatic ? "capfuzz-static" : "capfuzz";
  const known = located.get(name);
  if (known) return known;
  const result = findRunner(name, linkStatic);
  located.set(name, result);
  return result;
}

function findRunner(name: string, linkStatic: boolean): Runner | { problem: string } {
  const tryOpen = (path: string): Runner | null => {
    if (!existsSync(path)) return null;
    const opened = openTrustedProgram(path);
    return "problem" in opened ? null : opened;
  };
  // a checkout's build/ (npm install builds the dynamic runner there)
  const fromBuild = tryOpen(join(BUILT_DIR, name));
  if (fromBuild) return fromBuild;
  // the cache, when no other user can change it
  const cache = cacheDirectory();
  if (!ensureTrustedDirectory(cache)) {
    const cached = tryOpen(join(cache, name));
    if (cached) return cached;
    const why = compileRunner(join(cache, name), linkStatic);
    if (why) return { problem: why };
    const now = tryOpen(join(cache, name));
    if (now) return now;
  }
  // else a private copy for this process alone
  if (privateBuild === undefined) {
    try {
      const made = privateDirectory(trustedTemporaryParent(), "capgate-runner-");
      process.once("exit", () => rmSync(made, { recursive: true, force: true }));
      privateBuild = made;
    } catch (e) {
      return { problem: (e as Error).message };
    }
  }
  const dir = privateBuild;
  const why = compileRunner(join(dir, name), linkStatic);
  if (why) return { problem: why };
  const opened = openTrustedProgram(join(dir, name));
  return "problem" in opened ? { problem: `the runner compiled into ${dir}: ${opened.problem}` } : opened;
}

/**
 * Where capgate makes its private temporary directories: the system's temporary directory
 * ($TMPDIR) when no other user can change it, else /tmp. Throws when neither can be trusted.
 */
export function trustedTemporaryParent(): string {
  const candidates = [tmpdir(), "/tmp"];
  for (const c of candidates) if (!directoryTrustProblem(c)) return c;
  throw new Error(`no temporary directory capgate can trust: ${directoryTrustProblem(candidates[0]!)}`);
}

/** The runner, or a KernelRunnerError saying why there is none. */
export function runner(linkStatic = false): Runner {
  const r = locateRunner(linkStatic);
  if ("problem" in r) throw new KernelRunnerError(`the kernel runner is unavailable: ${r.problem}`);
  return r;
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
  const r = locateRunner();
  return "problem" in r ? `the kernel runner is not built and cannot be: ${r.problem}` : null;
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
export function decodeResults(out: Uint8Array, trials: readonly Trial[]): KernelTrial[] {
  // the records are read as 32-bit words: a slice of a larger buffer is copied to a start of its own
  const bytes = out.byteOffset % 4 ? new Uint8Array(out) : out;
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  const result: KernelTrial[] = [];
  let at = 0;
  for (const t of trials) {
    if (at + 2 > w.length) throw new KernelRunnerError("the runner's output ends early");
    // (two words are there: checked above)
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

/** The private directories of runs under way, removed when this process exits or is interrupted. */
const liveRuns = new Set<string>();
/** The runner processes under way (they die with this process: PR_SET_PDEATHSIG). */
const liveChildren = new Set<ChildProcess>();
let exitHook = false;

/** Removes every run directory still here and kills the runners (for an interrupted verify). */
export function abandonRuns(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  liveChildren.clear();
  for (const dir of liveRuns) rmSync(dir, { recursive: true, force: true });
  liveRuns.clear();
}

/**
 * One run's private directory (0711, see privateDirectory): `exec/`, on which the runner mounts
 * a tmpfs of its own (in its own mount namespace) for the execve trials' files, and the
 * runner's input and output files. Under $CAPGATE_EXEC_DIR when set, else the system's
 * temporary directory, and only where no other user can rename or replace it: removing it can
 * then never follow a link someone put there.
 */
function runDirectory(): { dir: string; exec: string; done: () => void } {
  const chosen = process.env["CAPGATE_EXEC_DIR"];
  let dir: string;
  try {
    dir = privateDirectory(chosen || trustedTemporaryParent(), "capgate-run-");
    mkdirSync(join(dir, "exec"), { mode: 0o755 });
    chmodSync(join(dir, "exec"), 0o755); // trial threads run as other uids without CAP_DAC_OVERRIDE
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new KernelRunnerError(
      `cannot make a directory for the runner${chosen ? ` in ${chosen} ($CAPGATE_EXEC_DIR)` : ""}: ${why}`,
    );
  }
  liveRuns.add(dir);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", abandonRuns);
  }
  return {
    dir,
    exec: join(dir, "exec"),
    done: () => {
      liveRuns.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function runnerFailed(r: Runner, status: number | null, signal: string | null, stderr: string): KernelRunnerError {
  return new KernelRunnerError(`${r.shown} exited with ${status ?? signal}: ${stderr.trim()}`);
}

/** Runs the trials on the kernel (one runner process, two trial threads at a time). */
export function runOnKernel(trials: readonly Trial[]): KernelTrial[] {
  const r = runner();
  checkRunnable(trials);
  const input = encodeTrials(trials);
  const run = runDirectory();
  let out;
  try {
    out = spawnSync(r.execPath, ["--userns", "--dir", run.exec], { input, maxBuffer: 1 << 30 });
  } finally {
    run.done();
  }
  if (out.error) throw new KernelRunnerError(`cannot start ${r.shown}: ${out.error.message}`);
  if (out.status !== 0) throw runnerFailed(r, out.status, out.signal, out.stderr.toString());
  return decodeResults(out.stdout, trials);
}

/**
 * runOnKernel without blocking: the runner reads its input from a file and writes its answers
 * to one, so it runs on while this process does other work (a campaign makes the next batch of
 * trials meanwhile) and never waits for this process to feed or drain a pipe.
 */
export function runOnKernelAsync(trials: readonly Trial[]): Promise<KernelTrial[]> {
  let r: Runner, run: ReturnType<typeof runDirectory>;
  try {
    r = runner();
    checkRunnable(trials);
    run = runDirectory();
  } catch (e) {
    return Promise.reject(asError(e));
  }
  let input = -1,
    output = -1;
  try {
    writeFileSync(join(run.dir, "in"), encodeTrials(trials), { mode: 0o600 });
    input = openSync(join(run.dir, "in"), "r");
    output = openSync(join(run.dir, "out"), "wx", 0o600);
  } catch (e) {
    if (input >= 0) closeSync(input);
    run.done();
    return Promise.reject(new KernelRunnerError(`cannot write the runner's input: ${(e as Error).message}`));
  }
  return new Promise<KernelTrial[]>((resolve, reject) => {
    const child = spawn(r.execPath, ["--userns", "--dir", run.exec], { stdio: [input, output, "pipe"] });
    liveChildren.add(child);
    closeSync(input);
    closeSync(output);
    const stderr: Buffer[] = [];
    child.stderr?.on("data", (b: Buffer) => stderr.push(b));
    child.on("error", (e) => {
      liveChildren.delete(child);
      run.done();
      reject(new KernelRunnerError(`cannot start ${r.shown}: ${e.message}`));
    });
    child.on("close", (status, signal) => {
      liveChildren.delete(child);
      try {
        if (status !== 0) throw runnerFailed(r, status, signal, Buffer.concat(stderr).toString());
        resolve(decodeResults(readFileSync(join(run.dir, "out")), trials));
      } catch (e) {
        reject(asError(e));
      } finally {
        run.done();
      }
    });
  });
}
