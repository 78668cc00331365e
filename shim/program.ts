// The program `capgate exec` runs, opened once: everything the prediction uses (set-id bits,
// owner, group, file capabilities, the mount's nosuid and noexec flags, a #! script's
// interpreter) is read from that descriptor, and the program is then run through it
// (execveat(fd, "", AT_EMPTY_PATH)). A file swapped for another between the check and the exec
// (rename, RENAME_EXCHANGE, a link put in its place) is never what runs: what was checked is.
//
// A #! script takes its credentials from its interpreter, which the kernel opens by path; so the
// interpreter (the last one, through up to four levels of scripts) is opened here too, and run
// through its descriptor with the arguments the kernel would give it (binfmt_script): the
// interpreter as written, its one optional argument, the script's path, then the program's own
// arguments. The script itself must be executable and not on a noexec mount, as the kernel
// requires; its contents are the interpreter's to read, and change nothing of the credentials.
import { closeSync, constants as fsc, fstatSync, openSync, readSync, accessSync, type Stats } from "node:fs";
import { delimiter, join } from "node:path";
import type { ExecFile } from "../src/ops.js";
import type { UserNamespace } from "../src/userns.js";
import { kernelId } from "../src/engine/userns-codec.js";
import { CapgateSystemError } from "../src/errors.js";
import { getFileCaps, mountFlags } from "./files.js";

/** O_PATH: a handle on the inode itself (no read access needed), which fstat, statfs, getxattr through /proc and execveat take. */
const O_PATH = 0o10000000;
/** The kernel reads this much of a file to find a #! line (BINPRM_BUF_SIZE). */
const BINPRM_BUF_SIZE = 256;
/** The kernel follows at most this many #! interpreters (the exec recursion limit). */
const MAX_INTERPRETERS = 4;
const S_ISUID = 0o4000,
  S_ISGID = 0o2000,
  S_IXGRP = 0o010;

/** The program cannot be run: 127 when it (not its interpreter) is not found, 126 otherwise, as a shell says. */
export class ProgramError extends CapgateSystemError {
  override name = "ProgramError";
  constructor(status: 126 | 127, message: string) {
    super(message, status);
  }
}

/** A file of the program (the program itself, or an interpreter), open on its inode. */
interface Opened {
  readonly path: string;
  readonly fd: number;
  readonly stat: Stats;
}

/** The program, opened: what execve will run and everything the prediction needs of it. */
export interface OpenedProgram {
  /** The path as execve would be given it (resolved on PATH; what a script's interpreter is handed). */
  readonly path: string;
  /** The descriptor execveat runs: the program itself, or for a script its (last) interpreter. */
  readonly fd: number;
  /** argv for execveat: the program's own, or for a script the interpreter's as the kernel builds it. */
  argv(args: readonly string[]): string[];
  /** The file as execve will see it, for the engine (a script with its interpreter). */
  readonly file: ExecFile;
  /** The interpreters, outermost first, when the program is a #! script. */
  readonly interpreters: readonly string[];
  /** Every file execve opens (the program, then each interpreter), by descriptor and by path: each must be executable with the credentials the program gets. */
  readonly files: ReadonlyArray<{ readonly fd: number; readonly path: string }>;
  readonly nosuid: boolean;
  close(): void;
}

/** PROGRAM as execve will find it: a path, or the first executable file of that name on PATH. */
export function resolveProgram(program: string, path = process.env["PATH"] ?? "/usr/bin:/bin"): string {
  if (program.includes("/")) return program;
  let first: string | undefined;
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    try {
      if (!fstatLike(candidate).isFile()) {
        first ??= candidate;
        continue;
      }
      accessSync(candidate, fsc.X_OK);
      return candidate;
    } catch {
      /* not here, or not executable: the next directory */
    }
  }
  if (first) return first;
  throw new ProgramError(127, `${program}: not found on PATH; nothing was run`);
}

function fstatLike(path: string): Stats {
  const fd = openSync(path, O_PATH);
  try {
    return fstatSync(fd);
  } finally {
    closeSync(fd);
  }
}

function openOne(path: string, what: string, interpreterOf?: string): Opened {
  let fd: number;
  try {
    fd = openSync(path, O_PATH);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw interpreterOf
        ? new ProgramError(126, `${interpreterOf}: bad interpreter ${path}: not found; nothing was run`)
        : new ProgramError(127, `${what}: not found; nothing was run`);
    throw new ProgramError(126, `${what}: cannot open (${code ?? "error"}); nothing was run`);
  }
  const stat = fstatSync(fd);
  const fail = (why: string) => {
    closeSync(fd);
    return new ProgramError(
      126,
      `${interpreterOf ? `${interpreterOf}: bad interpreter ${path}` : what}: ${why}; nothing was run`,
    );
  };
  if (stat.isDirectory()) throw fail("is a directory (execve would fail with EACCES)");
  if (!stat.isFile()) throw fail("not a regular file (execve would fail with EACCES)");
  try {
    accessSync(`/proc/self/fd/${fd}`, fsc.X_OK);
  } catch {
    throw fail("permission denied (not executable)");
  }
  if (mountFlags(`/proc/self/fd/${fd}`).noexec) throw fail("on a noexec mount (execve would fail with EACCES)");
  return { path, fd, stat };
}

