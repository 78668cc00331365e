// The raw system calls and libc functions capgate uses, through ffi-rs: the only module that
// loads ffi-rs or calls into the kernel. Raw syscalls, not glibc's wrappers: glibc's set*id
// and setgroups wrappers apply the change to every thread of the process (SIGSETXID), and
// capgate acts on the calling thread only, as the kernel does. prctl always gets all five
// arguments. errno is read only when the call returned -1 (ffi-rs does not clear it).
//
// ffi-rs is required lazily, and only on the main thread: loading its native addon in a Worker
// (even once, even without a call) kills the process with SIGSEGV at exit, and credentials are
// per thread, so a Worker's calls would change that Worker alone.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import type * as Ffi from "ffi-rs";
import { errnoText } from "../src/kernel/errno-text.js";
import { CapgateSystemError } from "../src/errors.js";

export { errnoText };

const SYSCALLS: Record<string, Record<string, number>> = {
  x64: {
    capget: 125,
    capset: 126,
    prctl: 157,
    setuid: 105,
    setreuid: 113,
    setresuid: 117,
    getresuid: 118,
    setfsuid: 122,
    gettid: 186,
    setresgid: 119,
    getresgid: 120,
    setgroups: 116,
    getgroups: 115,
    setgid: 106,
    setregid: 114,
    setfsgid: 123,
    execveat: 322,
    faccessat2: 439,
  },
  arm64: {
    capget: 90,
    capset: 91,
    prctl: 167,
    setuid: 146,
    setreuid: 145,
    setresuid: 147,
    getresuid: 148,
    setfsuid: 151,
    gettid: 178,
    setresgid: 149,
    getresgid: 150,
    setgroups: 159,
    getgroups: 158,
    setgid: 144,
    setregid: 143,
    setfsgid: 152,
    execveat: 281,
    faccessat2: 439,
  },
};

/** The shim cannot work here (not Linux x64/arm64, not the main thread, libc not loadable). */
export class ShimUnavailable extends CapgateSystemError {
  override name = "ShimUnavailable";
  constructor(message: string) {
    super(message, 2);
  }
}

const numbers = SYSCALLS[process.arch];
let ffi: typeof Ffi | undefined;

function ensureOpen(): typeof Ffi {
  if (ffi) return ffi;
  if (process.platform !== "linux" || !numbers)
    throw new ShimUnavailable(
      `the capgate shim needs Linux on x64 or arm64 (this is ${process.platform}/${process.arch})`,
    );
  if (!isMainThread) {
    throw new ShimUnavailable(
      "the capgate shim works on the main thread only: capabilities are per thread, and ffi-rs loaded in a Worker crashes the process at exit; call loadShim() on the main thread",
    );
  }
  const loaded = createRequire(import.meta.url)("ffi-rs") as typeof Ffi;
  loaded.open({ library: "libc", path: "libc.so.6" });
  ffi = loaded;
  return loaded;
}

export interface SyscallResult {
  /** The return value (-1 on failure). */
  readonly ret: number;
  /** errno when ret is -1, else 0. */
  readonly errno: number;
}

export type Arg = number | Buffer;

/**
 * The kernel as the shim sees it: system calls, and the files it reads the thread's state from
 * (/proc/thread-self/status, /proc/sys/kernel/*). A test replaces it (like libcap's overridable
 * syscaller) to exercise apply() and the launcher without a namespace; null restores the real one.
 */
export interface Syscaller {
  syscall(name: string, args: readonly Arg[]): SyscallResult;
  readFile(path: string): string;
}
let override: Syscaller | null = null;
export function setSyscaller(fake: Syscaller | null): void {
  override = fake;
}

/** A file of the kernel's (/proc, /sys) as text, through the replaceable layer. */
export function readKernelFile(path: string): string {
  return override ? override.readFile(path) : readFileSync(path, "utf8");
}

