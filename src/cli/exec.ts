// capgate exec: the flags of setpriv and capsh, turned into a launch request for the shim's
// Launcher (which plans the calls, applies each on this main thread, reads it back and execs
// the program); this file only parses, prints and maps failures to a shell's exit statuses.
import { statSync, readFileSync, accessSync, constants, writeSync } from "node:fs";
import type { ExecFile, Op } from "../ops.js";
import type { ExecError } from "../../shim/launch.js";
import { delimiter, join } from "node:path";
import { CapSet } from "../capabilities/set.js";
import { parseAnyNames } from "../formats/names.js";
import { FormatError } from "../formats/errors.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { formatCapText } from "../formats/libcap-text.js";
import { securebitsArg } from "./args.js";
import { stateJson, verdictJson } from "../scenario/run.js";
import { toScenario, stateToScenario } from "../scenario/emit.js";
import { ExitError, UsageError } from "./errors.js";
import { terminalSafe, jsonSafe } from "./escape.js";
import { lookupGroup, lookupUser, parseId, userGroups, type UserEntry } from "./users.js";
import { abbreviateSet } from "../capabilities/list.js";
import { errnoText } from "../kernel/errno-text.js";

/** The signals the caller ignored before Node reset them (hex, as /proc shows SigIgn), from bin/capgate's first argument. */
let callerSigIgn = "";
/** Notes the caller's ignored signals (src/cli/main.ts, from the argument bin/capgate passes). */
export function setCallerIgnoredSignals(mask: string): void {
  callerSigIgn = mask;
}
const ERRNO = { ENOENT: 2, EACCES: 13, ENOEXEC: 8 } as const;

import { describeOp, describeCaps } from "../formats/describe.js";
import { style, table } from "./style.js";

export interface ExecOptions {
  user?: string;
  group?: string;
  groups?: string;
  clearGroups?: boolean;
  keepGroups?: boolean;
  keep?: string;
  drop?: string;
  ambient?: string;
  bounding?: string;
  noNewPrivs?: boolean;
  secbits?: string;
  noRegain?: boolean;
  dryRun?: boolean;
  json?: boolean;
  scenario?: boolean;
  quiet?: boolean;
  resetEnv?: boolean;
  keepFds?: string;
  jsonFd?: string;
  /** Tracee's form, repeatable: "add=cap_net_raw,cap_kill", "drop=cap_sys_admin", "bypass=true". */
  capabilities?: string[];
}

/** Parses Tracee's --capabilities values: key=value pairs, a value running on over commas. */
export function parseTraceeCapabilities(values: readonly string[]): { add: string[]; drop: string[]; bypass: boolean } {
  const out = { add: [] as string[], drop: [] as string[], bypass: false };
  for (const value of values) {
    let key: "add" | "drop" | "bypass" | undefined;
    for (const token of value
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean)) {
      const m = /^(add|drop|bypass)=(.*)$/.exec(token);
      if (m) {
        key = m[1] as typeof key;
        if (!m[2]) continue;
      }
      const item = m ? m[2]! : token;
      if (key === undefined)
        throw new UsageError(`--capabilities: expected add=, drop= or bypass=, got ${JSON.stringify(token)}`);
      if (key === "bypass") {
        if (!/^(true|false|1|0)$/.test(item))
          throw new UsageError(`--capabilities: bypass takes true or false, got ${JSON.stringify(item)}`);
        out.bypass = item === "true" || item === "1";
      } else out[key].push(item);
    }
  }
  return out;
}

function caps(text: string | undefined, option: string, profile: KernelProfile): CapSet {
  try {
    return parseAnyNames(text ?? "", profile);
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`${option}: ${e.problem} (${JSON.stringify(e.token)})`);
    throw e;
  }
}

/** The gids the program runs with: null fields stay as they are. */
interface GidTarget {
  readonly gid: number | null;
  readonly groups: number[] | null;
}

/**
 * Like setpriv and capsh --user: a uid change takes the user's primary gid and groups from the
 * user database (--init-groups), unless --group, --groups, --clear-groups or --keep-groups say
 * otherwise. Never gid 0 or this process's groups behind a uid change unless asked.
 */
