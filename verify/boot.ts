// The differential on another kernel: boots a kernel image under qemu-system-x86_64 with an
// initramfs holding a static build of the runner (as /init) and the trials. The runner sends
// its answers on a serial port of their own (ttyS1, a file here), in frames that carry their
// length and a checksum, and drains the port before it powers the machine off; the console
// (ttyS0) is the kernel's and is read only to say what happened when no answer came. Test and
// `capgate verify --boot` tooling.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  constants as fsc,
} from "node:fs";
import { join } from "node:path";
import {
  encodeTrials,
  checkRunnable,
  decodeResults,
  runner,
  trustedTemporaryParent,
  type KernelTrial,
  type Trial,
} from "./runner.js";
import type { KernelSide } from "./campaign.js";
import { CapgateSystemError } from "../src/errors.js";
import { ANSWER, RUNNER_EXITS } from "../src/engine/contract.js";
import { helperProgram, privateDirectory, runsAsRoot } from "../shim/trust.js";

/** Why a booted kernel gave no usable answer (a hang, a crash, a lost or garbled answer): `capgate verify` exits 5. */
export class BootFailure extends CapgateSystemError {
  override name = "BootFailure";
  constructor(message: string) {
    super(message, EXIT_BOOT_FAILED);
  }
}
/**
 * The guest kernel panicked: never an answer about the model. Under multi-threaded TCG with two
 * vCPUs, Debian's 6.17, 6.18 and 7.2 kernels died in early boot with "Oops: int3" in a timer
 * interrupt (sched_clock_idle_wakeup_event, sched_clock_cpu, ktime_get_*: a static key being
 * patched, QEMU's cross-modifying-code race, before the runner had started); qemu now runs
 * single-threaded TCG, and bootedKernel still boots once more after a panic and reports a
 * second one in a row.
 */
export class GuestPanic extends BootFailure {
  override name = "GuestPanic";
}

