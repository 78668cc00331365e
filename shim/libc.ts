// The raw system calls capgate makes, through ffi-rs over libc's syscall(2). The only module
// that calls into the kernel. Raw syscalls, not glibc's wrappers: glibc's set*id wrappers
// apply the change to every thread of the process (SIGSETXID), and capgate acts on the
// calling thread only, as the kernel does. prctl always gets all five arguments. errno is
// read only when the call returned -1 (ffi-rs does not clear it).
import { open, load, DataType } from "ffi-rs";

const SYSCALLS: Record<string, Record<string, number>> = {
  x64: { capget: 125, capset: 126, prctl: 157, setuid: 105, setreuid: 113, setresuid: 117, getresuid: 118, setfsuid: 122, gettid: 186, setresgid: 119 },
  arm64: { capget: 90, capset: 91, prctl: 167, setuid: 146, setreuid: 145, setresuid: 147, getresuid: 148, setfsuid: 151, gettid: 178, setresgid: 149 },
};

export class ShimUnavailable extends Error {
  override name = "ShimUnavailable";
}

const numbers = SYSCALLS[process.arch];
let opened = false;

function ensureOpen(): Record<string, number> {
  if (process.platform !== "linux" || !numbers) throw new ShimUnavailable(`the capgate shim needs Linux on x64 or arm64 (this is ${process.platform}/${process.arch})`);
  if (!opened) {
    open({ library: "libc", path: "libc.so.6" });
    opened = true;
  }
  return numbers;
}

export interface SyscallResult {
  /** The return value (-1 on failure). */
  readonly ret: number;
  /** errno when ret is -1, else 0. */
  readonly errno: number;
}

type Arg = number | Buffer;

/** syscall(2) with integer and buffer arguments (buffers are passed by pointer and written in place). */
export function syscall(name: string, ...args: Arg[]): SyscallResult {
  const nr = ensureOpen()[name];
  if (nr === undefined) throw new ShimUnavailable(`no syscall number for ${name} on ${process.arch}`);
  const result = load({
    library: "libc", funcName: "syscall", retType: DataType.I64,
    paramsType: [DataType.I64, ...args.map((a) => (typeof a === "number" ? DataType.I64 : DataType.U8Array))],
    paramsValue: [nr, ...args], errno: true,
  }) as unknown as { value: number; errnoCode: number };
  const ret = Number(result.value);
  return { ret, errno: ret === -1 ? result.errnoCode : 0 };
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
 * capability fix-ups (commoncap has no setgid hook), so the engine does not model them.
 */
export function setresgid(rgid: number, egid: number, sgid: number): SyscallResult {
  return syscall("setresgid", rgid | 0, egid | 0, sgid | 0);
}
