// execve(2) from Node through ffi-rs: the end of `capgate exec`. After it, nothing of Node
// remains: the program replaces the process, with the calling (main) thread's credentials.
import { load, DataType } from "ffi-rs";
import { loadShim } from "./libc.js";

type Ret = { value: number; errnoCode: number };
function c(funcName: string, retType: DataType, paramsType: DataType[], paramsValue: unknown[]): Ret {
  loadShim();
  return load({ library: "libc", funcName, retType, paramsType, paramsValue, errno: true } as Parameters<typeof load>[0]) as unknown as Ret;
}

/** A NULL-terminated array of C strings in libc's heap (ffi-rs string arrays are not NULL-terminated). */
function stringTable(strings: readonly string[]): number {
  const pointers = strings.map((s) => Number(c("strdup", DataType.I64, [DataType.String], [s]).value));
  const table = Number(c("calloc", DataType.I64, [DataType.I64, DataType.I64], [strings.length + 1, 8]).value);
  if (!table || pointers.some((p) => !p)) throw new Error("out of memory building execve's arguments");
  const bytes = Buffer.alloc((strings.length + 1) * 8);
  pointers.forEach((p, i) => bytes.writeBigUInt64LE(BigInt(p), i * 8));
  c("memcpy", DataType.I64, [DataType.I64, DataType.U8Array, DataType.I64], [table, bytes, bytes.length]);
  return table;
}

export class ExecError extends Error {
  override name = "ExecError";
  constructor(readonly path: string, readonly errno: number) {
    super(`execve(${path}) failed with errno ${errno}${errno === 2 ? " (no such file)" : errno === 13 ? " (permission denied)" : errno === 1 ? " (EPERM: e.g. a capability-dumb file)" : ""}`);
  }
}

/**
 * Replaces this process with the program. Undoes what Node sets up and a program does not
 * expect: stdio marked close-on-exec and non-blocking, signals ignored (an ignored signal stays
 * ignored across exec), a non-empty signal mask. Returns only by throwing ExecError.
 */
export function execProgram(path: string, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): never {
  const F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0o4000;
  for (const fd of [0, 1, 2]) {
    c("fcntl", DataType.I32, [DataType.I32, DataType.I32, DataType.I32], [fd, F_SETFD, 0]);
    const flags = c("fcntl", DataType.I32, [DataType.I32, DataType.I32, DataType.I32], [fd, F_GETFL, 0]).value;
    if (flags >= 0 && (flags & O_NONBLOCK)) c("fcntl", DataType.I32, [DataType.I32, DataType.I32, DataType.I32], [fd, F_SETFL, flags & ~O_NONBLOCK]);
  }
  for (let sig = 1; sig < 32; sig++) if (sig !== 9 && sig !== 19) c("signal", DataType.I64, [DataType.I32, DataType.I64], [sig, 0]); // SIG_DFL
  c("sigprocmask", DataType.I32, [DataType.I32, DataType.U8Array, DataType.I64], [2 /* SIG_SETMASK */, Buffer.alloc(128), 0]);
  const envList = Object.entries(env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const r = c("execve", DataType.I32, [DataType.String, DataType.I64, DataType.I64], [path, stringTable(argv), stringTable(envList)]);
  throw new ExecError(path, r.errnoCode);
}