/** syscall(2) with integer and buffer arguments (buffers are passed by pointer and written in place). */
export function syscall(name: string, ...args: Arg[]): SyscallResult {
  if (override) return override.syscall(name, args);
  const f = ensureOpen();
  const nr = numbers![name];
  if (nr === undefined) throw new ShimUnavailable(`no syscall number for ${name} on ${process.arch}`);
  const result = f.load({
    library: "libc",
    funcName: "syscall",
    retType: f.DataType.I64,
    paramsType: [f.DataType.I64, ...args.map((a) => (typeof a === "number" ? f.DataType.I64 : f.DataType.U8Array))],
    paramsValue: [nr, ...args],
    errno: true,
  }) as unknown as { value: number; errnoCode: number };
  const ret = Number(result.value);
  return { ret, errno: ret === -1 ? result.errnoCode : 0 };
}

/** The argument and return types of libcCall, by name (a subset of ffi-rs's DataType). */
export type CType = "i32" | "i64" | "string" | "bytes";

/** A libc function other than syscall(2) (getxattr, execve, fcntl, ...): its return and errno. */
export function libcCall(
  funcName: string,
  retType: "i32" | "i64",
  params: ReadonlyArray<[CType, unknown]>,
): SyscallResult {
  const f = ensureOpen();
  const T = { i32: f.DataType.I32, i64: f.DataType.I64, string: f.DataType.String, bytes: f.DataType.U8Array } as const;
  const r = f.load({
    library: "libc",
    funcName,
    retType: T[retType],
    errno: true,
    paramsType: params.map(([t]) => T[t]),
    paramsValue: params.map(([, v]) => v),
  }) as unknown as { value: number | bigint; errnoCode: number };
  const ret = Number(r.value);
  return { ret, errno: ret === -1 ? r.errnoCode : 0 };
}

/** prctl(2) with all five arguments. */
export function prctl(option: number, arg2 = 0, arg3 = 0, arg4 = 0, arg5 = 0): SyscallResult {
  return syscall("prctl", option, arg2, arg3, arg4, arg5);
}

export function gettid(): number {
  return syscall("gettid").ret;
}

/** Loads libc through ffi-rs now. Call it on the main thread before starting any Worker. */
export function loadShim(): void {
  ensureOpen();
}

/**
 * setresgid(2) on the calling thread only (-1 leaves an id unchanged). The gids carry no
 * capability fix-ups (commoncap has no setgid hook).
 */
export function setresgid(rgid: number, egid: number, sgid: number): SyscallResult {
  return syscall("setresgid", rgid | 0, egid | 0, sgid | 0);
}

/** setgroups(2) on the calling thread only: the supplementary groups, exactly these. */
export function setgroups(groups: readonly number[]): SyscallResult {
  const list = Buffer.alloc(Math.max(4, groups.length * 4));
  groups.forEach((g, i) => list.writeUInt32LE(g >>> 0, i * 4));
  return syscall("setgroups", groups.length, list);
}

/** The calling thread's gids and supplementary groups (getresgid, getgroups), from the kernel. */
export interface Gids {
  readonly rgid: number;
  readonly egid: number;
  readonly sgid: number;
  readonly groups: readonly number[];
}
export function readGids(): Gids {
  const r = Buffer.alloc(4),
    e = Buffer.alloc(4),
    s = Buffer.alloc(4);
  const got = syscall("getresgid", r, e, s);
  if (got.ret !== 0) throw new ShimUnavailable(`getresgid failed with errno ${got.errno}`);
  const n = syscall("getgroups", 0, 0);
  const list = Buffer.alloc(Math.max(4, n.ret * 4));
  const g = syscall("getgroups", n.ret, list);
  if (g.ret < 0) throw new ShimUnavailable(`getgroups failed with errno ${g.errno}`);
  const groups = Array.from({ length: g.ret }, (_, i) => list.readUInt32LE(i * 4));
  return { rgid: r.readUInt32LE(0), egid: e.readUInt32LE(0), sgid: s.readUInt32LE(0), groups };
}