/** The first bytes of the file behind `fd`, as the kernel reads them to find a #! line. */
function head(o: Opened, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(`/proc/self/fd/${o.fd}`, fsc.O_RDONLY);
  } catch {
    // The kernel reads it whatever its mode; capgate must too, to tell a script (whose
    // interpreter gives the credentials) from a binary.
    throw new ProgramError(126, `${what}: cannot read it to tell a #! script from a binary; nothing was run`);
  }
  try {
    const b = Buffer.alloc(BINPRM_BUF_SIZE);
    return b.subarray(0, readSync(fd, b, 0, b.length, 0));
  } finally {
    closeSync(fd);
  }
}

/** The interpreter and its one optional argument of a #! line (binfmt_script's reading), or null. */
export function shebang(bytes: Buffer): { interpreter: string; arg: string | null } | null {
  if (bytes[0] !== 0x23 || bytes[1] !== 0x21) return null;
  const end = bytes.indexOf(0x0a);
  const line = bytes.toString("latin1", 2, end < 0 ? bytes.length : end).replace(/[ \t]+$/, "");
  const m = /^[ \t]*([^ \t]+)(?:[ \t]+(.*))?$/.exec(line);
  if (!m) return { interpreter: "", arg: null };
  const [, interpreter = "", arg] = m;
  return { interpreter, arg: arg?.length ? arg : null };
}

/** The ExecFile fields of one file, read from its descriptor (ids as the thread's namespace holds them). */
function bits(o: Opened, ns: UserNamespace | null): { file: ExecFile; nosuid: boolean } {
  return fileOfDescriptor(o.fd, o.stat, ns);
}

/**
 * A file as execve sees it, from a descriptor on it (O_PATH will do): its set-id bits (set-gid
 * counts with group execute), owner and group, file capabilities (not read on a nosuid mount,
 * as the kernel does not), and whether its mount is nosuid.
 */
export function fileOfDescriptor(
  fd: number,
  stat: Stats,
  ns: UserNamespace | null,
): { file: ExecFile; nosuid: boolean } {
  const o = { fd, stat };
  const nosuid = mountFlags(`/proc/self/fd/${o.fd}`).nosuid;
  // on a nosuid mount the kernel never reads the capabilities (get_vfs_caps_from_disk)
  const caps = nosuid ? null : getFileCaps(`/proc/self/fd/${o.fd}`);
  const mode = o.stat.mode;
  return {
    file: {
      setuid: (mode & S_ISUID) !== 0,
      owner: kernelId(ns, o.stat.uid, false),
      ...((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP) && { setgid: true }),
      group: kernelId(ns, o.stat.gid, true),
      ...(caps && { caps }),
      ...(nosuid && { nosuid }),
    },
    nosuid,
  };
}

/**
 * Opens PROGRAM (a path, as execve takes it) and, for a #! script, its interpreters; reads what
 * execve will decide on from the descriptors. Throws ProgramError (126/127) when it cannot run.
 */
export function openProgram(path: string, ns: UserNamespace | null, shown = path): OpenedProgram {
  const chain: Opened[] = [];
  const lines: Array<{ interpreter: string; arg: string | null }> = [];
  const closeAll = () => chain.forEach((o) => closeSync(o.fd));
  try {
    let last = openOne(path, shown);
    chain.push(last);
    for (;;) {
      const line = shebang(head(last, chain.length === 1 ? shown : last.path));
      if (!line) break;
      if (!line.interpreter)
        throw new ProgramError(
          126,
          `${shown}: a #! line without an interpreter (execve would fail with ENOEXEC); nothing was run`,
        );
      if (chain.length > MAX_INTERPRETERS)
        throw new ProgramError(
          126,
          `${shown}: more than ${MAX_INTERPRETERS} levels of #! interpreters (ELOOP); nothing was run`,
        );
      lines.push(line);
      last = openOne(line.interpreter, line.interpreter, chain.length === 1 ? shown : last.path);
      chain.push(last);
    }
  } catch (e) {
    closeAll();
    throw e;
  }
  // (the chain holds the program itself, then its interpreters)
  const program = chain[chain.length - 1]!;
  const final = bits(program, ns);
  const file: ExecFile = chain.length === 1 ? final.file : { ...bits(chain[0]!, ns).file, interpreter: final.file };
  return {
    path,
    fd: program.fd,
    argv: (args) => {
      // binfmt_script, outermost first: argv[0] gives way to "interpreter [arg] path-of-what-it-runs"
      let argv = [path, ...args];
      let runs = path; // what the interpreter of this level is handed: the script, or the interpreter below
      for (const l of lines) {
        argv = [l.interpreter, ...(l.arg !== null ? [l.arg] : []), runs, ...argv.slice(1)];
        runs = l.interpreter;
      }
      return argv;
    },
    file,
    interpreters: lines.map((l) => l.interpreter),
    files: chain.map((o) => ({ fd: o.fd, path: o.path })),
    nosuid: final.nosuid,
    close: closeAll,
  };
}
