// The security.capability xattr (include/uapi/linux/capability.h, vfs_cap_data and
// vfs_ns_cap_data): pure encode and decode, no file access. Little-endian u32 words:
// magic_etc (revision in bits 24..31, VFS_CAP_FLAGS_EFFECTIVE in bit 0), then per 32-bit word
// {permitted, inheritable}, then (v3) rootid.
import { CapgateInputError } from "../errors.js";
import { CapSet } from "./set.js";

export const VFS_CAP_REVISION_1 = 0x01000000;
export const VFS_CAP_REVISION_2 = 0x02000000;
export const VFS_CAP_REVISION_3 = 0x03000000;
export const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;
const SIZES: Record<number, number> = { 1: 12, 2: 20, 3: 24 };

/** File capabilities as stored in the security.capability xattr. */
export interface FileCaps {
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  /** The effective bit of magic_etc. */
  readonly effective: boolean;
  /** VFS_CAP_REVISION_1, 2 or 3; default 2. */
  readonly version?: 1 | 2 | 3;
  /** v3 only: the uid (of the initial namespace) that is root for these capabilities. */
  readonly rootid?: number;
}
export interface ExecFile {
  readonly setuid?: boolean;
  /** The file's owner, an initial-namespace uid (the new euid when setuid is honoured). */
  readonly owner?: number;
  /** S_ISGID with group execute: the new egid is the file's group. */
  readonly setgid?: boolean;
  /** The file's group, an initial-namespace gid. */
  readonly group?: number;
  /** Omit for a file without the xattr. */
  readonly caps?: FileCaps;
  /** On a nosuid mount (MS_NOSUID): set-id bits and file capabilities are ignored. */
  readonly nosuid?: boolean;
  /**
   * The file is a `#!` script run by this interpreter: the credentials come from the
   * interpreter's file; the script's own setuid, owner, caps and nosuid do nothing.
   */
  readonly interpreter?: Omit<ExecFile, "interpreter">;
}
export class XattrError extends CapgateInputError {
  override name = "XattrError";
}

/** Decodes an xattr value as get_vfs_caps_from_disk reads it (flag bits other than bit 0 ignored). */
export function decodeFileCaps(bytes: Uint8Array): Required<FileCaps> {
  if (!(bytes instanceof Uint8Array)) throw new XattrError("decodeFileCaps: the value must be bytes (a Uint8Array)");
  if (bytes.length < 4)
    throw new XattrError(
      `security.capability is ${bytes.length} bytes, shorter than its magic word (the kernel answers EINVAL)`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  const version = magic >>> 24;
  const size = SIZES[version];
  if (size === undefined)
    throw new XattrError(
      `security.capability revision 0x${version.toString(16)} is unknown (the kernel answers EINVAL)`,
    );
  if (bytes.length !== size)
    throw new XattrError(
      `a revision ${version} security.capability is ${size} bytes, not ${bytes.length} (the kernel answers EINVAL)`,
    );
  const permitted = new CapSet(view.getUint32(4, true), version === 1 ? 0 : view.getUint32(12, true));
  const inheritable = new CapSet(view.getUint32(8, true), version === 1 ? 0 : view.getUint32(16, true));
  return {
    permitted,
    inheritable,
    effective: (magic & VFS_CAP_FLAGS_EFFECTIVE) !== 0,
    version: version as 1 | 2 | 3,
    rootid: version === 3 ? view.getUint32(20, true) : 0,
  };
}

/** Encodes file capabilities; v1 only holds capabilities 0..31. */
export function encodeFileCaps(caps: FileCaps): Uint8Array {
  if (
    typeof caps !== "object" ||
    caps === null ||
    !(caps.permitted instanceof CapSet) ||
    !(caps.inheritable instanceof CapSet)
  )
    throw new XattrError("encodeFileCaps: expected { permitted, inheritable: CapSet, effective, version?, rootid? }");
  const version = caps.version ?? 2;
  if (version !== 1 && version !== 2 && version !== 3)
    throw new XattrError(`encodeFileCaps: the revision is 1, 2 or 3, got ${String(version)}`);
  if (caps.rootid !== undefined && (typeof caps.rootid !== "number" || caps.rootid !== caps.rootid >>> 0))
    throw new XattrError("encodeFileCaps: the rootid must be a uid");
  if (version === 1 && (caps.permitted.hi | caps.inheritable.hi) !== 0) {
    throw new XattrError("a revision 1 security.capability holds only capabilities 0..31");
  }
  const bytes = new Uint8Array(SIZES[version]!); // (version is 1, 2 or 3, checked above)
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (version << 24) | (caps.effective ? VFS_CAP_FLAGS_EFFECTIVE : 0), true);
  view.setUint32(4, caps.permitted.lo, true);
  view.setUint32(8, caps.inheritable.lo, true);
  if (version >= 2) {
    view.setUint32(12, caps.permitted.hi, true);
    view.setUint32(16, caps.inheritable.hi, true);
  }
  if (version === 3) view.setUint32(20, caps.rootid ?? 0, true);
  return bytes;
}
