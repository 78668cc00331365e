// capgate exec: plan the calls that give PROGRAM exactly the asked-for state, pre-flight and
// apply them on this (main) thread through the shim, then execve the program.
import { statSync, readFileSync, accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { CapSet } from "../capabilities/set.js";
import { parseAnyNames } from "../formats/names.js";
import { FormatError } from "../formats/errors.js";
import type { KernelProfile } from "../kernel/profiles.js";
import type { ExecFile, Op } from "../ops.js";
import { plan } from "../plan/planner.js";
import type { PlanTarget } from "../plan/target.js";
import { formatCapText } from "../formats/libcap-text.js";
import { parseSecurebits } from "../scenario/parse.js";
import { stateJson, verdictJson } from "../scenario/run.js";
import { toScenario, stateToScenario } from "../scenario/emit.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { describeOp } from "./describe.js";
import { style, table } from "./style.js";

/** A set for a one-line summary: "all", "all but cap_x", a short list, or a count. */
export function shortSet(set: CapSet, profile: KernelProfile): string {
  if (set.equals(profile.all)) return "all";
  const missing = profile.all.difference(set);
  if (missing.size <= 3) return `all but ${missing.names().map((n) => n.toLowerCase()).join(",")}`;
  if (set.size <= 6) return set.names().map((n) => n.toLowerCase()).join(",") || "empty";
  return `${set.size} capabilities`;
}

export interface ExecOptions {
  user?: string; keep?: string; drop?: string; ambient?: string; bounding?: string; noNewPrivs?: boolean; secbits?: string;
  noRegain?: boolean; dryRun?: boolean; json?: boolean; scenario?: boolean; quiet?: boolean;
  /** Tracee's form, repeatable: "add=cap_net_raw,cap_kill", "drop=cap_sys_admin", "bypass=true". */
  capabilities?: string[];
}

/** Parses Tracee's --capabilities values: key=value pairs, a value running on over commas. */
export function parseTraceeCapabilities(values: readonly string[]): { add: string[]; drop: string[]; bypass: boolean } {
  const out = { add: [] as string[], drop: [] as string[], bypass: false };
  for (const value of values) {
    let key: "add" | "drop" | "bypass" | undefined;
    for (const token of value.split(",").map((t) => t.trim()).filter(Boolean)) {
      const m = /^(add|drop|bypass)=(.*)$/.exec(token);
      if (m) { key = m[1] as typeof key; if (!m[2]) continue; }
      const item = m ? m[2]! : token;
      if (key === undefined) throw new UsageError(`--capabilities: expected add=, drop= or bypass=, got ${JSON.stringify(token)}`);
      if (key === "bypass") {
        if (!/^(true|false|1|0)$/.test(item)) throw new UsageError(`--capabilities: bypass takes true or false, got ${JSON.stringify(item)}`);
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

function uidOf(user: string): number {
  if (/^\d+$/.test(user)) return Number(user);
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === user && f[2] !== undefined) return Number(f[2]);
    }
  } catch { /* fall through */ }
  throw new UsageError(`--user: no user ${JSON.stringify(user)}`);
}

/** PROGRAM as execve will find it: a path, or the first executable on PATH. */
function resolveProgram(program: string): string {
  const candidates = program.includes("/") ? [program] : (process.env["PATH"] ?? "/usr/bin:/bin").split(delimiter).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch { /* next */ }
  }
  throw new InputError(program, "no such program (not a path, and not found on PATH)");
}

export async function execCommand(program: string, args: string[], opts: ExecOptions): Promise<number> {
  const { readThreadState, currentProfile } = await import("../../shim/thread-state.js");
  const { getFileCaps } = await import("../../shim/files.js");
  const profile: KernelProfile = currentProfile();
  const path = resolveProgram(program);
  const st = statSync(path);
  const fileCaps = getFileCaps(path);
  const file: ExecFile = { setuid: (st.mode & 0o4000) !== 0, owner: st.uid, ...(fileCaps && { caps: fileCaps }) };
  const tracee = parseTraceeCapabilities(opts.capabilities ?? []);
  if (tracee.bypass || process.env["CAPABILITIES_BYPASS"] === "1") {
    // Tracee's bypass: change nothing, run the program with what this process has.
    if (opts.dryRun) { process.stdout.write(`bypass: ${program} would run with this process's capabilities, unchanged\n`); return 0; }
    const { execProgram } = await import("../../shim/launch.js");
    return execProgram(path, [program, ...args], process.env);
  }
  const keep = caps([opts.keep, ...tracee.add].filter(Boolean).join(","), "--keep", profile), ambient = caps(opts.ambient, "--ambient", profile);
  const drop = caps([opts.drop, ...tracee.drop].filter(Boolean).join(","), "--drop", profile);
  const want = keep.union(ambient);
  if (!want.intersect(drop).isEmpty) throw new UsageError(`--keep/--ambient and --drop both name ${want.intersect(drop).names().join(", ")}`);
  let securebits: number | undefined;
  if (opts.secbits !== undefined) {
    try {
      securebits = parseSecurebits(opts.secbits, "--secbits");
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
  }
  const start = readThreadState();
  const target: PlanTarget = {
    uid: opts.user !== undefined ? uidOf(opts.user) : start.euid,
    // never more than asked: the program's permitted and effective sets are exactly these
    permitted: { exactly: want }, effective: { exactly: want },
    ...(!ambient.isEmpty && { ambient: { include: ambient } }),
    bounding: opts.bounding !== undefined ? { exactly: caps(opts.bounding, "--bounding", profile) } : { exclude: drop },
    ...(opts.noNewPrivs && { noNewPrivs: true }),
    ...(securebits !== undefined && { securebits: { set: securebits } }),
    ...(opts.noRegain && { cannotRegain: true }),
    file,
  };
  const p = plan(start, target, { kernel: profile });
  if (!p.ok) {
    if (opts.json) process.stdout.write(JSON.stringify({ ok: false, reasons: p.reasons, searched: p.searched }, null, 2) + "\n");
    else process.stderr.write(`capgate: cannot run ${program} as asked:\n${p.reasons.map((r) => `  - ${r}`).join("\n")}\n`);
    return 1;
  }
  const predicted = p.final;
  if (opts.scenario) {
    const doc = toScenario(profile.version, start, p.steps.map((s) => s.verdict.op), `capgate exec plan for ${program}`) as { steps: Array<Record<string, unknown>> };
    // Every step is expected to succeed with its rule; the last (the execve) with the predicted state.
    const { tid: _tid, ...final } = stateToScenario(predicted);
    doc.steps.forEach((step, i) => {
      step["note"] = p.steps[i]!.why;
      step["expect"] = i === p.steps.length - 1 ? { ok: true, state: final } : { ok: true, rule: p.steps[i]!.verdict.rule };
    });
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    return 0;
  }
  if (opts.dryRun || opts.json) {
    if (opts.json) {
      process.stdout.write(JSON.stringify({ ok: true, program: path, steps: p.steps.map((s) => ({ ...verdictJson(s.verdict), why: s.why })),
        predicted: { text: formatCapText(predicted, profile), ...stateJson(predicted) }, searched: p.searched }, null, 2) + "\n");
    } else {
      const rows = [[style.dim("#"), style.dim("call"), style.dim("rule"), style.dim("why")]];
      p.steps.forEach((s, i) => rows.push([String(i + 1), describeOp(s.verdict.op), s.verdict.rule, s.why]));
      process.stdout.write(`${table(rows)}\n\n${program} would run as uid ${predicted.ruid} with ${formatCapText(predicted, profile)}` +
        `${predicted.ambient.isEmpty ? "" : `, ambient ${predicted.ambient.names().map((n) => n.toLowerCase()).join(",")}`}` +
        `, bounding ${shortSet(predicted.bounding, profile)}` +
        `${predicted.noNewPrivs ? ", no_new_privs" : ""}${predicted.securebits ? `, securebits 0x${predicted.securebits.toString(16)}` : ""}\n`);
    }
    if (opts.dryRun) return 0;
  }
  else if (!opts.quiet) {
    // The plan goes to stderr, so the program's own output stays clean.
    process.stderr.write(`capgate: ${p.steps.map((s) => describeOp(s.verdict.op)).join("; ")}\n` +
      `capgate: ${program} runs as uid ${predicted.ruid} with ${formatCapText(predicted, profile)}${predicted.ambient.isEmpty ? "" : `, ambient ${predicted.ambient.names().map((n) => n.toLowerCase()).join(",")}`}\n`);
  }
  // For real: each call pre-flighted from the live state and read back (shim.apply), then exec.
  const { apply } = await import("../../shim/apply.js");
  const { execProgram } = await import("../../shim/launch.js");
  for (const step of p.steps.slice(0, -1)) apply(step.verdict.op as Op, { profile });
  return execProgram(path, [program, ...args], process.env);
}
