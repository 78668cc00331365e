// Users and groups as the system's user database knows them (NSS, through getent and id, as
// setpriv --init-groups and capsh --user see them), for the Launcher. Falls back to
// /etc/passwd and /etc/group where getent is not installed.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { CapgateInputError } from "../src/errors.js";

/** A user or group the command line names does not exist, or an id out of range: bad input. */
export class UserLookupError extends CapgateInputError {
  override name = "UserLookupError";
}

/** The largest id the kernel accepts: (uid_t)-1 means "unchanged" and is never an id. */
export const MAX_ID = 0xfffffffe;

export interface UserEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

const TOOLS = ["/usr/bin/getent", "/bin/getent"];
const getent = TOOLS.find((t) => existsSync(t));
const id = ["/usr/bin/id", "/bin/id"].find((t) => existsSync(t));

/** A decimal id from 0 to 4294967294, or undefined when `text` is not all digits. */
export function parseId(text: string, what: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > MAX_ID)
    throw new UserLookupError(`${what}: ${text} is not an id (0 to ${MAX_ID})`);
  return n;
}

function lookup(database: "passwd" | "group", key: string): string[] | null {
  if (getent) {
    try {
      const line = execFileSync(getent, [database, "--", key], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 10_000,
      }).split("\n")[0];
      return line ? line.split(":") : null;
    } catch {
      return null; // getent exits 2 for a key it does not know
    }
  }
  let text: string;
  try {
    text = readFileSync(`/etc/${database}`, "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && (f[0] === key || f[2] === key)) return f;
  }
  return null;
}

/** A user by name or uid; null for a uid that has no entry. A name without an entry is an error. */
export function lookupUser(user: string, option = "--user"): UserEntry | null {
  const uid = parseId(user, option);
  const f = lookup("passwd", user);
  if (!f || f.length < 7) {
    if (uid !== undefined) return null;
    throw new UserLookupError(`${option}: no user ${JSON.stringify(user)} in the user database`);
  }
  const [name = "", , uidText, gidText, , home = "", shell = ""] = f; // (seven fields, checked above)
  const entry = { name, uid: Number(uidText), gid: Number(gidText), home, shell };
  if (uid !== undefined && entry.uid !== uid) return null; // a name made of digits: the number wins, as setpriv reads it
  return entry;
}

/** A group by name or gid (a gid need not have an entry). */
export function lookupGroup(group: string, option: string): number {
  const gid = parseId(group, option);
  if (gid !== undefined) return gid;
  const f = lookup("group", group);
  if (!f || f.length < 3)
    throw new UserLookupError(`${option}: no group ${JSON.stringify(group)} in the group database`);
  return Number(f[2]);
}

/** The user's groups as initgroups(3) sets them: the primary gid and every group listing the user. */
export function userGroups(user: UserEntry): number[] {
  const ids = new Set<number>([user.gid]);
  try {
    if (!id) throw new Error("no id(1)");
    const out = execFileSync(id, ["-G", "--", user.name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    });
    for (const g of out.trim().split(/\s+/)) if (/^\d+$/.test(g)) ids.add(Number(g));
  } catch {
    try {
      for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
        const [, , gid, members] = line.split(":");
        if (members?.split(",").includes(user.name)) ids.add(Number(gid));
      }
    } catch {
      /* no group file: the primary gid alone */
    }
  }
  return [...ids].sort((a, b) => a - b);
}
