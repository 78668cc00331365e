// capgate exec: the flags of setpriv and capsh, turned into a LaunchRequest for the shim's
// Launcher, which decides everything (it finds and opens the program, looks up the user, plans
// the calls, applies each on this main thread, reads it back and execs the program through its
// descriptor); this file only parses flags, prints the plan and maps failures to a shell's
// exit statuses.
import { writeSync } from "node:fs";
import type { ExecError } from "../../shim/launch.js";
import type { LaunchPlan, LaunchRequest } from "../../shim/launcher.js";
import { CapSet } from "../capabilities/set.js";
import { parseAnyNames } from "../formats/names.js";
import { FormatError } from "../formats/errors.js";
import type { KernelProfile } from "../kernel/profiles.js";
import type { ThreadState } from "../state.js";
import { securebitsArg } from "./args.js";
import { ExitError, UsageError } from "./errors.js";
import { terminalSafe, jsonSafe } from "./escape.js";
import { abbreviateSet } from "../capabilities/list.js";
import { errnoText } from "../kernel/errno-text.js";
import { describeOp, describeCaps } from "../formats/describe.js";
import { style, table } from "./style.js";

/** The signals the caller ignored before Node reset them (hex, as /proc shows SigIgn), from bin/capgate's first argument. */
let callerSigIgn = "";
/** Notes the caller's ignored signals (src/cli/main.ts, from the argument bin/capgate passes). */
export function setCallerIgnoredSignals(mask: string): void {
  callerSigIgn = mask;
}
const ERRNO = { ENOENT: 2, EACCES: 13, ENOEXEC: 8 } as const;

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
      const item = m ? (m[2] ?? "") : token;
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

/** Signals the caller ignored (nohup's SIGHUP), as bin/capgate noted them before Node reset them. */
function callerIgnoredSignals(): number[] {
  const mask = callerSigIgn;
  if (!mask || !/^[0-9a-f]{1,16}$/i.test(mask)) return [];
  const bits = BigInt(`0x${mask}`);
  const out: number[] = [];
  for (let sig = 1; sig <= 31; sig++) if ((bits >> BigInt(sig - 1)) & 1n) out.push(sig);
  return out;
}

/** Why execve failed, in a shell's words: exit 127 when the program (not its interpreter) is missing. */
function execFailure(e: ExecError, program: string, applied: number): ExitError {
  const shown = program;
  const after = applied
    ? `; the ${applied} planned call${applied === 1 ? " had" : "s had"} been applied to capgate's own process, which exits`
    : "";
  // the program and its interpreters were opened before any call: what is missing now went missing since
  if (e.errno === ERRNO.ENOENT) return new ExitError(127, `${shown}: not found; the program was not run${after}`);
  const why =
    e.errno === ERRNO.ENOEXEC
      ? "not an executable format (a script needs a #! line)"
      : e.errno === ERRNO.EACCES
        ? "permission denied"
        : errnoText(e.errno);
  return new ExitError(126, `${shown}: cannot execute: ${why}; the program was not run${after}`);
}

/** The request the flags ask for (names, Tracee's form, numbers parsed; nothing looked up yet). */
function request(program: string, args: readonly string[], opts: ExecOptions, profile: KernelProfile): LaunchRequest {
  const tracee = parseTraceeCapabilities(opts.capabilities ?? []);
  const groupOptions = [
    opts.groups !== undefined && "--groups",
    opts.clearGroups && "--clear-groups",
    opts.keepGroups && "--keep-groups",
  ].filter(Boolean);
  if (groupOptions.length > 1)
    throw new UsageError(`give one of --groups, --clear-groups and --keep-groups, not ${groupOptions.join(" and ")}`);
  const keepFds = (opts.keepFds ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)
    .map((t) => {
      const n = /^\d{1,9}$/.test(t) ? Number(t) : NaN;
      if (!(n >= 3))
        throw new UsageError(`--keep-fds: expected descriptor numbers from 3 up, got ${JSON.stringify(t)}`);
      return n;
    });
  return {
    program,
    args,
    ...(opts.user !== undefined && { user: opts.user }),
    ...(opts.group !== undefined && { group: opts.group }),
    ...(opts.groups !== undefined && {
      groups: opts.groups
        .split(",")
        .map((g) => g.trim())
        .filter(Boolean),
    }),
    ...(opts.clearGroups && { groups: "clear" as const }),
    ...(opts.keepGroups && { groups: "keep" as const }),
    keep: caps([opts.keep, ...tracee.add].filter(Boolean).join(","), "--keep", profile),
    ambient: caps(opts.ambient, "--ambient", profile),
    drop: caps([opts.drop, ...tracee.drop].filter(Boolean).join(","), "--drop", profile),
    ...(opts.bounding !== undefined && { bounding: caps(opts.bounding, "--bounding", profile) }),
    ...(opts.noNewPrivs && { noNewPrivs: true }),
    ...(opts.secbits !== undefined && { securebits: securebitsArg(opts.secbits, "--secbits") }),
    ...(opts.noRegain && { noRegain: true }),
    ...(opts.resetEnv && { resetEnv: true }),
    keepFds,
    ignoredSignals: callerIgnoredSignals(),
    profile,
    ...(opts.dryRun && { missingAsPlainFile: true }),
    ...(tracee.bypass && { bypass: true }),
  };
}

