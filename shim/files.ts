// File capabilities on disk: the security.capability xattr, read and written through libc's
// getxattr/setxattr/removexattr (ffi-rs), decoded and encoded by src/capabilities/xattr.ts.
import { load, DataType } from "ffi-rs";
import { decodeFileCaps, encodeFileCaps } from "../src/capabilities/xattr.js";
import type { FileCaps } from "../src/ops.js";
import { loadShim } from "./libc.js";
import { readThreadState } from "./thread-state.js";

const NAME = "security.capability";
const ENODATA = 61;

export class FileCapsError extends Error {
  override name = "FileCapsError";
  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

function libc(funcName: string, paramsType: DataType[], paramsValue: unknown[]): { ret: number; errno: number } {
  loadShim();
  const r = load({ library: "libc", funcName, retType: DataType.I64, paramsType, paramsValue, errno: true } as Parameters<typeof load>[0]) as unknown as { value: number; errnoCode: number };
  const ret = Number(r.value);
  return { ret, errno: ret === -1 ? r.errnoCode : 0 };
}

/** The file's capabilities, or null when it has none. v3 values come back with their rootid. */
export function getFileCaps(path: string): Required<FileCaps> | null {
  const buf = Buffer.alloc(64); // larger than any revision: the kernel answers ERANGE past 24 bytes
  const r = libc("getxattr", [DataType.String, DataType.String, DataType.U8Array, DataType.I64], [path, NAME, buf, buf.length]);
  if (r.ret === -1) {
    if (r.errno === ENODATA) return null;
    throw new FileCapsError(`getxattr(${path}, ${NAME}) failed with errno ${r.errno}`, r.errno);
  }
  return decodeFileCaps(buf.subarray(0, r.ret));
}

/**
 * Writes file capabilities, like setcap. Pre-flighted: the kernel requires CAP_SETFCAP in the
 * caller's effective set (cap_convert_nscap / cap_inode_setxattr) and takes only revision 2
 * or 3 values; a caller in a user namespace gets a v3 value with its root as rootid.
 */
export function setFileCaps(path: string, caps: FileCaps): void {
  if (caps.version === 1) throw new FileCapsError("the kernel accepts only revision 2 or 3 security.capability values (revision 1 is read-only)", 22);
  if (!readThreadState().effective.has(31)) {
    throw new FileCapsError("CAP_SETFCAP is not in the effective set, which writing file capabilities requires (the kernel would answer EPERM)", 1);
  }
  const bytes = Buffer.from(encodeFileCaps(caps));
  const r = libc("setxattr", [DataType.String, DataType.String, DataType.U8Array, DataType.I64, DataType.I32], [path, NAME, bytes, bytes.length, 0]);
  if (r.ret === -1) throw new FileCapsError(`setxattr(${path}, ${NAME}) failed with errno ${r.errno}`, r.errno);
}

/** Removes the file's capabilities (needs CAP_SETFCAP too); a file without them is left as is. */
export function removeFileCaps(path: string): void {
  const r = libc("removexattr", [DataType.String, DataType.String], [path, NAME]);
  if (r.ret === -1 && r.errno !== ENODATA) throw new FileCapsError(`removexattr(${path}, ${NAME}) failed with errno ${r.errno}`, r.errno);
}
