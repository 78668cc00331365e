// File capabilities on disk: the security.capability xattr, read and written through libc
// (shim/libc.ts), decoded and encoded by src/capabilities/xattr.ts.
//
// Writing fails closed, like setcap and stricter: each path is opened with O_PATH|O_NOFOLLOW
// (a symbolic link is refused, never written through), must be a regular file, and every path
// is checked before any is written. The xattr is then set on the file that was opened and
// checked (through /proc/self/fd/N), not on whatever the path names by then. When a write
// fails part-way, the files already written get their old value back: all or nothing.
import { closeSync, fstatSync, lstatSync, openSync, constants as fsc, type Stats } from "node:fs";
import { decodeFileCaps, encodeFileCaps } from "../src/capabilities/xattr.js";
import { CapgateSystemError } from "../src/errors.js";
import { CAP } from "../src/capabilities/table.js";
import type { FileCaps } from "../src/ops.js";
import { libcCall, errnoText } from "./libc.js";
import { readThreadState } from "./thread-state.js";

const NAME = "security.capability";
const ERRNO = { ENOENT: 2, EPERM: 1, ENODATA: 61, EOPNOTSUPP: 95, ELOOP: 40 } as const;
/** O_PATH: a handle to the inode, no read or write access; O_CLOEXEC (both the same on x86-64 and arm64). */
const O_PATH = 0o10000000,
  O_CLOEXEC = 0o2000000;
/** Larger than any revision: the kernel answers ERANGE only past this. */
const XATTR_MAX = 64;

/** Why file capabilities could not be read or written. `input`: the path itself is wrong (exit 2). */
export class FileCapsError extends CapgateSystemError {
  override name = "FileCapsError";
  constructor(
    message: string,
    readonly errno: number,
    readonly path: string,
    readonly input = false,
  ) {
    super(message, input ? 2 : 1);
  }
}

export type FileKind = "file" | "directory" | "symlink" | "other";
function kindOf(st: Stats): FileKind {
  return st.isFile() ? "file" : st.isDirectory() ? "directory" : st.isSymbolicLink() ? "symlink" : "other";
}

function getxattr(path: string, what: string): Uint8Array | null {
  const buf = Buffer.alloc(XATTR_MAX);
  const r = libcCall("getxattr", "i64", [
    ["string", path],
    ["string", NAME],
    ["bytes", buf],
    ["i64", buf.length],
  ]);
  if (r.ret === -1) {
    // No value, or a file system without xattrs (ramfs, /proc): no file capabilities, as getcap says.
    if (r.errno === ERRNO.ENODATA || r.errno === ERRNO.EOPNOTSUPP) return null;
    throw new FileCapsError(`${what}: cannot read ${NAME}: ${errnoText(r.errno)}`, r.errno, what);
  }
  return buf.subarray(0, r.ret);
}

/**
 * The capabilities of the file execve would run (symbolic links followed, as execve follows
 * them), or null when it has none or its file system has no xattrs. v3 values carry their rootid.
 */
export function getFileCaps(path: string): Required<FileCaps> | null {
  const bytes = getxattr(path, path);
  return bytes ? decodeFileCaps(bytes) : null;
}

export interface FileCapsEntry {
  readonly path: string;
  readonly kind: FileKind;
  /** null for a file without capabilities, and for anything that is not a regular file. */
  readonly caps: Required<FileCaps> | null;
}

/** What getcap shows for a path: a symbolic link is reported as one, not followed. */
export function inspectFileCaps(path: string): FileCapsEntry {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    const errno = -((e as NodeJS.ErrnoException).errno ?? -ERRNO.ENOENT);
    throw new FileCapsError(`${path}: ${errnoText(errno)}`, errno, path, true);
  }
  const kind = kindOf(st);
  return { path, kind, caps: kind === "file" ? getFileCaps(path) : null };
}

interface Opened {
  readonly path: string;
  readonly fd: number;
  readonly handle: string;
  readonly old: Uint8Array | null;
}

