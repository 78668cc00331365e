// capgate explain: the pre-flight tool for shell scripts and CI. A starting state, a change in
// any accepted form, and the kernel's verdict for every step, with its rule and fix. The flags
// become a library request (src/explain/explain.ts decides); this file reads the start state
// (this process, a pid, a status file, a mask or capability text) and renders the answer.
import { kernelArg } from "./args.js";
import { profileText } from "../kernel/profiles.js";
import { noteProfile } from "./profile.js";
import { readFileSync, statSync } from "node:fs";
import { namespaceOfProcess } from "./procfs.js";
import type { ExecFile } from "../ops.js";
import { CapSet } from "../capabilities/set.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { threadState, stateProblem, type ThreadState } from "../state.js";
import { explain, explanationJson, type ChangeRequest } from "../explain/explain.js";
import { parseCapText, formatCapText } from "../formats/libcap-text.js";
import { parseMask } from "../formats/decode.js";
import { parseAnyNames } from "../formats/names.js";
import { stateFromStatus } from "../formats/proc-status.js";
import { FormatError } from "../formats/errors.js";
import { securebitsArg } from "./args.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { terminalSafe } from "./escape.js";
import { describeOp, describeChange, describeCaps } from "../formats/describe.js";
import { style, table } from "./style.js";

export interface ExplainOptions {
  from?: string;
  uid?: string;
  kernel?: string;
  json?: boolean;
  capset?: string;
  drop?: string;
  boundingDrop?: string;
  ambientRaise?: string;
  ambientLower?: string;
  keepCaps?: boolean;
  securebits?: string;
  setuid?: string;
  setresuid?: string;
  noNewPrivs?: boolean;
  exec?: string;
  execCaps?: string;
  execSetuid?: string;
}

/** Capability names in any spelling capgate knows (libcap, bare, Docker, CAP_X, numbers). */
function caps(text: string, profile: KernelProfile, option: string): CapSet {
  try {
    return parseAnyNames(text, profile);
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`${option}: ${e.problem} (${JSON.stringify(e.token)})`);
    throw e;
  }
}

function uidArg(text: string, option: string): number {
  if (!/^(-1|\d+)$/.test(text.trim()) || Number(text) > 0xfffffffe)
    throw new UsageError(`${option}: expected a uid from 0 to 4294967294 (or -1), got ${JSON.stringify(text)}`);
  return Number(text) === -1 ? 0xffffffff : Number(text);
}

async function startState(
  opts: ExplainOptions,
  profile: KernelProfile,
): Promise<{ state: ThreadState; source: string }> {
  const from = opts.from;
  let state: ThreadState;
  let source: string;
  if (from === undefined) {
    // The calling process: its status file, and securebits from the kernel (the shim).
    const { prctl } = await import("../../shim/libc.js");
    state = stateFromStatus(
      readFileSync("/proc/thread-self/status", "utf8"),
      prctl(27).ret >>> 0,
      profile,
      namespaceOfProcess("thread-self"),
    );
    source = "this process";
  } else if (/^\d+$/.test(from.trim()) && existsAsFile(`/proc/${from.trim()}/status`)) {
    // A running process (a bare decimal number naming one; write a mask as 0x...): its status and
    // user namespace. Its securebits are not in /proc: taken as 0, and said so.
    const pid = from.trim();
    state = stateFromStatus(readFileSync(`/proc/${pid}/status`, "utf8"), 0, profile, namespaceOfProcess(pid));
    source = `process ${pid} (securebits are not shown in /proc: taken as 0)`;
  } else if (/^(0x)?[0-9a-f]{1,16}$/i.test(from.trim()) && !existsAsFile(from)) {
    const mask = parseMask(from);
    state = threadState({ permitted: mask, effective: mask }, profile);
    source = `mask ${from} (permitted and effective)`;
  } else if (existsAsFile(from)) {
    try {
      state = stateFromStatus(readFileSync(from, "utf8"), 0, profile);
    } catch (e) {
      if (e instanceof FormatError) throw new InputError(from, e.message);
      throw e;
    }
    source = from;
  } else if (/[/]/.test(from) && !/[=+-]/.test(from)) {
    // A path, not capability text: say what is wrong with the path.
    let why = "no such file";
    try {
      why = statSync(from).isDirectory() ? "is a directory, not a status file" : "is not a regular file";
    } catch {
      /* no such file */
    }
    throw new InputError(from, why);
  } else {
    try {
      const t = parseCapText(from, profile);
      state = threadState({ permitted: t.permitted, effective: t.effective, inheritable: t.inheritable }, profile);
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(`--from: ${e.message}`);
      throw e;
    }
    source = `"${from}"`;
  }
  if (opts.uid !== undefined) {
    if (!/^\d+$/.test(opts.uid.trim()) || Number(opts.uid) > 0xfffffffe)
      throw new UsageError(`--uid: expected a uid from 0 to 4294967294, got ${JSON.stringify(opts.uid)}`);
    const u = Number(opts.uid);
    state = { ...state, ruid: u, euid: u, suid: u, fsuid: u };
  }
  const problem = stateProblem(state, profile);
  if (problem) throw new UsageError(`${from === undefined ? "this process" : "--from"}: impossible state: ${problem}`);
  return { state, source };
}

/**
 * What execve would read of a real file: its set-id bits, owner, group, file capabilities and
 * whether its mount is nosuid; for a #! script, the same of its interpreter, from which the
 * kernel takes the credentials (shim/program.ts reads it as capgate exec does, from one
 * descriptor). A file that cannot run is bad input here: nothing runs.
 */