function gidTarget(opts: ExecOptions, user: UserEntry | null, uid: number | undefined): GidTarget | null {
  const groupOptions = [
    opts.groups !== undefined && "--groups",
    opts.clearGroups && "--clear-groups",
    opts.keepGroups && "--keep-groups",
  ].filter(Boolean);
  if (groupOptions.length > 1)
    throw new UsageError(`give one of --groups, --clear-groups and --keep-groups, not ${groupOptions.join(" and ")}`);
  if (uid === undefined && opts.group === undefined && !groupOptions.length) return null;
  const gid =
    opts.group !== undefined
      ? lookupGroup(opts.group, "--group")
      : user
        ? user.gid
        : uid === undefined
          ? null
          : undefined;
  if (gid === undefined) {
    throw new UsageError(
      `--user ${opts.user}: uid ${uid} has no entry in the user database, so its group is unknown: give --group G (and --groups, --clear-groups or --keep-groups)`,
    );
  }
  let groups: number[] | null;
  if (opts.groups !== undefined) {
    groups = [
      ...new Set(
        opts.groups
          .split(",")
          .map((g) => g.trim())
          .filter(Boolean)
          .map((g) => lookupGroup(g, "--groups")),
      ),
    ].sort((a, b) => a - b);
  } else if (opts.clearGroups) groups = [];
  else if (opts.keepGroups || uid === undefined) groups = null;
  else if (user) groups = userGroups(user);
  else
    throw new UsageError(
      `--user ${opts.user}: uid ${uid} has no entry in the user database: give --groups, --clear-groups or --keep-groups`,
    );
  return { gid, groups };
}

/** Signals the caller ignored (nohup's SIGHUP), as bin/capgate noted them before Node reset them. */
function callerIgnoredSignals(): number[] {
  const mask = callerSigIgn;
  if (!mask || !/^[0-9a-f]{1,16}$/i.test(mask)) return [];
  const bits = BigInt(`0x${mask}`);
  const out: number[] = [];
  for (let sig = 1; sig <= 31; sig++) if ((bits >> BigInt(sig - 1)) & 1n) out.push(sig);
  return out;
}

/** The environment variables the dynamic loader honours unless AT_SECURE is set. */
const LOADER_VARIABLES = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"];
/** setpriv --reset-env's PATH for root and for other users (_PATH_DEFPATH_ROOT, _PATH_DEFPATH). */
const ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
  USER_PATH = "/usr/local/bin:/bin:/usr/bin";
const SOCKET_ACTIVATION = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/** The program's environment: this one, or with --reset-env a clean one for the target user (setpriv's). */
function programEnv(
  opts: ExecOptions,
  user: UserEntry | null,
  uid: number,
  passListen: boolean,
): Record<string, string | undefined> {
  const env = { ...process.env };
  if (!opts.resetEnv) return env;
  const entry = user ?? lookupUser(String(uid), "--reset-env");
  if (!entry)
    throw new UsageError(
      `--reset-env: uid ${uid} has no entry in the user database (HOME, SHELL and USER come from it)`,
    );
  return {
    ...(env["TERM"] !== undefined && { TERM: env["TERM"] }),
    HOME: entry.home,
    USER: entry.name,
    LOGNAME: entry.name,
    SHELL: entry.shell,
    PATH: entry.uid === 0 ? ROOT_PATH : USER_PATH,
    ...(passListen &&
      Object.fromEntries(SOCKET_ACTIVATION.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]))),
  };
}

