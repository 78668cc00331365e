// Reads the calling thread's capability state from the kernel.
import { CapSet } from "../src/capabilities/set.js";
import { parseStatus, namespaceFromProc } from "../src/formats/proc-status.js";
import { kernelProfile, releaseProfile, type KernelProfile } from "../src/kernel/profiles.js";
import type { ThreadState } from "../src/state.js";
import { syscall, prctl, gettid, readKernelFile, errnoText, ShimUnavailable } from "./libc.js";
import { PRCTL, CAPABILITY_VERSION } from "../src/kernel/constants.js";

export { parseStatus, type StatusFields } from "../src/formats/proc-status.js";

/** The running kernel as a profile: its release, with CAP_LAST_CAP checked against /proc. */
export function currentProfile(): KernelProfile {
  const release = readKernelFile("/proc/sys/kernel/osrelease").trim();
  const profile = releaseProfile(release) ?? kernelProfile();
  const lastCap = Number(readKernelFile("/proc/sys/kernel/cap_last_cap"));
  if (lastCap !== profile.lastCap) {
    throw new ShimUnavailable(
      `kernel ${release} reports CAP_LAST_CAP ${lastCap}, but capgate's profile for ${profile.version} has ${profile.lastCap}`,
    );
  }
  return profile;
}

/**
 * The calling thread's state: E, P, I from capget(2), bounding, ambient, uids and no_new_privs
 * from /proc/thread-self/status, securebits from prctl. Capabilities are per thread: this is
 * the thread that calls, not the process.
 */
export function readThreadState(): ThreadState {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(CAPABILITY_VERSION.v3, 0);
  const data = Buffer.alloc(24);
  const r = syscall("capget", header, data);
  if (r.ret !== 0) throw new ShimUnavailable(`capget of this thread failed: ${errnoText(r.errno)}`);
  const status = parseStatus(readKernelFile("/proc/thread-self/status"));
  const pair = (at: number) => new CapSet(data.readUInt32LE(at), data.readUInt32LE(at + 12));
  return {
    effective: pair(0),
    permitted: pair(4),
    inheritable: pair(8),
    bounding: status.bounding,
    ambient: status.ambient,
    securebits: prctl(PRCTL.PR_GET_SECUREBITS).ret >>> 0,
    ruid: status.ruid,
    euid: status.euid,
    suid: status.suid,
    fsuid: status.fsuid,
    tid: gettid(),
    rgid: status.rgid ?? 0,
    egid: status.egid ?? 0,
    sgid: status.sgid ?? 0,
    fsgid: status.fsgid ?? 0,
    groups: status.groups ?? [],
    ns: namespaceFromProc({
      uidMap: readKernelFile("/proc/thread-self/uid_map"),
      gidMap: readKernelFile("/proc/thread-self/gid_map"),
      setgroups: readKernelFile("/proc/thread-self/setgroups"),
    }),
    kernelIds: null,
    noNewPrivs: status.noNewPrivs,
  };
}