async function realExecFile(path: string): Promise<ExecFile> {
  const { openProgram, ProgramError } = await import("../../shim/program.js");
  try {
    const program = openProgram(path, null);
    program.close();
    return program.file;
  } catch (e) {
    if (e instanceof ProgramError)
      throw new InputError(
        path,
        e.exitStatus === 127 ? "no such file" : e.message.replace(/^[^:]*: /, "").replace(/; nothing was run$/, ""),
      );
    throw e;
  }
}

function existsAsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The exec part of the request: a real file's (--exec), with --exec-caps and --exec-setuid over it. */
async function execFile(opts: ExplainOptions, profile: KernelProfile): Promise<ExecFile | undefined> {
  if (opts.exec === undefined && opts.execCaps === undefined && opts.execSetuid === undefined) return undefined;
  let file: ExecFile = opts.exec ? await realExecFile(opts.exec) : {};
  if (opts.execCaps !== undefined) {
    // "cap_net_raw+ep" as setcap writes it: p is the file permitted set, i inheritable, e the bit.
    const t = capText(opts.execCaps, profile, "--exec-caps");
    file = {
      ...file,
      caps: { permitted: t.permitted, inheritable: t.inheritable, effective: !t.effective.isEmpty, version: 2 },
    };
  }
  if (opts.execSetuid !== undefined) file = { ...file, setuid: true, owner: uidArg(opts.execSetuid, "--exec-setuid") };
  return file;
}

function capText(text: string, profile: KernelProfile, option: string) {
  try {
    return parseCapText(text, profile);
  } catch (e) {
    if (e instanceof FormatError) throw new UsageError(`${option}: ${e.message}`);
    throw e;
  }
}

/** The flags as a library request (src/explain): the CLI only parses them. */
async function request(opts: ExplainOptions, profile: KernelProfile): Promise<ChangeRequest> {
  const setresuid = opts.setresuid?.split(",");
  if (setresuid && setresuid.length !== 3)
    throw new UsageError(`--setresuid: expected RUID,EUID,SUID, got ${JSON.stringify(opts.setresuid)}`);
  const exec = await execFile(opts, profile);
  const r: ChangeRequest = {
    ...(opts.capset !== undefined && { capset: capText(opts.capset, profile, "--capset") }),
    ...(opts.drop !== undefined && { drop: caps(opts.drop, profile, "--drop") }),
    ...(opts.boundingDrop && { boundingDrop: caps(opts.boundingDrop, profile, "--bounding-drop") }),
    ...(opts.ambientRaise && { ambientRaise: caps(opts.ambientRaise, profile, "--ambient-raise") }),
    ...(opts.ambientLower && { ambientLower: caps(opts.ambientLower, profile, "--ambient-lower") }),
    ...(opts.securebits !== undefined && { securebits: securebitsArg(opts.securebits, "--securebits") }),
    ...(opts.keepCaps && { keepCaps: true }),
    ...(opts.setuid !== undefined && { setuid: signedUid(opts.setuid, "--setuid") }),
    ...(setresuid && {
      setresuid: setresuid.map((id) => signedUid(id, "--setresuid")) as [number, number, number],
    }),
    ...(opts.noNewPrivs && { noNewPrivs: true }),
    ...(exec && { exec }),
  };
  if (!Object.keys(r).length)
    throw new UsageError(
      "explain needs a change: --capset, --drop, --bounding-drop, --ambient-raise, --ambient-lower, --securebits, --keep-caps, --setuid, --setresuid, --no-new-privs or --exec (see --help)",
    );
  return r;
}

/** A uid flag as the library takes it: -1 stays -1 ("unchanged"). */
function signedUid(text: string, option: string): number {
  const id = uidArg(text, option);
  return id === 0xffffffff ? -1 : id;
}

export async function explainCommand(opts: ExplainOptions): Promise<number> {
  const profile = noteProfile(opts.kernel ? kernelArg(opts.kernel) : kernelProfile());
  const { state, source } = await startState(opts, profile);
  const e = explain(state, await request(opts, profile), { kernel: profile });
  const status = e.ok ? 0 : 1;
  if (opts.json) {
    process.stdout.write(JSON.stringify(explanationJson(e, source), null, 2) + "\n");
    return status;
  }
  const out: string[] = [
    `${style.bold("from")} ${terminalSafe(source)}: ${formatCapText(state, profile)} (uid ${state.ruid}/${state.euid}, kernel ${profileText(profile)})`,
    "",
  ];
  const rows = [[style.dim("#"), style.dim("call"), style.dim("result"), style.dim("rule"), style.dim("changed")]];
  e.steps.forEach((v, i) =>
    rows.push([
      String(i + 1),
      describeOp(v.op),
      v.ok ? style.green("ok") : style.red(v.errno ?? "refused"),
      v.rule,
      describeChange(v.before, v.state) || style.dim("—"),
    ]),
  );
  out.push(table(rows), "");
  e.steps.forEach((v, i) => {
    const lines = [v.message];
    if (!v.ok && v.hint) lines.push(`${style.yellow("fix:")} ${v.hint}`);
    for (const n of v.notes) lines.push(`${style.cyan("note:")} ${n.message}`);
    out.push(`${style.bold(`${i + 1}.`)} ${lines.join("\n   ")}`);
  });
  out.push("");
  const refused = e.steps[e.refused];
  if (!refused) out.push(style.green(`would succeed: ${describeCaps(e.final, profile)}`));
  else {
    const later = e.ops.length - e.refused - 1;
    out.push(
      style.red(
        `step ${e.refused + 1} would fail with ${refused.errno ?? "an error"} (${refused.rule})${later > 0 ? `; ${later} later step(s) not evaluated` : ""}`,
      ),
    );
  }
  process.stdout.write(out.join("\n") + "\n");
  return status;
}
