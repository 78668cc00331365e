// The capability block of /proc/PID/status (or /proc/PID/task/TID/status) as a thread state.
import { ArgumentError } from "../errors.js";
import { argInteger, argObject, argProfile, argText } from "../args.js";
import { CapSet } from "../capabilities/set.js";
import { threadState, type Credentials, type ThreadState } from "../state.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { FormatError } from "./errors.js";
import { childNamespace, fromShown, type IdExtent, type UserNamespace } from "../userns.js";

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
  if (!m) return undefined;
  const [whole, value = ""] = m;
  return { value: value.trim(), at: m.index + whole.length - value.length };
}

/** The four ids of a Uid: or Gid: line (real, effective, saved, fs). */
function fourIds(key: "Uid" | "Gid", value: string): readonly [number, number, number, number] {
  const ids = value.split(/\s+/).map(Number);
  const [r, e, s, fs] = ids;
  if (ids.length !== 4 || ids.some((n) => !Number.isInteger(n) || n < 0) || fs === undefined)
    throw new FormatError("/proc status", `${key}:\t${value}`, 5, value, `expected four ${key.toLowerCase()}s`);
  return [r ?? 0, e ?? 0, s ?? 0, fs];
}

/** Parses a status file; CapInh/CapPrm/CapEff/CapBnd are required, CapAmb (4.3+) optional. */
export function parseStatus(text: string): StatusFields {
  argText(text, "parseStatus: the status text");
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
  const [ruid, euid, suid, fsuid] = fourIds("Uid", field(text, "Uid")?.value ?? "0 0 0 0");
  const gidLine = field(text, "Gid");
  const gids = gidLine && fourIds("Gid", gidLine.value);
  const groupsLine = field(text, "Groups");
  const groups = groupsLine ? groupsLine.value.split(/\s+/).filter(Boolean).map(Number) : undefined;
  if (groupsLine && groups?.some((g) => !Number.isInteger(g) || g < 0))
    throw new FormatError("/proc status", `Groups:\t${groupsLine.value}`, 8, groupsLine.value, "expected gids");
  return {
    ...(gids && { rgid: gids[0], egid: gids[1], sgid: gids[2], fsgid: gids[3] }),
    ...(groups && { groups }),
    inheritable: set("CapInh", true),
    permitted: set("CapPrm", true),
    effective: set("CapEff", true),
    bounding: set("CapBnd", true),
    ambient: set("CapAmb", false),
    ruid,
    euid,
    suid,
    fsuid,
    noNewPrivs: field(text, "NoNewPrivs")?.value === "1",
    name: field(text, "Name")?.value ?? "",
    pid: Number(field(text, "Pid")?.value ?? 0),
  };
}

/** /proc/PID/uid_map or gid_map: lines of "inside outside count". */
export function parseIdMap(text: string, what = "uid_map"): IdExtent[] {
  argText(text, `parseIdMap: ${typeof what === "string" ? what : "the map"}`);
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const parts = line.trim().split(/\s+/).map(Number);
      if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffffffff))
        throw new FormatError(what, line, 0, line, "expected three numbers: inside, outside, count");
      const [inside = 0, outside = 0, count = 0] = parts; // (three, checked above)
      return [inside, outside, count] as const;
    });
}

/**
 * A process's user namespace from its /proc files (uid_map, gid_map, setgroups), as a state's
 * `ns`. The map of the initial namespace, "0 0 4294967295", gives null (the initial namespace).
 * Outside ids in these files are the reader's: read them from the initial namespace.
 */
export function namespaceFromProc(files: { uidMap: string; gidMap: string; setgroups?: string }): UserNamespace | null {
  argObject(files, "namespaceFromProc: the files");
  const uidMap = parseIdMap(files.uidMap, "uid_map");
  const gidMap = parseIdMap(files.gidMap, "gid_map");
  const full = (m: IdExtent[]) => m.length === 1 && m[0]?.[0] === 0 && m[0][1] === 0 && m[0][2] === 0xffffffff;
  if (full(uidMap) && full(gidMap)) return null;
  return childNamespace({ uidMap, gidMap, setgroups: files.setgroups?.trim() === "deny" ? "deny" : "allow" });
}

/**
 * The thread state a status file shows (securebits are not in it: pass them if known; pass the
 * user namespace, from namespaceFromProc, for a process outside the initial one).
 */
export function stateFromStatus(
  text: string,
  securebits = 0,
  profile: KernelProfile = kernelProfile(),
  ns: UserNamespace | null = null,
): ThreadState {
  const s = parseStatus(text);
  argInteger(securebits, "stateFromStatus: securebits", 0, 0xffffffff);
  argProfile(profile, "stateFromStatus: the profile");
  if (ns !== null && (typeof ns !== "object" || !Array.isArray(ns.uidMap) || !Array.isArray(ns.gidMap)))
    throw new ArgumentError("stateFromStatus: the namespace must be a user namespace or null");
  const u = (id: number) => fromShown(id, ns?.uidMap);
  const g = (id: number) => fromShown(id, ns?.gidMap);
  return threadState(
    {
      permitted: s.permitted,
      effective: s.effective,
      inheritable: s.inheritable,
      bounding: s.bounding,
      ambient: s.ambient,
      ruid: u(s.ruid),
      euid: u(s.euid),
      suid: u(s.suid),
      fsuid: u(s.fsuid),
      // (parseStatus gives the four gids together, or none)
      ...(s.rgid !== undefined && { rgid: g(s.rgid), egid: g(s.egid!), sgid: g(s.sgid!), fsgid: g(s.fsgid!) }),
      groups: (s.groups ?? []).map(g),
      ns,
      noNewPrivs: s.noNewPrivs,
      securebits,
      tid: s.pid || 1000,
    },
    profile,
  );
}