/** What a panicking guest's console says: the oops and the function it hit, or the panic line. */
export function panicSummary(text: string): string | null {
  const panic = /Kernel panic - not syncing:[^\r\n]*/.exec(text);
  if (!panic) return null;
  const oops = /Oops: ([^\r\n[]+?)\s*\[/.exec(text)?.[1]?.trim();
  const rip = /RIP: [0-9a-f]{4}:([A-Za-z0-9_.]+)/.exec(text)?.[1];
  return `${panic[0].trim()}${oops ? ` (Oops: ${oops}${rip ? ` in ${rip}` : ""})` : ""}`;
}

/** verify's exit status when the kernel to compare with could not be booted or gave no answer. */
export const EXIT_BOOT_FAILED = 5;

/** A kernel image as read once through one descriptor: its release (from the setup header) and its bytes. */
export interface KernelImage {
  readonly path: string;
  readonly release: string | null;
  readonly fd: number;
  readonly size: number;
}

/** The largest image accepted (Debian's are 7 to 15 MB): anything bigger is no kernel. */
const MAX_IMAGE_BYTES = 256 << 20;
/** The setup header and the version string it points to lie within this much of the start. */
const HEADER_BYTES = 64 << 10;
const SETUP_HEADER_MAGIC_AT = 0x202,
  KERNEL_VERSION_POINTER_AT = 0x20e,
  SETUP_SECTOR = 0x200;

/** The kernel release a bzImage's setup header names ("6.1.0-47-cloud-amd64 (...) #1 SMP ..." → its first word), or null. */
export function releaseFromHeader(b: Buffer): string | null {
  if (
    b.length < SETUP_HEADER_MAGIC_AT + 16 ||
    b.toString("latin1", SETUP_HEADER_MAGIC_AT, SETUP_HEADER_MAGIC_AT + 4) !== "HdrS"
  )
    return null;
  const at = b.readUInt16LE(KERNEL_VERSION_POINTER_AT) + SETUP_SECTOR;
  if (at >= b.length) return null;
  const end = b.indexOf(0, at);
  const text = b.toString("latin1", at, end < 0 ? Math.min(b.length, at + 256) : end);
  return /^(\d+\.\d+[\x21-\x7e]*)/.exec(text)?.[1] ?? null;
}

/**
 * Opens a kernel image without blocking (a FIFO or a device is refused, never read), checks it
 * is a regular file of a sane size, and reads only its header. Throws a CapgateSystemError with
 * exit status 2 (bad input) naming the problem.
 */
export function openKernelImage(path: string): KernelImage {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapgateSystemError(
      `${path}: ${code === "ENOENT" ? "no such file" : `cannot open (${code ?? "error"})`}`,
      2,
    );
  }
  const st = fstatSync(fd);
  const bad = !st.isFile()
    ? "not a regular file (a kernel image is one)"
    : st.size > MAX_IMAGE_BYTES
      ? `${st.size} bytes, more than any kernel image (${MAX_IMAGE_BYTES >> 20} MB)`
      : null;
  if (bad) {
    closeSync(fd);
    throw new CapgateSystemError(`${path}: ${bad}`, 2);
  }
  const head = Buffer.alloc(Math.min(HEADER_BYTES, st.size));
  readSync(fd, head, 0, head.length, 0);
  return { path, release: releaseFromHeader(head), fd, size: st.size };
}

/** The version a kernel image names in its setup header, or null (not an image, unreadable). */
export function imageRelease(path: string): string | null {
  try {
    const image = openKernelImage(path);
    closeSync(image.fd);
    return image.release;
  } catch {
    return null;
  }
}

/** Options of a boot: the qemu a command line named (see helperProgram), and how long it may take. */
export interface BootOptions {
  readonly qemu?: string;
  /** The whole boot, trials included (default: see bootTimeoutMs). */
  readonly timeoutMs?: number;
}

/**
 * How long a boot with `trials` trials may take before it counts as hung: a generous minute and
 * a half for the boot itself under emulation (TCG), and 50 ms a trial (about 3x the rate
 * measured on this project's 2-core machine).
 */
export function bootTimeoutMs(trials: number): number {
  return 90_000 + 50 * trials;
}

function qemuProgram(flag: string | undefined) {
  return helperProgram(flag, "CAPGATE_QEMU", "qemu-system-x86_64");
}

/** Why a kernel cannot be booted here (no qemu, no static runner), or null. */
export function bootUnavailable(qemuFlag?: string): string | null {
  const { program, env } = qemuProgram(qemuFlag);
  const q = spawnSync(program, ["--version"], { encoding: "utf8", env });
  if (q.error)
    return `${program} is not installed (Debian: apt-get install qemu-system-x86${runsAsRoot() ? "; or name one with --qemu" : "; or set CAPGATE_QEMU to one"})`;
  try {
    runner(true);
  } catch (e) {
    return `the static kernel runner cannot be built: ${(e as Error).message} (a static libc is needed: Debian's libc6-dev has it)`;
  }
  return null;
}

interface CpioEntry {
  readonly name: string;
  readonly mode: number;
  readonly data?: Buffer;
  /** A device node: [major, minor]. */
  readonly rdev?: readonly [number, number];
}

/** An initramfs: the "newc" cpio format the kernel unpacks (uncompressed). */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, "0");
  const add = (e: CpioEntry, ino: number) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const header =
      "070701" +
      [ino, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0, name.length, 0]
        .map(hex)
        .join("");
    parts.push(Buffer.from(header), name, pad(110 + name.length), data, pad(data.length));
  };
  entries.forEach((e, i) => add(e, i + 1));
  add({ name: "TRAILER!!!", mode: 0 }, 0);
  return Buffer.concat(parts);
}

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFCHR = 0o020000;
/** Character devices the guest needs: its console (5:1) and the answer port, the second 8250 UART (4:65). */
const CONSOLE_DEV: readonly [number, number] = [5, 1],
  ANSWER_PORT_DEV: readonly [number, number] = [4, 65];

export interface BootResult {
  /** uname -r of the booted kernel. */
  readonly release: string;
  readonly trials: KernelTrial[];
  readonly bootMs: number;
}

/** One frame of the answer port: its type and payload, checked. */
interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

function fnv1a(b: Buffer): number {
  let h = 2166136261;
  for (const byte of b) h = Math.imul(h ^ byte, 16777619) >>> 0;
  return h >>> 0;
}

/** The frames of the answer port, in order; stops (and says why) at the first incomplete or damaged one. */
export function readFrames(bytes: Buffer): { frames: Frame[]; problem: string | null } {
  const frames: Frame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + ANSWER.HEADER_SIZE > bytes.length)
      return { frames, problem: `the answer ends inside a frame header (${bytes.length - at} bytes)` };
    const magic = bytes.readUInt32LE(at),
      type = bytes.readUInt32LE(at + 4),
      length = bytes.readUInt32LE(at + 8),
      sum = bytes.readUInt32LE(at + 12);
    if (magic !== ANSWER.MAGIC) return { frames, problem: `garbage where frame ${frames.length + 1} should start` };
    const end = at + ANSWER.HEADER_SIZE + length;
    if (end > bytes.length)
      return {
        frames,
        problem: `frame ${frames.length + 1} is ${length} bytes, but only ${bytes.length - at - ANSWER.HEADER_SIZE} arrived`,
      };
    const payload = bytes.subarray(at + ANSWER.HEADER_SIZE, end);
    if (fnv1a(payload) !== sum) return { frames, problem: `frame ${frames.length + 1} fails its checksum` };
    frames.push({ type, payload });
    at = end;
  }
  return { frames, problem: null };
}

