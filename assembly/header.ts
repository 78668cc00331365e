// The capget/capset header version check, cap_validate_magic() in kernel/capability.c.

export const VERSION_1: u32 = 0x19980330; // one 32-bit data word (legacy)
export const VERSION_2: u32 = 0x20071026; // two words, deprecated (the "API glitch" of 2.6.25)
export const VERSION_3: u32 = 0x20080522; // two words; _KERNEL_CAPABILITY_VERSION

// How many 32-bit data elements the version transfers; 0 for an unknown version, in which
// case the kernel writes VERSION_3 back into the header before failing with EINVAL.
@inline export function wordsOf(version: u32): u32 {
  if (version == VERSION_1) return 1;
  if (version == VERSION_2 || version == VERSION_3) return 2;
  return 0;
}
