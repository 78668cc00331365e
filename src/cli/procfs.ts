// What the CLI reads of a process from /proc beyond its status file.
import { readFileSync } from "node:fs";
import { namespaceFromProc } from "../formats/proc-status.js";
import type { UserNamespace } from "../userns.js";

/** A process's user namespace from its uid_map, gid_map and setgroups (null: the initial one, or unreadable). */
export function namespaceOfProcess(pid: number | string): UserNamespace | null {
  try {
    return namespaceFromProc({
      uidMap: readFileSync(`/proc/${pid}/uid_map`, "utf8"),
      gidMap: readFileSync(`/proc/${pid}/gid_map`, "utf8"),
      setgroups: readFileSync(`/proc/${pid}/setgroups`, "utf8"),
    });
  } catch {
    return null;
  }
}