/**
 * The trials' answers from the frames: the release, then a batch frame per batch of
 * BOOT_BATCH trials (its index, the runner's exit status, its trial count, its output), then
 * the end frame with the number of batches. Anything missing or out of order is a BootFailure.
 */
export function decodeAnswer(bytes: Buffer, trials: readonly Trial[]): { release: string; trials: KernelTrial[] } {
  const { frames, problem } = readFrames(bytes);
  const head = frames[0];
  const release = head?.type === ANSWER.RELEASE ? head.payload.toString("latin1") : null;
  const end = frames.find((f) => f.type === ANSWER.END);
  if (!release || !end)
    throw new BootFailure(
      `the booted kernel's answer is incomplete (${frames.length} frame${frames.length === 1 ? "" : "s"} arrived${problem ? `; ${problem}` : ""})`,
    );
  const batches = frames.filter((f) => f.type === ANSWER.BATCH);
  if (end.payload.readUInt32LE(0) !== batches.length)
    throw new BootFailure(
      `the booted kernel sent ${batches.length} batches of answers but says it sent ${end.payload.readUInt32LE(0)}`,
    );
  const out: KernelTrial[] = [];
  for (const [k, b] of batches.entries()) {
    const index = b.payload.readUInt32LE(0),
      status = b.payload.readUInt32LE(4),
      count = b.payload.readUInt32LE(8);
    if (index !== k) throw new BootFailure(`the booted kernel's batch ${k + 1} came as batch ${index + 1}`);
    if (status !== 0)
      throw new BootFailure(
        `the runner in the booted kernel ${release} exited with ${status} (${RUNNER_EXITS[status] ?? "unknown"}) in batch ${k + 1}`,
      );
    out.push(...decodeResults(b.payload.subarray(12), trials.slice(out.length, out.length + count)));
  }
  if (out.length !== trials.length)
    throw new BootFailure(`the booted kernel answered ${out.length} of ${trials.length} trials`);
  return { release, trials: out };
}

/** What the console showed last, as one clean line (escape sequences and control characters gone). */
function consoleTail(text: string): string {
  const clean = text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/\x1b[\x20-\x2f]*[\x30-\x7e]/g, "")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return clean.slice(-3).join(" | ").slice(-300) || "(nothing)";
}

/** The qemu processes under way (killed if this process is interrupted: see abandonBoots). */
const liveBoots = new Set<{ kill: () => void }>();
/** Kills every guest under way and removes its files (for an interrupted verify). */
export function abandonBoots(): void {
  for (const b of liveBoots) b.kill();
  liveBoots.clear();
}

/**
 * Boots `image` (opened with openKernelImage) and runs the trials there, as real root in the
 * runner's user namespace. The image is copied from its descriptor into a private directory, so
 * the file checked is the file booted. qemu runs sandboxed (seccomp: no spawning, no obsolete
 * calls, no resource control) and, started as root, as the user nobody once it has opened its
 * files. A guest that hangs, crashes or answers garbage ends within the timeout with a
 * BootFailure that names what happened.
 */
