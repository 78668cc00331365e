// The differential on another kernel: boots a kernel image under qemu-system-x86_64 with an
// initramfs holding a static build of the runner (as /init) and the trials, and reads the
// answers back from the serial console. Test and `capgate verify --boot` tooling.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  compileRunner,
  encodeTrials,
  checkRunnable,
  decodeResults,
  KernelRunnerError,
  RUNNER_PATH,
  type KernelTrial,
  type Trial,
} from "./kernel-runner.js";

/** The static runner beside the dynamic one (build/capfuzz-static, or in the cache). */
export const STATIC_RUNNER_PATH = `${RUNNER_PATH}-static`;

const QEMU = process.env["CAPGATE_QEMU"] ?? "qemu-system-x86_64";

/** Why a kernel cannot be booted here (no qemu, no static runner), or null. */
export function bootUnavailable(): string | null {
  const q = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  if (q.error) return `${QEMU} is not installed (Debian: apt-get install qemu-system-x86; or set CAPGATE_QEMU to one)`;
  if (!existsSync(STATIC_RUNNER_PATH)) {
    const why = compileRunner(STATIC_RUNNER_PATH, undefined, true);
    if (why)
      return `the static kernel runner cannot be built: ${why} (a static libc is needed: Debian's libc6-dev has it)`;
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

export interface BootResult {
  /** uname -r of the booted kernel. */
  readonly release: string;
  readonly trials: KernelTrial[];
  readonly bootMs: number;
}

/** Boots `kernel` and runs the trials there (as real root, in the runner's user namespace). */
export function runOnBootedKernel(kernel: string, trials: readonly Trial[], timeoutMs = 600_000): BootResult {
  if (!existsSync(kernel) || !statSync(kernel).isFile()) throw new KernelRunnerError(`${kernel}: no such kernel image`);
  const why = bootUnavailable();
  if (why) throw new KernelRunnerError(`cannot boot a kernel here: ${why}`);
  checkRunnable(trials);
  const dir = mkdtempSync(join(tmpdir(), "capgate-boot-"));
  try {
    const initrd = join(dir, "initrd.cpio");
    writeFileSync(
      initrd,
      newcArchive([
        { name: "dev", mode: S_IFDIR | 0o755 },
        { name: "dev/console", mode: S_IFCHR | 0o600, rdev: [5, 1] },
        { name: "proc", mode: S_IFDIR | 0o755 },
        { name: "tmp", mode: S_IFDIR | 0o1777 },
        { name: "init", mode: S_IFREG | 0o755, data: readFileSync(STATIC_RUNNER_PATH) },
        { name: "trials.bin", mode: S_IFREG | 0o644, data: encodeTrials(trials) },
      ]),
    );
    const start = Date.now();
    const r = spawnSync(
      QEMU,
      [
        ...["-m", "1024", "-smp", "2", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio"],
        ...["-kernel", kernel, "-initrd", initrd],
        ...["-append", "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init"],
      ],
      { encoding: "latin1", timeout: timeoutMs, maxBuffer: 1 << 30 },
    );
    const bootMs = Date.now() - start;
    if (r.error) throw new KernelRunnerError(`${QEMU}: ${r.error.message}`);
    const out = r.stdout;
    const release = /CAPFUZZ-RELEASE (\S+)/.exec(out)?.[1];
    const begin = /CAPFUZZ-BEGIN (\d+) (\d+)\r?\n/.exec(out);
    const end = out.indexOf("CAPFUZZ-END");
    if (!release || !begin || end < 0)
      throw new KernelRunnerError(
        `the booted kernel gave no answer (qemu exit ${r.status ?? r.signal}); its console ended with: ${out.slice(-600).trim()}`,
      );
    if (begin[1] !== "0")
      throw new KernelRunnerError(
        `the runner in the booted kernel ${release} exited with ${begin[1]}: ${out.slice(-600)}`,
      );
    const bytes = Buffer.from(out.slice(begin.index + begin[0].length, end).replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
    if (bytes.length !== Number(begin[2]))
      throw new KernelRunnerError(`the booted kernel's answer is ${bytes.length} bytes, not ${begin[2]}`);
    return { release, trials: decodeResults(bytes, trials), bootMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
