// Capability numbers the rules refer to, from include/uapi/linux/capability.h.
export const CAP_CHOWN: u64 = 0;
export const CAP_DAC_OVERRIDE: u64 = 1;
export const CAP_DAC_READ_SEARCH: u64 = 2;
export const CAP_FOWNER: u64 = 3;
export const CAP_FSETID: u64 = 4;
export const CAP_SETGID: u64 = 6;
export const CAP_SETUID: u64 = 7;
export const CAP_SETPCAP: u64 = 8;
export const CAP_LINUX_IMMUTABLE: u64 = 9;
export const CAP_MKNOD: u64 = 27;
export const CAP_MAC_OVERRIDE: u64 = 32;

// CAP_FS_SET (include/linux/capability.h): CAP_FS_MASK plus CAP_LINUX_IMMUTABLE, the set the
// fsuid fix-up drops from and raises into effective (cap_drop_fs_set / cap_raise_fs_set).
export const CAP_FS_SET: u64 =
  (<u64>1 << CAP_CHOWN) | (<u64>1 << CAP_DAC_OVERRIDE) | (<u64>1 << CAP_DAC_READ_SEARCH) |
  (<u64>1 << CAP_FOWNER) | (<u64>1 << CAP_FSETID) | (<u64>1 << CAP_MKNOD) |
  (<u64>1 << CAP_MAC_OVERRIDE) | (<u64>1 << CAP_LINUX_IMMUTABLE);