export async function execCommand(program: string, args: string[], opts: ExecOptions): Promise<number> {
  const { currentProfile } = await import("../../shim/thread-state.js");
  const { openFds, ExecError } = await import("../../shim/launch.js");
  const { Launcher } = await import("../../shim/launcher.js");
  const profile: KernelProfile = currentProfile();
  const warn = (line: string) => {
    if (!opts.quiet) process.stderr.write(`capgate: ${terminalSafe(line)}\n`);
  };
  const envBypass = process.env["CAPABILITIES_BYPASS"];
  if (envBypass !== undefined && envBypass !== "" && envBypass !== "0") {
    process.stderr.write(
      "capgate: CAPABILITIES_BYPASS is ignored by exec: an environment variable never widens what the command line asks (use --capabilities bypass=true)\n",
    );
  }
  const jsonFd = opts.jsonFd === undefined ? undefined : Number(opts.jsonFd);
  if (opts.jsonFd !== undefined && (!/^\d{1,9}$/.test(opts.jsonFd) || (jsonFd ?? 0) < 1))
    throw new UsageError(`--json-fd: expected a descriptor number, got ${JSON.stringify(opts.jsonFd)}`);
  if (jsonFd !== undefined && !openFds().includes(jsonFd))
    throw new UsageError(`--json-fd: descriptor ${jsonFd} is not open`);
  const planOut = (text: string) =>
    opts.dryRun
      ? process.stdout.write(text)
      : jsonFd !== undefined
        ? writeSync(jsonFd, text)
        : process.stderr.write(text);
  const launcher = new Launcher(request(program, args, opts, profile));
  const p: LaunchPlan = launcher.plan();
  if (!p.ok) {
    if (opts.json) planOut(jsonSafe(launcher.planJson(p), 2) + "\n");
    else
      process.stderr.write(
        `capgate: cannot run ${terminalSafe(program)} as asked:\n${p.reasons.map((r) => `  - ${terminalSafe(r)}`).join("\n")}\n`,
      );
    return 1;
  }
  // every option is valid by now: warnings may go out (an input error stays the only line)
  if (p.bypass) {
    if (opts.dryRun) {
      process.stdout.write(`bypass: ${terminalSafe(program)} would run with this process's capabilities, unchanged\n`);
      return 0;
    }
  }
  const predicted = p.predicted;
  const idText = `uid ${predicted.ruid} gid ${p.gid} groups ${p.groups.join(",") || "none"}`;
  if (opts.scenario) {
    process.stdout.write(JSON.stringify(launcher.planScenario(p), null, 2) + "\n");
    return 0;
  }
  if (opts.dryRun || opts.json) {
    if (opts.json) {
      // With --dry-run the plan is the output; when the program runs, stdout is the program's,
      // so the plan goes to stderr or to the descriptor --json-fd names.
      planOut(jsonSafe(launcher.planJson(p), 2) + "\n");
    } else {
      for (const w of p.warnings) warn(w);
      const rows = [[style.dim("#"), style.dim("call"), style.dim("rule"), style.dim("why")]];
      p.steps.forEach((s, i) => rows.push([String(i + 1), describeOp(s.verdict.op), s.verdict.rule, s.why]));
      process.stdout.write(
        `${table(rows)}\n\n${terminalSafe(program)} would run as ${idText} with ${describeCaps(predicted, profile)}` +
          `, bounding ${abbreviateSet(predicted.bounding, { all: profile.all, prefix: true })}` +
          `${predicted.noNewPrivs ? ", no_new_privs" : ""}${predicted.securebits ? `, securebits 0x${predicted.securebits.toString(16)}` : ""}\n` +
          regainNote(predicted, profile),
      );
    }
    if (opts.dryRun) return 0;
  } else {
    for (const w of p.warnings) warn(w);
    // The plan goes to stderr, so the program's own output stays clean.
    if (!opts.quiet && !p.bypass)
      process.stderr.write(
        `capgate: ${p.calls.map((c) => c.label).join("; ")}${p.calls.length ? "; " : ""}execve\n` +
          `capgate: ${terminalSafe(program)} runs as ${idText} with ${describeCaps(predicted, profile)}\n` +
          regainNote(predicted, profile).replace(/^(?=.)/, "capgate: "),
      );
  }
  // For real: each call applied and read back (a refused one throws LaunchRefused, exit 1), then execve.
  try {
    return launcher.launch(p);
  } catch (e) {
    throw e instanceof ExecError ? execFailure(e, program, p.calls.length) : e;
  }
}

/**
 * What a later exec could give back: with no_new_privs unset and capabilities left in bounding
 * beyond what the program holds, a set-uid-root program (or one with file capabilities) it runs
 * regains them. One line saying so and which flag prevents it; empty when nothing can be regained.
 */
function regainNote(predicted: ThreadState, profile: KernelProfile): string {
  if (predicted.noNewPrivs) return "";
  const regainable = predicted.bounding.difference(predicted.permitted);
  if (regainable.isEmpty) return "";
  const what = regainable.equals(profile.all.difference(predicted.permitted))
    ? "every capability"
    : abbreviateSet(regainable, { all: profile.all, prefix: true });
  return `note: the bounding set keeps ${regainable.size === 1 ? what : `${regainable.size} capabilities (${what})`} the program does not hold: a set-uid-root program it runs could regain ${regainable.size === 1 ? "it" : "them"}; --no-regain (or --bounding, --no-new-privs) prevents that\n`;
}