export async function runOnBootedKernel(
  image: KernelImage,
  trials: readonly Trial[],
  options: BootOptions = {},
): Promise<BootResult> {
  const why = bootUnavailable(options.qemu);
  if (why) throw new BootFailure(`cannot boot a kernel here: ${why}`);
  checkRunnable(trials);
  const dir = privateDirectory(trustedTemporaryParent(), "capgate-boot-");
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    const kernel = join(dir, "vmlinuz");
    const bytes = Buffer.alloc(image.size);
    for (let got = 0; got < image.size;) {
      const n = readSync(image.fd, bytes, got, image.size - got, got);
      if (n <= 0) throw new CapgateSystemError(`${image.path}: changed while it was read`, 2);
      got += n;
    }
    writeFileSync(kernel, bytes, { mode: 0o600 });
    const initrd = join(dir, "initrd.cpio");
    writeFileSync(
      initrd,
      newcArchive([
        { name: "dev", mode: S_IFDIR | 0o755 },
        { name: "dev/console", mode: S_IFCHR | 0o600, rdev: CONSOLE_DEV },
        { name: "dev/ttyS1", mode: S_IFCHR | 0o600, rdev: ANSWER_PORT_DEV },
        { name: "proc", mode: S_IFDIR | 0o755 },
        { name: "tmp", mode: S_IFDIR | 0o1777 },
        { name: "init", mode: S_IFREG | 0o755, data: readFileSync(runner(true).execPath) },
        { name: "trials.bin", mode: S_IFREG | 0o644, data: encodeTrials(trials) },
      ]),
      { mode: 0o600 },
    );
    const answer = join(dir, "answer");
    writeFileSync(answer, "", { mode: 0o600 });
    const { program, env } = qemuProgram(options.qemu);
    const args = [
      // one host thread for both vCPUs: with multi-threaded TCG, Debian's 7.2 kernel died in 3 of
      // 5 early boots (Oops: int3 while a static key was patched: QEMU's cross-modifying-code
      // race); single-threaded TCG booted it 8 of 8 and costs about 10% (56 s for 2,000 trials, was 51)
      ...["-accel", "tcg,thread=single"],
      ...["-m", "1536", "-smp", "2", "-nographic", "-no-reboot", "-nodefaults"],
      // ttyS0: the kernel's console, read for diagnostics; ttyS1: the answers, and nothing else
      ...["-serial", "stdio", "-chardev", `file,id=answer,path=${answer}`, "-serial", "chardev:answer"],
      ...["-kernel", kernel, "-initrd", initrd],
      ...["-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"],
      ...["-sandbox", "on,obsolete=deny,spawn=deny,resourcecontrol=deny"],
      ...(runsAsRoot() ? ["-runas", "nobody"] : []),
    ];
    const timeoutMs = options.timeoutMs ?? bootTimeoutMs(trials.length);
    const start = Date.now();
    const {
      status,
      signal,
      console: text,
      timedOut,
    } = await new Promise<{
      status: number | null;
      signal: string | null;
      console: string;
      timedOut: boolean;
    }>((resolve, reject) => {
      // in a process group of its own, so that nothing it started outlives a kill
      const child = spawn(program, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      const killAll = () => {
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const chunks: Buffer[] = [];
      let kept = 0;
      const keep = (b: Buffer) => {
        // the console's last 64 KiB are all a diagnosis needs
        chunks.push(b);
        kept += b.length;
        while (kept > 65536 && chunks.length > 1) kept -= chunks.shift()!.length;
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killAll();
      }, timeoutMs);
      // an interrupted verify exits from its signal handler, past the finally below: the
      // handle removes the private directory too
      const handle = {
        kill: () => {
          killAll();
          cleanup();
        },
      };
      liveBoots.add(handle);
      child.on("error", (e) => {
        clearTimeout(timer);
        liveBoots.delete(handle);
        reject(new BootFailure(`${program}: ${e.message}`));
      });
      // when it exits, what it printed is read until its console closes, or a moment at most
      child.on("exit", (code, sig) => {
        clearTimeout(timer);
        liveBoots.delete(handle);
        const done = () =>
          resolve({ status: code, signal: sig, console: Buffer.concat(chunks).toString("latin1"), timedOut });
        const grace = setTimeout(() => {
          killAll();
          done();
        }, 1000);
        child.once("close", () => {
          clearTimeout(grace);
          done();
        });
      });
    });
    const bootMs = Date.now() - start;
    if (timedOut)
      throw new BootFailure(
        `the booted kernel did not finish within ${Math.round(timeoutMs / 1000)} s (a hang, or not a kernel that boots here); its console ended with: ${consoleTail(text)}`,
      );
    const panicked = panicSummary(text);
    if (panicked)
      throw new GuestPanic(`the booted kernel panicked: ${panicked}; its console ended with: ${consoleTail(text)}`);
    const got = readFileSync(answer);
    if (got.length === 0)
      throw new BootFailure(
        `the booted kernel gave no answer (qemu ${status === null ? `killed by ${signal}` : `exited with ${status}`}); its console ended with: ${consoleTail(text)}`,
      );
    const decoded = decodeAnswer(got, trials);
    return { release: decoded.release, trials: decoded.trials, bootMs };
  } finally {
    cleanup();
  }
}

/** A booted kernel as a campaign's kernel side: the whole campaign runs in one boot (the guest batches it itself). */
export function bootedKernel(image: KernelImage, options: BootOptions = {}): KernelSide {
  let release: string | null = null;
  return {
    describe: () => (release ? `the booted kernel ${release}` : `the kernel image ${image.path}`),
    // the guest's runner is real root there, and maps every id
    everyId: true,
    batchSize: Number.MAX_SAFE_INTEGER,
    run: async (trials) => {
      let r;
      try {
        r = await runOnBootedKernel(image, trials, options);
      } catch (e) {
        if (!(e instanceof GuestPanic)) throw e;
        // a panic is the guest's, never an answer: boot once more, and report a second one
        process.stderr.write(`capgate: ${e.message.split("; its console")[0] ?? e.message}; booting it again\n`);
        try {
          r = await runOnBootedKernel(image, trials, options);
        } catch (again) {
          if (again instanceof GuestPanic) throw new GuestPanic(`${again.message} (the second boot in a row to panic)`);
          throw again;
        }
      }
      release = r.release;
      return r.trials;
    },
    release: () => release,
  };
}
