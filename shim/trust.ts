// What capgate runs, reads as a program, or writes into, when it acts with its own privileges
// (often root): never a file or directory another user could have chosen or could change.
// The rule is OpenSSH's StrictModes (secure_path) with one relaxation, the sticky bit:
//
// - every directory from / down is owned by root or by this process's euid, and is not writable
//   by group or others, unless it has the sticky bit (then only an entry's owner, or the
//   directory's, can rename or remove it; /tmp is such a directory, and what capgate keeps
//   there is its own);
// - a program is opened once, without following a final symbolic link, and must be a regular
//   file owned by the euid (or root) that group and others cannot write; it is then executed
//   through that very descriptor (/proc/self/fd/N), so the file checked is the file run.
//
// Environment variables (CAPGATE_CACHE, XDG_CACHE_HOME, HOME, TMPDIR, CAPGATE_EXEC_DIR) may still
// name where to look: a place that fails the rule is not used. Programs capgate starts (the C
// compiler, qemu) come, for root, from the system's directories and with a clean environment,
// unless a command-line flag names them.
import { closeSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, realpathSync, chmodSync } from "node:fs";
import { constants as fsc } from "node:fs";
import { dirname, isAbsolute, join, sep } from "node:path";

const S_ISVTX = 0o1000,
  WRITABLE_BY_OTHERS = 0o022;

/** Where root looks for programs it starts (sudo's secure_path, Debian's ENV_SUPATH). */
export const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The euid of this process (0 where there is no such notion, which only matters on Linux). */
export function euid(): number {
  return typeof process.geteuid === "function" ? process.geteuid() : 0;
}

/** Whether this process runs as root: what it runs then must not be chosen by anyone else. */
export function runsAsRoot(): boolean {
  return euid() === 0;
}

function ownerOk(uid: number, me: number): boolean {
  return uid === 0 || uid === me;
}

/**
 * Why the directory `dir` (absolute; symbolic links are resolved first, as every component of
 * the real path is checked) could be changed by someone other than root or `me`, or null when
 * it cannot. A directory that does not exist is a problem too.
 */
export function directoryTrustProblem(dir: string, me = euid()): string | null {
  if (!isAbsolute(dir)) return `${dir} is not an absolute path`;
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return `${dir} does not exist`;
  }
  const parts = real.split(sep).filter(Boolean);
  let path = "/";
  for (let i = 0; i <= parts.length; i++) {
    if (i > 0) path = join(path, parts[i - 1]!); // (i - 1 < parts.length)
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return `${path} cannot be read`;
    }
    if (!st.isDirectory()) return `${path} is not a directory`;
    if (!ownerOk(st.uid, me)) return `${path} is owned by uid ${st.uid}, not by root${me ? ` or uid ${me}` : ""}`;
    if (st.mode & WRITABLE_BY_OTHERS && !(st.mode & S_ISVTX))
      return `${path} is writable by ${st.mode & 0o002 ? "every user" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  return null;
}

/** A program opened for running: the descriptor, and the path that runs exactly it. */
export interface OpenedProgram {
  readonly fd: number;
  /** /proc/self/fd/N: executing it runs the file that was checked, whatever its path names by now. */
  readonly execPath: string;
  /** The path it was found at (for messages). */
  readonly shown: string;
}

/**
 * Opens the program at `path` if nobody but root or `me` can have chosen it: its directories
 * pass directoryTrustProblem, it is not a symbolic link, and the file itself is a regular file
 * owned by `me` (or root) that group and others cannot write. Returns the problem otherwise.
 */
export function openTrustedProgram(path: string, me = euid()): OpenedProgram | { problem: string } {
  const dirProblem = directoryTrustProblem(dirname(path), me);
  if (dirProblem) return { problem: dirProblem };
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: code === "ELOOP" ? `${path} is a symbolic link` : `${path} cannot be opened (${code})` };
  }
  const st = fstatSync(fd);
  const problem = !st.isFile()
    ? `${path} is not a regular file`
    : !ownerOk(st.uid, me)
      ? `${path} is owned by uid ${st.uid}, not by root${me ? ` or uid ${me}` : ""}`
      : st.mode & WRITABLE_BY_OTHERS
        ? `${path} is writable by others (mode ${(st.mode & 0o7777).toString(8)})`
        : null;
  if (problem) {
    closeSync(fd);
    return { problem };
  }
  return { fd, execPath: `/proc/self/fd/${fd}`, shown: path };
}

/**
 * Makes `dir` (and its missing parents) as this user, mode 0700, then checks the whole chain;
 * the problem when it cannot be made or is not trustworthy.
 */
export function ensureTrustedDirectory(dir: string, me = euid()): string | null {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return `cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  return directoryTrustProblem(dir, me);
}

/**
 * A new private directory (mkdtemp) under `parent`, which must pass directoryTrustProblem: no
 * other user can rename it, replace it or anything in it. Mode 0711: others may pass through it
 * (the kernel runner's trials run as other uids and reach their exec files below it) but cannot
 * list or change it. Throws an Error naming the problem.
 */
export function privateDirectory(parent: string, prefix: string, me = euid()): string {
  const problem = directoryTrustProblem(parent, me);
  if (problem) throw new Error(problem);
  const dir = mkdtempSync(join(realpathSync(parent), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

/** The first file called `name` in the directories of `path` (a PATH value), or null. */
export function findProgram(name: string, path: string): string | null {
  if (name.includes("/")) return name;
  for (const dir of path.split(":").filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      if (lstatSync(candidate).isFile() || lstatSync(candidate).isSymbolicLink()) return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * A helper program capgate starts (the C compiler, qemu): the one a command-line flag named, or
 * else, as root, `fallback` from the system's directories (an environment variable is ignored:
 * it must not choose what root runs); as another user, the variable or `fallback` on PATH. Also
 * the environment to start it with: as root a clean one (PATH = SYSTEM_PATH), else this one.
 */
export function helperProgram(
  flag: string | undefined,
  variable: string,
  fallback: string,
): { program: string; env: NodeJS.ProcessEnv; ignoredVariable: boolean } {
  const root = runsAsRoot();
  const fromEnv = process.env[variable];
  const env: NodeJS.ProcessEnv = root ? { PATH: SYSTEM_PATH, LANG: "C" } : process.env;
  if (flag !== undefined) return { program: flag, env, ignoredVariable: false };
  if (root) return { program: findProgram(fallback, SYSTEM_PATH) ?? fallback, env, ignoredVariable: !!fromEnv };
  return { program: fromEnv || fallback, env, ignoredVariable: false };
}
