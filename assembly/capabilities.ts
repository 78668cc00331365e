// Capability numbers the rules refer to: include/uapi/linux/capability.h, declared in
// contract/kernel.json (assembly/kernel.ts is its generated mirror).
import { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_MKNOD, CAP_MAC_OVERRIDE, CAP_LINUX_IMMUTABLE } from "./kernel";
export { CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_SYS_RESOURCE, CAP_PERFMON } from "./kernel";

// CAP_FS_SET (include/linux/capability.h): CAP_FS_MASK plus CAP_LINUX_IMMUTABLE, the set the
// fsuid fix-up drops from and raises into effective (cap_drop_fs_set / cap_raise_fs_set).
export const CAP_FS_SET: u64 =
  (<u64>1 << CAP_CHOWN) | (<u64>1 << CAP_DAC_OVERRIDE) | (<u64>1 << CAP_DAC_READ_SEARCH) |
  (<u64>1 << CAP_FOWNER) | (<u64>1 << CAP_FSETID) | (<u64>1 << CAP_MKNOD) |
  (<u64>1 << CAP_MAC_OVERRIDE) | (<u64>1 << CAP_LINUX_IMMUTABLE);
