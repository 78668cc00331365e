// errno numbers in words, from Node's table (Node only: the engine and the browser playground
// never need it).
import { getSystemErrorMap } from "node:util";

const EOPNOTSUPP = 95;

/** An errno's name ("EPERM"), for any errno; null for 0. */
export function errnoName(errno: number): string | null {
  if (errno === 0) return null;
  return errno === EOPNOTSUPP ? "EOPNOTSUPP" : (getSystemErrorMap().get(-errno)?.[0] ?? `errno ${errno}`);
}

/** An errno in words, e.g. "EPERM (operation not permitted)", for messages. */
export function errnoText(errno: number): string {
  // libuv calls 95 ENOTSUP "operation not supported on socket"; for xattrs and most calls it is EOPNOTSUPP.
  const e = errno === EOPNOTSUPP ? ["EOPNOTSUPP", "operation not supported"] : getSystemErrorMap().get(-errno);
  return e ? `${e[0]} (${e[1]})` : `errno ${errno}`;
}
