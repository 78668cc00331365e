// CLI commands that read the real kernel: show and decode. They import the shim
// lazily, so the engine-only commands never load ffi-rs.
import { readFileSync, readdirSync } from "node:fs";
import { terminalSafe, jsonSafe } from "./escape.js";

/** kthreadd: the parent of every kernel thread. */
const KTHREADD = 2;
import { formatCapText } from "../formats/libcap-text.js";
import { formatIab, iabOf } from "../formats/iab.js";
import { formatDecode, parseMask } from "../formats/decode.js";
import { parseAnyNames } from "../formats/names.js";
import { parseStatus } from "../formats/proc-status.js";
import { FormatError } from "../formats/errors.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { InputError } from "../parse/errors.js";
import { kernelProfile } from "../kernel/profiles.js";
import { CapSet } from "../capabilities/set.js";
import { securebitNames } from "../kernel/constants.js";
import { style, table } from "./style.js";
import { namespaceOfProcess } from "./procfs.js";
import type { UserNamespace } from "../userns.js";
import { UsageError } from "./errors.js";

/** id -> name from /etc/passwd or /etc/group (numbers for ids it does not list). */
function idNames(file: string): (id: number) => string {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name = "", , id = ""] = line.split(":");
      if (/^\d+$/.test(id) && !names.has(Number(id))) names.set(Number(id), name);
    }
  } catch {
    /* no such file: numbers only */
  }
  return (id) => names.get(id) ?? String(id);
}

interface ProcessRow {
  pid: number;
  name: string;
  user: string;
  ppid: number;
  ruid: number;
  euid: number;
  suid: number;
  fsuid: number;
  rgid: number | null;
  egid: number | null;
  sgid: number | null;
  fsgid: number | null;
  groups: readonly number[];
  /** The process's user namespace as /proc shows it to this one (null: the initial namespace). */
  userns: { uidMap: number[][]; gidMap: number[][]; setgroups: string } | null;
  caps: string;
  iab: string;
  permitted: string;
  effective: string;
  inheritable: string;
  bounding: string;
  ambient: string;
  securebits: number | null;
  noNewPrivs: boolean;
  flags: string[];
}

const userOf = idNames("/etc/passwd");
const groupOf = idNames("/etc/group");

