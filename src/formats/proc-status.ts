// The capability block of /proc/PID/status (or /proc/PID/task/TID/status) as a thread state.
import { CapSet } from "../capabilities/set.js";
import { threadState, type Credentials, type ThreadState } from "../state.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { FormatError } from "./errors.js";

/** The fields of a status file that capgate reads: the credentials (the Gid: line when present), and more. */
export interface StatusFields extends Credentials {
  readonly noNewPrivs: boolean;
  /** The Groups: line (supplementary groups), when the file has one. */
  readonly groups?: readonly number[];
  readonly name: string;
  /** The "Pid:" line: the thread id for a task's status file. */
  readonly pid: number;
}

function field(text: string, key: string): { value: string; at: number } | undefined {
  const m = new RegExp(`^${key}:[ \\t]*(.*)$`, "m").exec(text);
  return m ? { value: m[1]!.trim(), at: m.index + m[0].length - m[1]!.length } : undefined;
}

/** Parses a status file; CapInh/CapPrm/CapEff/CapBnd are required, CapAmb (4.3+) optional. */
export function parseStatus(text: string): StatusFields {
  const set = (key: string, required: boolean) => {
    const f = field(text, key);
    if (!f) {
      if (required)
        throw new FormatError(
          "/proc status",
          text.length > 60 ? `${text.slice(0, 60)}…` : text,
          0,
          key,
          `no ${key}: line`,
        );
      return CapSet.EMPTY;
    }
    if (!/^[0-9a-f]{1,16}$/i.test(f.value))
      throw new FormatError("/proc status", `${key}:\t${f.value}`, key.length + 2, f.value, "not a hex mask");
    return CapSet.fromHex(f.value);
  };
  const uidLine = field(text, "Uid");
  const uids = (uidLine?.value ?? "0 0 0 0").split(/\s+/).map(Number);
  if (uids.length !== 4 || uids.some((u) => !Number.isInteger(u) || u < 0))
    throw new FormatError("/proc status", `Uid:\t${uidLine?.value}`, 5, uidLine?.value ?? "", "expected four uids");
  const gidLine = field(text, "Gid");
  const gids = gidLine ? gidLine.value.split(/\s+/).map(Number) : undefined;
  if (gids && (gids.length !== 4 || gids.some((g) => !Number.isInteger(g) || g < 0)))
    throw new FormatError("/proc status", `Gid:\t${gidLine!.value}`, 5, gidLine!.value, "expected four gids");
  const groupsLine = field(text, "Groups");
  const groups = groupsLine ? groupsLine.value.split(/\s+/).filter(Boolean).map(Number) : undefined;
  if (groups?.some((g) => !Number.isInteger(g) || g < 0))
    throw new FormatError("/proc status", `Groups:\t${groupsLine!.value}`, 8, groupsLine!.value, "expected gids");
  return {
    ...(gids && { rgid: gids[0]!, egid: gids[1]!, sgid: gids[2]!, fsgid: gids[3]! }),
    ...(groups && { groups }),
    inheritable: set("CapInh", true),
    permitted: set("CapPrm", true),
    effective: set("CapEff", true),
    bounding: set("CapBnd", true),
    ambient: set("CapAmb", false),
    ruid: uids[0]!,
    euid: uids[1]!,
    suid: uids[2]!,
    fsuid: uids[3]!,
    noNewPrivs: field(text, "NoNewPrivs")?.value === "1",
    name: field(text, "Name")?.value ?? "",
    pid: Number(field(text, "Pid")?.value ?? 0),
  };
}

/** The thread state a status file shows (securebits are not in it: pass them if known). */
export function stateFromStatus(text: string, securebits = 0, profile: KernelProfile = kernelProfile()): ThreadState {
  const s = parseStatus(text);
  return threadState(
    {
      permitted: s.permitted,
      effective: s.effective,
      inheritable: s.inheritable,
      bounding: s.bounding,
      ambient: s.ambient,
      ruid: s.ruid,
      euid: s.euid,
      suid: s.suid,
      fsuid: s.fsuid,
      noNewPrivs: s.noNewPrivs,
      securebits,
      tid: s.pid || 1000,
    },
    profile,
  );
}