function openChecked(path: string): Opened {
  let fd: number;
  try {
    fd = openSync(path, O_PATH | fsc.O_NOFOLLOW | O_CLOEXEC);
  } catch (e) {
    const errno = -((e as NodeJS.ErrnoException).errno ?? -ERRNO.ENOENT);
    throw new FileCapsError(`${path}: ${errnoText(errno)}`, errno, path, true);
  }
  try {
    const kind = kindOf(fstatSync(fd));
    if (kind !== "file") {
      const what =
        kind === "symlink"
          ? "a symbolic link (file capabilities are never written through one: name its target)"
          : kind === "directory"
            ? "a directory"
            : "not a regular file";
      throw new FileCapsError(`${path}: is ${what}; file capabilities go on regular files only`, 0, path, true);
    }
    const handle = `/proc/self/fd/${fd}`;
    return { path, fd, handle, old: getxattr(handle, path) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function write(handle: string, value: Uint8Array | null): number {
  const r =
    value === null
      ? libcCall("removexattr", "i32", [
          ["string", handle],
          ["string", NAME],
        ])
      : libcCall("setxattr", "i32", [
          ["string", handle],
          ["string", NAME],
          ["bytes", Buffer.from(value)],
          ["i64", value.length],
          ["i32", 0],
        ]);
  return r.ret === -1 ? r.errno : 0;
}

/**
 * Sets (caps) or removes (null) the file capabilities of every path, all or nothing. Checked
 * first, for every path: it exists, is a regular file reached without a symbolic link, its file
 * system has xattrs, and (removal) it has capabilities to remove; the caller holds CAP_SETFCAP
 * in its effective set (cap_inode_setxattr / cap_convert_nscap). Revision 2 values are written;
 * in a user namespace the kernel turns them into revision 3 with the namespace's root as rootid.
 */
export function writeFileCaps(changes: ReadonlyArray<{ readonly path: string; readonly caps: FileCaps | null }>): void {
  for (const c of changes) {
    if (c.caps?.version === 1)
      throw new FileCapsError(
        "the kernel accepts only revision 2 or 3 security.capability values (revision 1 is read-only)",
        22,
        c.path,
        true,
      );
  }
  if (!readThreadState().effective.has(CAP.SETFCAP)) {
    throw new FileCapsError(
      "CAP_SETFCAP is not in the effective set, which writing file capabilities requires (the kernel would answer EPERM); nothing was changed",
      ERRNO.EPERM,
      "",
    );
  }
  const opened: Opened[] = [];
  try {
    for (const c of changes) opened.push(openChecked(c.path));
    changes.forEach((c, i) => {
      // (opened[i]!: one opened file per change, in order)
      if (c.caps === null && opened[i]!.old === null) {
        throw new FileCapsError(
          `${c.path}: has no file capabilities to remove (as setcap -r says); nothing was changed`,
          ERRNO.ENODATA,
          c.path,
        );
      }
    });
    const done: Opened[] = [];
    changes.forEach((c, i) => {
      const o = opened[i]!; // (as above)
      const errno = write(o.handle, c.caps === null ? null : encodeFileCaps(c.caps));
      if (errno === 0) {
        done.push(o);
        return;
      }
      const failedRestore = done.filter((d) => write(d.handle, d.old) !== 0).map((d) => d.path);
      const state =
        done.length === 0
          ? "nothing was changed"
          : failedRestore.length === 0
            ? `${done.map((d) => d.path).join(", ")} got ${done.length === 1 ? "its" : "their"} old value back; nothing was changed`
            : `could not restore ${failedRestore.join(", ")}: ${failedRestore.length === 1 ? "it keeps" : "they keep"} the new value`;
      throw new FileCapsError(
        `${c.caps === null ? "removexattr" : "setxattr"}(${c.path}, ${NAME}) failed: ${errnoText(errno)}; ${state}`,
        errno,
        c.path,
      );
    });
  } finally {
    for (const o of opened) closeSync(o.fd);
  }
}

/** Writes one file's capabilities, like setcap (see writeFileCaps). */
export function setFileCaps(path: string, caps: FileCaps): void {
  writeFileCaps([{ path, caps }]);
}

/** Removes one file's capabilities, like setcap -r: an error when it has none. */
export function removeFileCaps(path: string): void {
  writeFileCaps([{ path, caps: null }]);
}

/** statvfs(3)'s f_flag: unsigned long at byte 72 of struct statvfs on LP64 (x86-64, arm64). */
const STATVFS_SIZE = 112,
  STATVFS_FLAG_AT = 72,
  ST_NOSUID = 2,
  ST_NOEXEC = 8;

/**
 * The flags of the mount a path is on (a /proc/self/fd/N path: the mount the descriptor was
 * opened through): nosuid, where execve ignores set-id bits and file capabilities
 * (bprm_fill_uid and get_vfs_caps_from_disk check mnt_may_suid), and noexec, where execve fails.
 */
export function mountFlags(path: string): { nosuid: boolean; noexec: boolean } {
  const buf = Buffer.alloc(STATVFS_SIZE);
  const r = libcCall("statvfs", "i32", [
    ["string", path],
    ["bytes", buf],
  ]);
  if (r.ret === -1)
    throw new FileCapsError(`${path}: cannot read its mount flags: ${errnoText(r.errno)}`, r.errno, path, true);
  const flags = Number(buf.readBigUInt64LE(STATVFS_FLAG_AT));
  return { nosuid: (flags & ST_NOSUID) !== 0, noexec: (flags & ST_NOEXEC) !== 0 };
}

/** Whether the file lies on a nosuid mount (see mountFlags). */
export function onNosuidMount(path: string): boolean {
  return mountFlags(path).nosuid;
}