function processRow(
  pid: number,
  text: string,
  securebits: number | null,
  profile: KernelProfile,
  ns: UserNamespace | null,
): ProcessRow {
  const s = parseStatus(text);
  const flags: string[] = [];
  if (!s.ambient.isEmpty) flags.push("ambient");
  if (s.euid !== 0 && s.ruid !== 0 && !s.permitted.isEmpty) flags.push("non-root with capabilities");
  if (s.noNewPrivs) flags.push("no_new_privs");
  return {
    pid,
    name: s.name,
    ppid: Number(/^PPid:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    user: s.ruid === s.euid ? userOf(s.ruid) : `${userOf(s.ruid)}/${userOf(s.euid)}`,
    ruid: s.ruid,
    euid: s.euid,
    suid: s.suid,
    fsuid: s.fsuid,
    rgid: s.rgid ?? null,
    egid: s.egid ?? null,
    sgid: s.sgid ?? null,
    fsgid: s.fsgid ?? null,
    groups: s.groups ?? [],
    userns: ns && {
      uidMap: ns.uidMap.map((e) => [...e]),
      gidMap: ns.gidMap.map((e) => [...e]),
      setgroups: ns.setgroups,
    },
    caps: formatCapText(s, profile),
    iab: formatIab(iabOf(s, profile), profile),
    permitted: s.permitted.toHex(),
    effective: s.effective.toHex(),
    inheritable: s.inheritable.toHex(),
    bounding: s.bounding.toHex(),
    ambient: s.ambient.toHex(),
    securebits,
    noNewPrivs: s.noNewPrivs,
    flags,
  };
}

export async function showCommand(
  pid: string | undefined,
  opts: { json?: boolean; all?: boolean; cap?: string; quiet?: boolean },
): Promise<number> {
  const profile = kernelProfile();
  if (opts.quiet && opts.cap === undefined) throw new UsageError("-q goes with --cap (the answer is the exit status)");
  if (opts.quiet && opts.json) throw new UsageError("-q prints nothing: leave out --json");
  if (pid !== undefined && !/^\d+$/.test(pid)) throw new UsageError(`PID must be a number, got ${JSON.stringify(pid)}`);
  if (pid !== undefined && opts.all) throw new UsageError("give a PID or --all, not both");
  let filter: number | undefined;
  if (opts.cap !== undefined) {
    try {
      const one = parseAnyNames(opts.cap, profile);
      if (one.size !== 1) throw new UsageError(`--cap takes one capability, got ${JSON.stringify(opts.cap)}`);
      filter = one.toArray()[0]; // (one.size is 1)
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(`--cap: ${e.problem} (${JSON.stringify(e.token)})`);
      throw e;
    }
  }
  const rows: ProcessRow[] = [];
  if (opts.all) {
    // Like pscap: user processes by pid; kernel threads (kthreadd, pid 2, and its children) hold
    // the full set by construction and only bury the interesting rows.
    const pids = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .sort((a, b) => a - b);
    for (const p of pids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${p}/status`, "utf8");
      } catch {
        continue; // gone meanwhile
      }
      const row = processRow(p, text, null, profile, null);
      if (p === KTHREADD || row.ppid === KTHREADD) continue;
      rows.push(row);
    }
  } else {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid ?? "self"}/status`, "utf8");
    } catch {
      throw new InputError(`/proc/${pid ?? "self"}/status`, pid ? `no process ${pid}` : "cannot read");
    }
    let securebits: number | null = null;
    if (pid === undefined) {
      const { prctl } = await import("../../shim/libc.js");
      securebits = prctl(27).ret >>> 0;
    }
    const self = pid === undefined ? process.pid : Number(pid);
    rows.push(processRow(self, text, securebits, profile, namespaceOfProcess(self)));
  }
  const shown =
    filter === undefined
      ? rows
      : rows.filter((r) => CapSet.fromHex(r.permitted).has(filter) || CapSet.fromHex(r.effective).has(filter));
  if (!opts.all && filter !== undefined && !shown.length) {
    // show PID --cap X: a yes/no question, answered like grep (exit 1, nothing printed, for no)
    if (opts.json) process.stdout.write("null\n");
    return 1;
  }
  // -q: like grep -q, the exit status alone (0 some process holds it, 1 none)
  if (opts.quiet) return shown.length ? 0 : 1;
  if (opts.json) {
    process.stdout.write(jsonSafe(opts.all ? shown : (shown[0] ?? null), 2) + "\n");
    return 0;
  }
  if (opts.all) {
    const t = [
      [
        style.dim("ppid"),
        style.dim("pid"),
        style.dim("command"),
        style.dim("user"),
        style.dim("capabilities"),
        style.dim("flags"),
      ],
    ];
    for (const r of shown)
      t.push([String(r.ppid), String(r.pid), terminalSafe(r.name), terminalSafe(r.user), r.caps, r.flags.join(", ")]);
    process.stdout.write(table(t) + "\n");
    return 0;
  }
  const r = shown[0];
  if (!r) return 0;
  const b = CapSet.fromHex(r.bounding);
  const lines: Array<[string, string]> = [
    ["pid", `${r.pid} (${terminalSafe(r.name)})`],
    ["capabilities", r.caps],
    ["IAB", r.iab || "(none)"],
    [
      "bounding",
      b.equals(profile.all)
        ? "all"
        : b
            .names()
            .map((n) => n.toLowerCase())
            .join(",") || "none",
    ],
    [
      "ambient",
      CapSet.fromHex(r.ambient)
        .names()
        .map((n) => n.toLowerCase())
        .join(",") || "none",
    ],
    [
      "securebits",
      r.securebits === null
        ? "(only for the calling process)"
        : `0x${r.securebits.toString(16)}${r.securebits ? ` (${securebitNames(r.securebits).join(", ")})` : ""}`,
    ],
    ["no_new_privs", r.noNewPrivs ? "1" : "0"],
    // capsh --print's lines
    ["uid", `uid=${r.ruid}(${terminalSafe(userOf(r.ruid))}) euid=${r.euid}(${terminalSafe(userOf(r.euid))})`],
    ["gid", r.rgid === null ? "(not shown)" : `gid=${r.rgid}(${terminalSafe(groupOf(r.rgid))})`],
    ["groups", `groups=${r.groups.map((g) => `${g}(${terminalSafe(groupOf(g))})`).join(",")}`],
    [
      "userns",
      r.userns
        ? `child: uid_map ${r.userns.uidMap.map((e) => e.join(" ")).join(", ") || "none"}; gid_map ${r.userns.gidMap.map((e) => e.join(" ")).join(", ") || "none"}; setgroups ${r.userns.setgroups}`
        : "initial",
    ],
  ];
  process.stdout.write(table(lines.map(([k, v]) => [style.dim(k), v])) + "\n");
  return 0;
}

export function decodeCommand(masks: string[], opts: { json?: boolean }): number {
  // "-": the masks on standard input, one per line (a /proc status excerpt works too)
  const all = masks.flatMap((m) =>
    m === "-"
      ? readFileSync(0, "utf8")
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => /^(Cap[A-Za-z]+:\s*)?[0-9a-fx]+$/i.test(l))
      : [m],
  );
  const decoded = all.map((m) => {
    // a /proc status line keeps its label (CapInh, CapPrm, ...), so five lines are not anonymous
    const label = /^\s*(Cap[A-Za-z]+):/.exec(m)?.[1] ?? null;
    try {
      return { mask: m, label, set: parseMask(m) };
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(e.message);
      throw e;
    }
  });
  if (opts.json)
    process.stdout.write(
      JSON.stringify(
        decoded.map(({ mask, label, set }) => ({
          mask,
          ...(label && { label }),
          hex: `0x${set.toStatusHex()}`,
          names: set.names().map((n) => n.toLowerCase()),
          numbers: set.toArray(),
        })),
        null,
        2,
      ) + "\n",
    );
  else for (const { label, set } of decoded) process.stdout.write(`${label ? `${label}: ` : ""}${formatDecode(set)}\n`);
  return 0;
}
