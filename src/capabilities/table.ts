// The capability table: include/uapi/linux/capability.h numbers and names; the "since"
// column is the kernel release that added each capability (capabilities(7)).

import { ArgumentError } from "../errors.js";

export interface CapabilityInfo {
  /** Kernel name, e.g. "CAP_NET_RAW". */
  readonly name: string;
  readonly number: number;
  /** The kernel release that added it. */
  readonly since: string;
  readonly description: string;
}

const rows = [
  ["CHOWN", "2.2", "Make arbitrary changes to file UIDs and GIDs."],
  ["DAC_OVERRIDE", "2.2", "Bypass file read, write and execute permission checks."],
  ["DAC_READ_SEARCH", "2.2", "Bypass file read and directory read/search permission checks."],
  ["FOWNER", "2.2", "Bypass checks that require the caller's UID to match the file's owner."],
  ["FSETID", "2.2", "Keep set-user-ID and set-group-ID bits when a file is modified."],
  ["KILL", "2.2", "Bypass permission checks for sending signals."],
  ["SETGID", "2.2", "Make arbitrary manipulations of process GIDs and the supplementary group list."],
  ["SETUID", "2.2", "Make arbitrary manipulations of process UIDs."],
  ["SETPCAP", "2.2", "Add any bounding-set capability to inheritable, drop from the bounding set, set securebits."],
  ["LINUX_IMMUTABLE", "2.2", "Set the immutable and append-only inode flags."],
  ["NET_BIND_SERVICE", "2.2", "Bind a socket to a privileged port (below 1024)."],
  ["NET_BROADCAST", "2.2", "Make socket broadcasts and listen to multicasts (unused)."],
  ["NET_ADMIN", "2.2", "Perform network administration: interfaces, routing, firewall, sockets options."],
  ["NET_RAW", "2.2", "Use RAW and PACKET sockets; bind to any address for transparent proxying."],
  ["IPC_LOCK", "2.2", "Lock memory (mlock, mlockall, mmap MAP_LOCKED, SHM_LOCK)."],
  ["IPC_OWNER", "2.2", "Bypass permission checks for System V IPC operations."],
  ["SYS_MODULE", "2.2", "Load and unload kernel modules."],
  ["SYS_RAWIO", "2.2", "Perform I/O port operations and access /dev/mem, /dev/kmem."],
  ["SYS_CHROOT", "2.2", "Use chroot(2) and change mount namespaces with setns(2)."],
  ["SYS_PTRACE", "2.2", "Trace arbitrary processes with ptrace(2); inspect them with process_vm_readv."],
  ["SYS_PACCT", "2.2", "Use acct(2)."],
  ["SYS_ADMIN", "2.2", "A wide range of system administration: mount, sethostname, quotactl, and many more."],
  ["SYS_BOOT", "2.2", "Use reboot(2) and kexec_load(2)."],
  ["SYS_NICE", "2.2", "Raise nice values and set real-time scheduling and CPU affinity of any process."],
  ["SYS_RESOURCE", "2.2", "Override resource limits, quotas and reserved filesystem space."],
  ["SYS_TIME", "2.2", "Set the system clock and the real-time (hardware) clock."],
  ["SYS_TTY_CONFIG", "2.2", "Use vhangup(2) and privileged ioctls on virtual terminals."],
  ["MKNOD", "2.4", "Create special files with mknod(2)."],
  ["LEASE", "2.4", "Establish leases on arbitrary files."],
  ["AUDIT_WRITE", "2.6.11", "Write records to the kernel audit log."],
  ["AUDIT_CONTROL", "2.6.11", "Enable and disable kernel auditing; change audit rules."],
  ["SETFCAP", "2.6.24", "Set arbitrary capabilities on a file; map uid 0 in a new user namespace."],
  ["MAC_OVERRIDE", "2.6.25", "Override Mandatory Access Control (Smack)."],
  ["MAC_ADMIN", "2.6.25", "Allow MAC configuration or state changes (Smack)."],
  ["SYSLOG", "2.6.37", "Perform privileged syslog(2) operations; see kernel addresses in /proc."],
  ["WAKE_ALARM", "3.0", "Trigger something that will wake up the system (CLOCK_*_ALARM timers)."],
  ["BLOCK_SUSPEND", "3.5", "Employ features that can block system suspend (EPOLLWAKEUP, wake locks)."],
  ["AUDIT_READ", "3.16", "Read the audit log via a multicast netlink socket."],
  ["PERFMON", "5.8", "Use performance monitoring: perf_event_open(2) and related BPF operations."],
  ["BPF", "5.8", "Use privileged BPF operations: create maps, load programs, and more."],
  ["CHECKPOINT_RESTORE", "5.9", "Checkpoint/restore: set_tid in clone3, ns_last_pid, read map_files."],
] as const satisfies ReadonlyArray<readonly [string, string, string]>;

/** Capability numbers by kernel name without the CAP_ prefix: CAP.SETFCAP is 31. */
export const CAP = Object.freeze(Object.fromEntries(rows.map(([short], number) => [short, number]))) as {
  readonly [K in (typeof rows)[number][0]]: number;
};

export const CAPABILITIES: readonly CapabilityInfo[] = Object.freeze(
  rows.map(([short, since, description], number) =>
    Object.freeze({ name: `CAP_${short}`, number, since, description }),
  ),
);

/** The highest capability number capgate has a name for (CAP_LAST_CAP of its newest profile). */
export const LAST_KNOWN_CAP = CAPABILITIES.length - 1;

const byName = new Map<string, number>(CAPABILITIES.map((c) => [c.name, c.number]));

/** The number of a kernel name ("CAP_NET_RAW", any case, prefix optional), or undefined. */
export function capabilityNumber(name: string): number | undefined {
  if (typeof name !== "string") return undefined;
  // Names are ASCII: toUpperCase() would fold look-alikes ("ſ" → "S", "ı" → "I") into real names.
  if (!/^[\x20-\x7e]*$/.test(name)) return undefined;
  const upper = name.trim().toUpperCase();
  return byName.get(upper.startsWith("CAP_") ? upper : `CAP_${upper}`);
}

/** The kernel name of a capability number; numbers without a name print as decimal, as libcap does. */
/** The entry of a capability capgate has a name for (a RangeError for any other number: a caller's bug). */
export function capabilityInfo(number: number): CapabilityInfo {
  const info = CAPABILITIES[number];
  if (!info) throw new RangeError(`no capability ${number} in capgate's table`);
  return info;
}

export function capabilityName(number: number): string {
  if (typeof number !== "number")
    throw new ArgumentError(`capabilityName: the number must be a number, got ${typeof number}`);
  return CAPABILITIES[number]?.name ?? String(number);
}

/**
 * A capability number as libcap reads it (strtoul with base 0): "13", "015" (octal), "0x0d"
 * (hex). undefined when the token does not start with a digit; NaN when it does but is not a
 * whole C number ("08", "0x", "1e3").
 */
export function parseCapNumber(token: string): number | undefined {
  if (!/^\d/.test(token)) return undefined;
  if (/^0x[0-9a-f]+$/i.test(token)) return parseInt(token.slice(2), 16);
  if (/^0[0-7]*$/.test(token)) return parseInt(token, 8);
  if (/^[1-9]\d*$/.test(token)) return Number(token);
  return NaN;
}
