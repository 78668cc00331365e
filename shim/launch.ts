// execve(2) from Node, the end of `capgate exec`. After it nothing of Node remains: the program
// replaces the process, with the calling (main) thread's credentials; Node's other threads end.
// The program is run through the descriptor it was checked on (execveat, AT_EMPTY_PATH: see
// shim/program.ts), never looked up by its path again.
import { readdirSync } from "node:fs";
import { libcCall, errnoText, syscall } from "./libc.js";
import { CapgateSystemError } from "../src/errors.js";
import type { OpenedProgram } from "./program.js";

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
/** execveat's flag: run the file `dirfd` is open on. */
const AT_EMPTY_PATH = 0x1000;
/** faccessat2: as the thread's effective (fs) credentials, not its real ones; the working directory; execute. */
const AT_EACCESS = 0x200,
  AT_FDCWD = -100,
  X_OK = 1;
/** faccessat2 is from 5.8: before it the kernel's own checks at execve are all there is. */
const ERRNO_ENOSYS = 38;

function cString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text), Buffer.from([0])]);
}

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
 * Replaces this process with the program, run through its descriptor with the arguments
 * (program.argv: a script's interpreter gets them as the kernel would build them). Undoes what
 * Node sets up and a program does not expect: stdio marked close-on-exec and non-blocking,
 * signals ignored or blocked by Node. Every descriptor above 2 is closed by the exec unless kept
 * (the program's own descriptor too: it is close-on-exec). Returns only by throwing ExecError.
 */
export function execProgram(
  program: OpenedProgram,
  args: readonly string[],
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
  // The kernel opens each file of the exec (the program, a script's interpreters) by its path,
  // with the credentials the calls above gave this thread: the same permission checks, then,
  // on the path (its directories must be searchable) and on the very file to be run.
  for (const f of program.files) {
    const byPath = syscall("faccessat2", AT_FDCWD, cString(f.path), X_OK, AT_EACCESS);
    const byFd = syscall("faccessat2", f.fd, Buffer.from([0]), X_OK, AT_EACCESS | AT_EMPTY_PATH);
    for (const c of [byPath, byFd]) if (c.ret === -1 && c.errno !== ERRNO_ENOSYS) throw new ExecError(f.path, c.errno);
  }
  const r = syscall(
    "execveat",
    program.fd,
    Buffer.from([0]),
    stringTable(program.argv(args)),
    stringTable(envList),
    AT_EMPTY_PATH,
  );
  throw new ExecError(program.path, r.errno);
}