/** --keep-fds N,M, plus systemd's socket-activation descriptors when LISTEN_PID names this process. */
function keptFds(opts: ExecOptions, open: readonly number[]): { fds: number[]; listen: boolean } {
  const fds = new Set<number>();
  for (const t of (opts.keepFds ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const n = /^\d{1,9}$/.test(t) ? Number(t) : NaN;
    if (!(n >= 3)) throw new UsageError(`--keep-fds: expected descriptor numbers from 3 up, got ${JSON.stringify(t)}`);
    if (!open.includes(n)) throw new UsageError(`--keep-fds: descriptor ${n} is not open`);
    fds.add(n);
  }
  const listen = process.env["LISTEN_PID"] === String(process.pid) && /^\d{1,4}$/.test(process.env["LISTEN_FDS"] ?? "");
  if (listen) for (let k = 0; k < Number(process.env["LISTEN_FDS"]); k++) if (open.includes(3 + k)) fds.add(3 + k);
  return { fds: [...fds].sort((a, b) => a - b), listen };
}

/** PROGRAM as execve will find it: a path, or the first executable on PATH. 127 when there is none, 126 when it cannot run. */
function resolveProgram(program: string): string {
  const candidates = program.includes("/")
    ? [program]
    : (process.env["PATH"] ?? "/usr/bin:/bin")
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, program));
  let found: string | undefined;
  for (const c of candidates) {
    let st;
    try {
      st = statSync(c);
    } catch {
      continue;
    }
    found ??= c;
    if (!st.isFile()) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  const shown = program;
  if (found === undefined)
    throw new ExitError(127, `${shown}: not found${program.includes("/") ? "" : " on PATH"}; nothing was run`);
  throw new ExitError(
    126,
    `${shown}: ${statSync(found).isDirectory() ? "is a directory" : statSync(found).isFile() ? "permission denied (not executable)" : "not a regular file"}; nothing was run`,
  );
}

/** Why execve failed, in a shell's words: exit 127 when the program (not its interpreter) is missing. */
function execFailure(e: ExecError, program: string, path: string, applied: number): ExitError {
  const shown = program;
  const after = applied
    ? `; the ${applied} planned call${applied === 1 ? " had" : "s had"} been applied to capgate's own process, which exits`
    : "";
  if (e.errno === ERRNO.ENOENT) {
    let interpreter: string | undefined;
    try {
      interpreter = /^#!\s*(\S+)/.exec(readFileSync(path, "latin1").slice(0, 256))?.[1];
    } catch {
      /* gone */
    }
    if (interpreter)
      return new ExitError(126, `${shown}: bad interpreter ${interpreter}: not found; the program was not run${after}`);
    return new ExitError(127, `${shown}: not found; the program was not run${after}`);
  }
  const why =
    e.errno === ERRNO.ENOEXEC
      ? "not an executable format (a script needs a #! line)"
      : e.errno === ERRNO.EACCES
        ? "permission denied"
        : errnoText(e.errno);
  return new ExitError(126, `${shown}: cannot execute: ${why}; the program was not run${after}`);
}

