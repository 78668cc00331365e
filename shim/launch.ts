// execve(2) from Node, the end of `capgate exec`. After it nothing of Node remains: the program
// replaces the process, with the calling (main) thread's credentials; Node's other threads end.
import { readdirSync } from "node:fs";
import { libcCall, errnoText } from "./libc.js";
import { CapgateSystemError } from "../src/errors.js";

const F_SETFD = 2,
  F_GETFL = 3,
  F_SETFL = 4,
  FD_CLOEXEC = 1,
  O_NONBLOCK = 0o4000;
const SIG = { KILL: 9, STOP: 19, LAST_STANDARD: 31 } as const;
const SIG_DFL = 0,
  SIG_IGN = 1,
  SIG_SETMASK = 2;
const ERRNO_ENOENT = 2;

/** A NULL-terminated array of C strings in libc's heap (ffi-rs string arrays are not NULL-terminated). */
function stringTable(strings: readonly string[]): number {
  const pointers = strings.map((s) => libcCall("strdup", "i64", [["string", s]]).ret);
  const table = libcCall("calloc", "i64", [
    ["i64", strings.length + 1],
    ["i64", 8],
  ]).ret;
  if (!table || pointers.some((p) => !p)) throw new ExecError("", 12, "out of memory building execve's arguments");
  const bytes = Buffer.alloc((strings.length + 1) * 8);
  pointers.forEach((p, i) => bytes.writeBigUInt64LE(BigInt(p), i * 8));
  libcCall("memcpy", "i64", [
    ["i64", table],
    ["bytes", bytes],
    ["i64", bytes.length],
  ]);
  return table;
}

/** execve failed: the program did not start. `notFound`: exit 127 as a shell would, else 126. */
export class ExecError extends CapgateSystemError {
  override name = "ExecError";
  constructor(
    readonly path: string,
    readonly errno: number,
    message = `execve(${path}) failed: ${errnoText(errno)}`,
  ) {
    super(message, errno === ERRNO_ENOENT ? 127 : 126);
  }
  get notFound(): boolean {
    return this.errno === ERRNO_ENOENT;
  }
}

export interface ExecSetup {
  /** File descriptors above 2 that the program inherits (socket activation); every other one is closed by the exec. */
  readonly keepFds?: readonly number[];
  /** Signals the program starts with ignored (the caller's, e.g. SIGHUP under nohup); every other one starts at its default. */
  readonly ignoredSignals?: readonly number[];
}

/** The open file descriptors of this process. */
export function openFds(): number[] {
  return readdirSync("/proc/self/fd")
    .map(Number)
    .filter((n) => Number.isInteger(n));
}

/**
 * Replaces this process with the program. Undoes what Node sets up and a program does not
 * expect: stdio marked close-on-exec and non-blocking, signals ignored or blocked by Node. Every
 * descriptor above 2 is closed by the exec unless kept. Returns only by throwing ExecError.
 */
export function execProgram(
  path: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  setup: ExecSetup = {},
): never {
  const keep = new Set(setup.keepFds ?? []);
  for (const fd of openFds()) {
    if (fd <= 2 || keep.has(fd)) {
      libcCall("fcntl", "i32", [
        ["i32", fd],
        ["i32", F_SETFD],
        ["i32", 0],
      ]);
      if (fd > 2) continue;
      const flags = libcCall("fcntl", "i32", [
        ["i32", fd],
        ["i32", F_GETFL],
        ["i32", 0],
      ]).ret;
      if (flags >= 0 && flags & O_NONBLOCK)
        libcCall("fcntl", "i32", [
          ["i32", fd],
          ["i32", F_SETFL],
          ["i32", flags & ~O_NONBLOCK],
        ]);
    } else {
      libcCall("fcntl", "i32", [
        ["i32", fd],
        ["i32", F_SETFD],
        ["i32", FD_CLOEXEC],
      ]);
    }
  }
  const ignored = new Set(setup.ignoredSignals ?? []);
  for (let sig = 1; sig <= SIG.LAST_STANDARD; sig++) {
    if (sig === SIG.KILL || sig === SIG.STOP) continue;
    libcCall("signal", "i64", [
      ["i32", sig],
      ["i64", ignored.has(sig) ? SIG_IGN : SIG_DFL],
    ]);
  }
  libcCall("sigprocmask", "i32", [
    ["i32", SIG_SETMASK],
    ["bytes", Buffer.alloc(128)],
    ["i64", 0],
  ]);
  const envList = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  const r = libcCall("execve", "i32", [
    ["string", path],
    ["i64", stringTable(argv)],
    ["i64", stringTable(envList)],
  ]);
  throw new ExecError(path, r.errno);
}
