// The image's /etc/passwd and /etc/group, read as libcontainer's user package reads them
// (user.ParsePasswdFilter, ParseGroupFilter): colon-separated lines, blank and `#` lines
// skipped, the first matching entry wins. An engine resolves names and a user's groups with
// them; the runtime itself is handed numbers only.

export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}
/** The image's accounts; null: the file is not in the image (or no image was given). */
export interface Accounts {
  readonly passwd: readonly PasswdEntry[] | null;
  readonly group: readonly GroupEntry[] | null;
}
export const NO_ACCOUNTS: Accounts = { passwd: null, group: null };

const id = (s: string | undefined): number => (s !== undefined && /^\d+$/.test(s) ? Number(s) : NaN);

function lines(text: string): string[][] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/** Accounts from the two files' text (null: the file is absent). */
export function parseAccounts(passwd: string | null, group: string | null): Accounts {
  return {
    passwd:
      passwd === null
        ? null
        : lines(passwd)
            .map((f) => ({ name: f[0] ?? "", uid: id(f[2]), gid: id(f[3]) }))
            .filter((e) => Number.isInteger(e.uid) && Number.isInteger(e.gid)),
    group:
      group === null
        ? null
        : lines(group)
            .map((f) => ({
              name: f[0] ?? "",
              gid: id(f[2]),
              members: (f[3] ?? "").split(",").filter((m) => m !== ""),
            }))
            .filter((e) => Number.isInteger(e.gid)),
  };
}

/** A user by name, or by number when the text is a number (GetExecUser's filter). */
export function lookupUser(a: Accounts, user: string): PasswdEntry | undefined {
  const n = id(user);
  return a.passwd?.find((e) => (Number.isInteger(n) ? e.uid === n : e.name === user));
}
export function lookupGroup(a: Accounts, group: string): GroupEntry | undefined {
  const n = id(group);
  return a.group?.find((e) => (Number.isInteger(n) ? e.gid === n : e.name === group));
}
/** The gids of the groups that list this user as a member. */
export function groupsOfUser(a: Accounts, name: string): number[] {
  return (a.group ?? []).filter((g) => g.members.includes(name)).map((g) => g.gid);
}

/**
 * group_add as libcontainer's user.GetAdditionalGroups resolves it: each entry by name or gid
 * in /etc/group, else as a number; a group already taken is skipped when looking, so naming one
 * group twice, once by number and once by name ("29" and "audio"), fails for the name:
 * "Unable to find group audio" (measured with Docker 20.10). Gids each once.
 */
export function additionalGroups(a: Accounts, list: readonly string[]): number[] | string {
  const taken = new Set<number>();
  const groups = (a.group ?? []).filter((g) => list.some((x) => g.name === x || String(g.gid) === x));
  for (const x of list) {
    let found = false;
    for (const g of groups)
      if ((g.name === x || String(g.gid) === x) && !taken.has(g.gid)) {
        taken.add(g.gid);
        found = true;
        break;
      }
    if (found) continue;
    if (!/^-?\d+$/.test(x)) return `Unable to find group ${x}: no matching entries in group file`;
    const n = Number(x);
    if (n < 0 || n > 0x7fffffff) return `Unable to find group ${x}: numerical result out of range`;
    taken.add(n);
  }
  return [...taken];
}