export async function execCommand(program: string, args: string[], opts: ExecOptions): Promise<number> {
  const { readThreadState, currentProfile } = await import("../../shim/thread-state.js");
  const { openFds, execProgram, ExecError } = await import("../../shim/launch.js");
  const { Launcher } = await import("../../shim/launcher.js");
  const profile: KernelProfile = currentProfile();
  const warn = (line: string) => {
    if (!opts.quiet) process.stderr.write(`capgate: ${line}\n`);
  };
  const tracee = parseTraceeCapabilities(opts.capabilities ?? []);
  const envBypass = process.env["CAPABILITIES_BYPASS"];
  if (envBypass !== undefined && envBypass !== "" && envBypass !== "0") {
    process.stderr.write(
      "capgate: CAPABILITIES_BYPASS is ignored by exec: an environment variable never widens what the command line asks (use --capabilities bypass=true)\n",
    );
  }
  let path: string, assumeFile: ExecFile | undefined;
  try {
    path = resolveProgram(program);
  } catch (e) {
    // A dry run plans for a program that is not installed yet, as a plain file.
    if (!(opts.dryRun && e instanceof ExitError && e.exitStatus === 127)) throw e;
    path = program;
    assumeFile = {};
  }
  const jsonFd = opts.jsonFd === undefined ? undefined : Number(opts.jsonFd);
  if (jsonFd !== undefined && (!/^\d{1,9}$/.test(opts.jsonFd!) || jsonFd < 1))
    throw new UsageError(`--json-fd: expected a descriptor number, got ${JSON.stringify(opts.jsonFd)}`);
  if (jsonFd !== undefined && !openFds().includes(jsonFd))
    throw new UsageError(`--json-fd: descriptor ${jsonFd} is not open`);
  const planOut = (text: string) =>
    opts.dryRun
      ? process.stdout.write(text)
      : jsonFd !== undefined
        ? writeSync(jsonFd, text)
        : process.stderr.write(text);
  const { fds, listen } = keptFds(opts, openFds());
  const argv = [program, ...args],
    ignoredSignals = callerIgnoredSignals();
  const execFailed = (e: unknown, applied: number) =>
    e instanceof ExecError ? execFailure(e, program, path, applied) : e;
  if (tracee.bypass) {
    // Tracee's bypass: change nothing, run the program with this process's credentials. Only
    // ever explicit, and never together with anything that asks for less.
    const asked = [
      ["--user", opts.user],
      ["--group", opts.group],
      ["--groups", opts.groups],
      ["--clear-groups", opts.clearGroups],
      ["--keep", opts.keep],
      ["--ambient", opts.ambient],
      ["--bounding", opts.bounding],
      ["--drop", opts.drop],
      ["--no-new-privs", opts.noNewPrivs],
      ["--secbits", opts.secbits],
      ["--no-regain", opts.noRegain],
      ["--capabilities add=", tracee.add.length || undefined],
      ["--capabilities drop=", tracee.drop.length || undefined],
    ]
      .filter(([, v]) => v !== undefined && v !== false)
      .map(([k]) => k);
    if (asked.length)
      throw new UsageError(
        `--capabilities bypass=true runs the program with this process's credentials unchanged, so it cannot be combined with ${asked.join(", ")}`,
      );
    if (opts.dryRun) {
      process.stdout.write(`bypass: ${terminalSafe(program)} would run with this process's capabilities, unchanged\n`);
      return 0;
    }
    warn(`bypass: ${terminalSafe(program)} runs with this process's capabilities, unchanged`);
    try {
      return execProgram(path, argv, programEnv(opts, null, readThreadState().euid, listen), {
        keepFds: fds,
        ignoredSignals,
      });
    } catch (e) {
      throw execFailed(e, 0);
    }
  }
  const keep = caps([opts.keep, ...tracee.add].filter(Boolean).join(","), "--keep", profile),
    ambient = caps(opts.ambient, "--ambient", profile);
  const drop = caps([opts.drop, ...tracee.drop].filter(Boolean).join(","), "--drop", profile);
  const want = keep.union(ambient);
  if (!want.intersect(drop).isEmpty)
    throw new UsageError(`--keep/--ambient and --drop both name ${want.intersect(drop).names().join(", ")}`);
  const securebits = opts.secbits === undefined ? undefined : securebitsArg(opts.secbits, "--secbits");
  const user = opts.user !== undefined ? lookupUser(opts.user) : null;
  const uid = opts.user !== undefined ? (user?.uid ?? parseId(opts.user, "--user")!) : undefined;
  const gids = gidTarget(opts, user, uid);
  const start = readThreadState();
  const env = programEnv(opts, user, uid ?? start.euid, listen);
  const launcher = new Launcher({
    path,
    argv,
    env,
    ...(uid !== undefined && { uid }),
    ...(gids?.gid !== null && gids?.gid !== undefined && { gid: gids.gid }),
    ...(gids?.groups && { groups: gids.groups }),
    keep,
    ambient,
    drop,
    ...(opts.bounding !== undefined && { bounding: caps(opts.bounding, "--bounding", profile) }),
    ...(opts.noNewPrivs && { noNewPrivs: true }),
    ...(securebits !== undefined && { securebits }),
    ...(opts.noRegain && { noRegain: true }),
    keepFds: fds,
    ignoredSignals,
    profile,
    ...(assumeFile && { assumeFile }),
  });
  // every option is valid by now: warnings may go out (an input error stays the only line)
  if (assumeFile)
    warn(`${terminalSafe(program)} was not found: planned as a plain file (no set-id bits, no file capabilities)`);
  const p = launcher.plan(start);
  if (!p.ok) {
    if (opts.json) planOut(jsonSafe({ ok: false, reasons: p.reasons, searched: p.searched }, 2) + "\n");
    else
      process.stderr.write(
        `capgate: cannot run ${terminalSafe(program)} as asked:\n${p.reasons.map((r) => `  - ${terminalSafe(r)}`).join("\n")}\n`,
      );
    return 1;
  }
  const predicted = p.predicted;
  if (p.nosuid)
    warn(`${terminalSafe(program)} is on a nosuid mount: its set-id bits and file capabilities are ignored`);
  // the gid steps' reasons, in the words of the options that asked for them
  const gidWhy = (op: Op) =>
    op.op === "setgroups"
      ? opts.groups !== undefined || opts.clearGroups
        ? "the asked-for supplementary groups"
        : `${user?.name ?? "the user"}'s groups (like setpriv --init-groups)`
      : `${opts.group !== undefined ? "the asked-for group" : `${user?.name ?? "the user"}'s primary group`}, before the uid changes (it needs CAP_SETGID)`;
  const steps = p.steps.map((s) =>
    s.verdict.op.op === "setgroups" || s.verdict.op.op === "setresgid" ? { ...s, why: gidWhy(s.verdict.op) } : s,
  );
  const idText = `uid ${predicted.ruid} gid ${p.gid} groups ${p.groups.join(",") || "none"}`;
  if (opts.scenario) {
    const doc = toScenario(
      profile.version,
      start,
      p.steps.map((s) => s.verdict.op),
      `capgate exec plan for ${program}`,
    ) as { steps: Array<Record<string, unknown>>; description?: string };
    // Every step is expected to succeed with its rule; the last (the execve) with the predicted state.
    const { tid: _tid, ...final } = stateToScenario(predicted);
    doc.steps.forEach((step, i) => {
      step["note"] = steps[i]!.why;
      step["expect"] =
        i === p.steps.length - 1 ? { ok: true, state: final } : { ok: true, rule: p.steps[i]!.verdict.rule };
    });
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    return 0;
  }
  if (opts.dryRun || opts.json) {
    if (opts.json) {
      // With --dry-run the plan is the output; when the program runs, stdout is the program's,
      // so the plan goes to stderr or to the descriptor --json-fd names.
      planOut(
        jsonSafe(
          {
            ok: true,
            program: path,
            steps: steps.map((s) => ({ ...verdictJson(s.verdict), why: s.why })),
            predicted: { text: formatCapText(predicted, profile), ...stateJson(predicted) },
            searched: p.searched,
          },
          2,
        ) + "\n",
      );
    } else {
      const rows = [[style.dim("#"), style.dim("call"), style.dim("rule"), style.dim("why")]];
      steps.forEach((s, i) => rows.push([String(i + 1), describeOp(s.verdict.op), s.verdict.rule, s.why]));
      process.stdout.write(
        `${table(rows)}\n\n${terminalSafe(program)} would run as ${idText} with ${describeCaps(predicted, profile)}` +
          `, bounding ${abbreviateSet(predicted.bounding, { all: profile.all, prefix: true })}` +
          `${predicted.noNewPrivs ? ", no_new_privs" : ""}${predicted.securebits ? `, securebits 0x${predicted.securebits.toString(16)}` : ""}\n`,
      );
    }
    if (opts.dryRun) return 0;
  } else if (!opts.quiet) {
    // The plan goes to stderr, so the program's own output stays clean.
    process.stderr.write(
      `capgate: ${p.calls.map((c) => c.label).join("; ")}${p.calls.length ? "; " : ""}execve\n` +
        `capgate: ${terminalSafe(program)} runs as ${idText} with ${describeCaps(predicted, profile)}\n`,
    );
  }
  const loader = LOADER_VARIABLES.filter((k) => env[k] !== undefined);
  if (loader.length && !predicted.permitted.isEmpty && !p.secureExec) {
    warn(
      `warning: ${loader.join(", ")} reach${loader.length === 1 ? "es" : ""} ${terminalSafe(program)}, which starts with capabilities and without AT_SECURE, so the loader honours ${loader.length === 1 ? "it" : "them"}; unset ${loader.length === 1 ? "it" : "them"} or use --reset-env`,
    );
  }
  // For real: each call applied and read back (a refused one throws LaunchRefused, exit 1), then execve.
  try {
    return launcher.launch(p);
  } catch (e) {
    throw execFailed(e, p.calls.length);
  }
}
