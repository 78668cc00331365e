// The Launcher (after libcap's cap.Launcher): everything `capgate exec` decides, for programs.
// Given what a program is to run with (a user, groups, capabilities, the bounding set, no
// new privileges, an environment, descriptors), it finds the program and opens it once (the
// file checked is the file run: shim/program.ts), looks the user up as setpriv --init-groups
// does, plans the calls on the engine, and then applies them on this (main) thread, each
// pre-flighted and read back (apply()), and runs the program through its descriptor. Any refusal
// or surprise stops before the program runs, with the step, what the kernel said, and what had
// been applied. The CLI only turns flags into a LaunchRequest and renders the plan.
import { CapSet } from "../src/capabilities/set.js";
import type { ExecFile, Op } from "../src/ops.js";
import { profileFields, type KernelProfile } from "../src/kernel/profiles.js";
import type { ThreadState } from "../src/state.js";
import { CapgateInputError, CapgateSystemError } from "../src/errors.js";
import { isList } from "../src/args.js";
import { plan, type PlanStep } from "../src/plan/planner.js";
import { simulate, simulateSequence } from "../src/simulate.js";
import type { PlanTarget } from "../src/plan/target.js";
import { describeOp } from "../src/formats/describe.js";
import { formatCapText } from "../src/formats/libcap-text.js";
import { stateJson, verdictJson } from "../src/scenario/run.js";
import { toScenario, stateToScenario } from "../src/scenario/emit.js";
import { currentProfile, readThreadState } from "./thread-state.js";
import { apply, ModelDivergence, RefusedByModel } from "./apply.js";
import { errnoText } from "./libc.js";
import { execProgram, openFds } from "./launch.js";
import { openProgram, resolveProgram, ProgramError, type OpenedProgram } from "./program.js";
import { lookupGroup, lookupUser, parseId, userGroups, type UserEntry } from "./users.js";

/** One call of a launch plan. `label` is how it is shown ("setresuid 1000 1000 1000"). */
export interface LaunchCall {
  readonly kind: "op";
  readonly op: Op;
  readonly label: string;
}

/** What the request asks for cannot be asked together, or names no user or group there is: bad input. */
export class LaunchInputError extends CapgateInputError {
  override name = "LaunchInputError";
}

/** A call of the plan failed: the program was not run. */
export class LaunchRefused extends CapgateSystemError {
  override name = "LaunchRefused";
  constructor(
    /** 1-based step number. */
    readonly step: number,
    readonly call: LaunchCall,
    /** What the kernel (or the model) said. */
    readonly reason: string,
    /** The errno the kernel returned, when it refused. */
    readonly errno: number | null,
    /** The calls that had been applied before this one. */
    readonly applied: readonly LaunchCall[],
  ) {
    const state =
      applied.length === 0
        ? "the process is unchanged"
        : `the process is partly changed: step${applied.length > 1 ? `s 1-${applied.length}` : " 1"} (${applied.map((c) => c.label).join("; ")}) had been applied`;
    super(`step ${step} (${call.label}) ${reason}; the program was not run; ${state}`);
  }
}

function run(call: LaunchCall, profile: KernelProfile): { reason: string; errno: number | null } | null {
  try {
    apply(call.op, { profile });
    return null;
  } catch (e) {
    if (e instanceof RefusedByModel)
      return {
        reason: `refused by capgate's model: ${e.verdict.errno} (${e.verdict.rule}): ${e.verdict.message}`,
        errno: null,
      };
    if (e instanceof ModelDivergence) {
      if (e.kernel.ret === -1)
        return { reason: `refused by the kernel: ${errnoText(e.kernel.errno)}`, errno: e.kernel.errno };
      return { reason: `was not what capgate predicted: ${e.differences.join("; ")}`, errno: null };
    }
    throw e;
  }
}

/** Applies every call in order, each verified; throws LaunchRefused at the first that fails. */
export function applyCalls(calls: readonly LaunchCall[], profile: KernelProfile): void {
  calls.forEach((call, i) => {
    const failed = run(call, profile);
    if (failed) throw new LaunchRefused(i + 1, call, failed.reason, failed.errno, calls.slice(0, i));
  });
}

/** What the program is to run with, in the terms of setpriv and capsh. Unset fields stay as this thread has them. */
export interface LaunchRequest {
  /** The program: a path, or a name looked up on PATH (the environment's PATH). */
  readonly program: string;
  readonly args?: readonly string[];
  /** A user name or uid: all four uids, and (setpriv --init-groups) its gid and groups from the user database unless `group`/`groups` say otherwise. */
  readonly user?: string;
  /** A group name or gid: all four gids. */
  readonly group?: string;
  /** The supplementary groups: exactly these (names or gids), "clear" for none, "keep" for this process's own (never the default). */
  readonly groups?: readonly string[] | "clear" | "keep";
  /** Permitted and effective, exactly (default: nothing). */
  readonly keep?: CapSet;
  /** Ambient too: the program's children keep them across an exec of a plain file. */
  readonly ambient?: CapSet;
  /** The bounding set, exactly; else `drop` is taken out of it. */
  readonly bounding?: CapSet;
  readonly drop?: CapSet;
  readonly noNewPrivs?: boolean;
  /** Securebits to set. */
  readonly securebits?: number;
  /** No later exec can give the program more. */
  readonly noRegain?: boolean;
  /** The program's environment (default: this process's); `resetEnv` gives setpriv's clean one instead. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly resetEnv?: boolean;
  /** Descriptors above 2 the program inherits (systemd's LISTEN_FDS for this pid are kept too). */
  readonly keepFds?: readonly number[];
  /** Signals the program starts with ignored (the caller's, e.g. SIGHUP under nohup). */
  readonly ignoredSignals?: readonly number[];
  /** Default: the running kernel's. */
  readonly profile?: KernelProfile;
  /** A program that is not there is planned as a plain file (a dry run of a program not installed yet). */
  readonly missingAsPlainFile?: boolean;
  /** Change nothing: run the program with this process's credentials (Tracee's bypass); refused with any restriction. */
  readonly bypass?: boolean;
}

/** One step of the plan with its verdict and why it is there. */
export type LaunchStep = PlanStep;

export type LaunchPlan =
  | {
      readonly ok: true;
      /** The program as found (resolved on PATH). */
      readonly path: string;
      /** The opened program; null when it is not there and was planned as a plain file. */
      readonly program: OpenedProgram | null;
      readonly args: readonly string[];
      /** Every call, in order: the gid calls, then the engine's plan (without the final execve). */
      readonly calls: readonly LaunchCall[];
      /** The engine's plan, the execve included, each step with its verdict and why. */
      readonly steps: readonly LaunchStep[];
      readonly start: ThreadState;
      /** The program's state as the engine predicts it, and its gids. */
      readonly predicted: ThreadState;
      readonly gid: number;
      readonly groups: readonly number[];
      /** Whether the program starts with AT_SECURE (the loader then ignores LD_PRELOAD and friends). */
      readonly secureExec: boolean;
      /** The program is on a nosuid mount: its set-id bits and file capabilities are ignored. */
      readonly nosuid: boolean;
      readonly searched: number;
      /** The environment the program gets. */
      readonly env: Readonly<Record<string, string | undefined>>;
      readonly keepFds: readonly number[];
      /** What the plan does that the request did not say, and what a caller should know: one line each. */
      readonly warnings: readonly string[];
      /** Bypass: nothing is changed, the program runs with this process's credentials. */
      readonly bypass: boolean;
    }
  | { readonly ok: false; readonly reasons: readonly string[]; readonly searched: number };

/** The environment variables the dynamic loader honours unless AT_SECURE is set. */
const LOADER_VARIABLES = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"];
/** setpriv --reset-env's PATH for root and for other users (_PATH_DEFPATH_ROOT, _PATH_DEFPATH). */
const ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
  USER_PATH = "/usr/local/bin:/bin:/usr/bin";
const SOCKET_ACTIVATION = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/** The gids the program runs with: null fields stay as they are. */
interface GidTarget {
  readonly gid: number | null;
  readonly groups: number[] | null;
}

export class Launcher {
  readonly profile: KernelProfile;
  constructor(readonly request: LaunchRequest) {
    this.profile = request.profile ?? currentProfile();
  }

  /**
   * Like setpriv and capsh --user: a uid change takes the user's primary gid and groups from the
   * user database (--init-groups), unless group or groups say otherwise. Never gid 0 or this
   * process's groups behind a uid change unless asked.
   */
  #gids(user: UserEntry | null, uid: number | undefined): GidTarget | null {
    const r = this.request;
    if (uid === undefined && r.group === undefined && r.groups === undefined) return null;
    const gid =
      r.group !== undefined ? lookupGroup(r.group, "--group") : user ? user.gid : uid === undefined ? null : undefined;
    if (gid === undefined)
      throw new LaunchInputError(
        `--user ${r.user}: uid ${uid} has no entry in the user database, so its group is unknown: give --group G (and --groups, --clear-groups or --keep-groups)`,
      );
    let groups: number[] | null;
    if (isList(r.groups)) groups = [...new Set(r.groups.map((g) => lookupGroup(g, "--groups")))].sort((a, b) => a - b);
    else if (r.groups === "clear") groups = [];
    else if (r.groups === "keep" || uid === undefined) groups = null;
    else if (user) groups = userGroups(user);
    else
      throw new LaunchInputError(
        `--user ${r.user}: uid ${uid} has no entry in the user database: give --groups, --clear-groups or --keep-groups`,
      );
    return { gid, groups };
  }

  /** The program's environment: the request's (or this process's), or with resetEnv setpriv's clean one. */
  #env(user: UserEntry | null, uid: number, listen: boolean): Record<string, string | undefined> {
    const env = { ...(this.request.env ?? process.env) };
    if (!this.request.resetEnv) return env;
    const entry = user ?? lookupUser(String(uid), "--reset-env");
    if (!entry)
      throw new LaunchInputError(
        `--reset-env: uid ${uid} has no entry in the user database (HOME, SHELL and USER come from it)`,
      );
    return {
      ...(env["TERM"] !== undefined && { TERM: env["TERM"] }),
      HOME: entry.home,
      USER: entry.name,
      LOGNAME: entry.name,
      SHELL: entry.shell,
      PATH: entry.uid === 0 ? ROOT_PATH : USER_PATH,
      ...(listen && Object.fromEntries(SOCKET_ACTIVATION.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]))),
    };
  }

  /** The descriptors kept: the request's (each must be open), and systemd's socket-activation ones when LISTEN_PID names this process. */
  #fds(): { fds: number[]; listen: boolean } {
    const open = openFds();
    const fds = new Set<number>();
    for (const n of this.request.keepFds ?? []) {
      if (!Number.isInteger(n) || n < 3)
        throw new LaunchInputError(`--keep-fds: expected descriptor numbers from 3 up, got ${n}`);
      if (!open.includes(n)) throw new LaunchInputError(`--keep-fds: descriptor ${n} is not open`);
      fds.add(n);
    }
    const env = this.request.env ?? process.env;
    const listen = env["LISTEN_PID"] === String(process.pid) && /^\d{1,4}$/.test(env["LISTEN_FDS"] ?? "");
    if (listen) for (let k = 0; k < Number(env["LISTEN_FDS"]); k++) if (open.includes(3 + k)) fds.add(3 + k);
    return { fds: [...fds].sort((a, b) => a - b), listen };
  }

  /** What a bypass cannot be combined with: anything that asks for less. */
  #restrictions(): string[] {
    const r = this.request;
    return (
      [
        ["--user", r.user],
        ["--group", r.group],
        ["--groups", Array.isArray(r.groups) ? r.groups : undefined],
        ["--clear-groups", r.groups === "clear" || undefined],
        ["--keep", r.keep && !r.keep.isEmpty ? r.keep : undefined],
        ["--ambient", r.ambient && !r.ambient.isEmpty ? r.ambient : undefined],
        ["--bounding", r.bounding],
        ["--drop", r.drop && !r.drop.isEmpty ? r.drop : undefined],
        ["--no-new-privs", r.noNewPrivs || undefined],
        ["--secbits", r.securebits],
        ["--no-regain", r.noRegain || undefined],
      ] as const
    )
      .filter(([, v]) => v !== undefined)
      .map(([k]) => k);
  }

  /**
   * Finds the program and opens it, looks up the user, and plans the calls; or the reasons no
   * plan exists. Reads this thread, the user database and the file; changes nothing. Throws
   * LaunchInputError for a request that cannot be (an unknown user, conflicting options) and
   * ProgramError (126/127) for a program that cannot run.
   */
  plan(start: ThreadState = readThreadState()): LaunchPlan {
    const r = this.request;
    const args = r.args ?? [];
    const { fds, listen } = this.#fds();
    const envPath = (r.env ?? process.env)["PATH"] ?? "/usr/bin:/bin";
    let path: string;
    let program: OpenedProgram | null = null;
    const warnings: string[] = [];
    try {
      path = resolveProgram(r.program, envPath);
      program = openProgram(path, start.ns, r.program);
    } catch (e) {
      // a dry run plans for a program that is not installed yet, as a plain file
      if (!(r.missingAsPlainFile && e instanceof ProgramError && e.exitStatus === 127)) throw e;
      path = r.program;
      warnings.push(`${r.program} was not found: planned as a plain file (no set-id bits, no file capabilities)`);
    }
    if (r.bypass) {
      const asked = this.#restrictions();
      if (asked.length) {
        program?.close();
        throw new LaunchInputError(
          `--capabilities bypass=true runs the program with this process's credentials unchanged, so it cannot be combined with ${asked.join(", ")}`,
        );
      }
      const exec = simulate(start, { op: "execve", file: program?.file ?? {} }, { kernel: this.profile });
      return {
        ok: true,
        path,
        program,
        args,
        calls: [],
        steps: [{ verdict: exec, why: "run the program with this process's credentials (bypass)" }],
        start,
        predicted: exec.state,
        gid: exec.state.egid,
        groups: exec.state.groups,
        secureExec: exec.secureExec === true,
        nosuid: program?.nosuid ?? false,
        searched: 0,
        env: this.#env(null, start.euid, listen),
        keepFds: fds,
        warnings: [...warnings, `bypass: ${r.program} runs with this process's capabilities, unchanged`],
        bypass: true,
      };
    }
    const file: ExecFile = program?.file ?? {};
    const keep = r.keep ?? CapSet.EMPTY,
      ambient = r.ambient ?? CapSet.EMPTY,
      drop = r.drop ?? CapSet.EMPTY;
    const want = keep.union(ambient);
    if (!want.intersect(drop).isEmpty) {
      program?.close();
      throw new LaunchInputError(`--keep/--ambient and --drop both name ${want.intersect(drop).names().join(", ")}`);
    }
    let user: UserEntry | null = null,
      uid: number | undefined,
      gids: GidTarget | null,
      env: Record<string, string | undefined>;
    try {
      user = r.user !== undefined ? lookupUser(r.user) : null;
      // (lookupUser refuses a name it cannot find: without an entry, --user is a number)
      uid = r.user !== undefined ? (user?.uid ?? parseId(r.user, "--user")!) : undefined;
      gids = this.#gids(user, uid);
      env = this.#env(user, uid ?? start.euid, listen);
    } catch (e) {
      program?.close();
      throw e;
    }
    // The gid calls first, while CAP_SETGID is effective: setgroups, then setresgid.
    const gidOps: Op[] = [];
    if (gids?.groups) gidOps.push({ op: "setgroups", groups: [...gids.groups] });
    if (gids?.gid !== null && gids?.gid !== undefined)
      gidOps.push({ op: "setresgid", rgid: gids.gid, egid: gids.gid, sgid: gids.gid });
    const gidSteps = simulateSequence(start, gidOps, { kernel: this.profile });
    const refused = gidSteps.find((v) => !v.ok || !v.modelled);
    if (refused) {
      program?.close();
      return {
        ok: false,
        reasons: [`${describeOp(refused.op)}: ${refused.message}${refused.hint ? ` (${refused.hint})` : ""}`],
        searched: 0,
      };
    }
    const afterGids = gidSteps.at(-1)?.state ?? start;
    const calls: LaunchCall[] = gidSteps.map((v) => ({ kind: "op", op: v.op, label: describeOp(v.op) }));
    const target: PlanTarget = {
      ...(uid !== undefined && { uid }),
      // never more than asked: the program's permitted and effective sets are exactly these
      permitted: { exactly: want },
      effective: { exactly: want },
      ...(!ambient.isEmpty && { ambient: { include: ambient } }),
      bounding: r.bounding !== undefined ? { exactly: r.bounding } : { exclude: drop },
      ...(r.noNewPrivs && { noNewPrivs: true }),
      ...(r.securebits !== undefined && { securebits: { set: r.securebits } }),
      ...(r.noRegain && { cannotRegain: true }),
      file,
    };
    const p = plan(afterGids, target, { kernel: this.profile });
    if (!p.ok) {
      program?.close();
      return p;
    }
    for (const step of p.steps.slice(0, -1))
      calls.push({ kind: "op", op: step.verdict.op, label: describeOp(step.verdict.op) });
    const who = user?.name ?? "the user";
    const gidWhy = (op: Op) =>
      op.op === "setgroups"
        ? Array.isArray(r.groups) || r.groups === "clear"
          ? "the asked-for supplementary groups"
          : `${who}'s groups (like setpriv --init-groups)`
        : `${r.group !== undefined ? "the asked-for group" : `${who}'s primary group`}, before the uid changes (it needs CAP_SETGID)`;
    const exec = p.steps[p.steps.length - 1]!.verdict; // (a plan ends with its exec step)
    const predicted = p.final;
    if (program?.nosuid)
      warnings.push(`${r.program} is on a nosuid mount: its set-id bits and file capabilities are ignored`);
    const loader = LOADER_VARIABLES.filter((k) => env[k] !== undefined);
    if (loader.length && !predicted.permitted.isEmpty && exec.secureExec !== true)
      warnings.push(
        `warning: ${loader.join(", ")} reach${loader.length === 1 ? "es" : ""} ${r.program}, which starts with capabilities and without AT_SECURE, so the loader honours ${loader.length === 1 ? "it" : "them"}; unset ${loader.length === 1 ? "it" : "them"} or use --reset-env`,
      );
    return {
      ok: true,
      path,
      program,
      args,
      calls,
      steps: [...gidSteps.map((verdict) => ({ verdict, why: gidWhy(verdict.op) })), ...p.steps],
      start,
      predicted,
      gid: predicted.egid,
      groups: predicted.groups,
      secureExec: exec.secureExec === true,
      nosuid: program?.nosuid ?? false,
      searched: p.searched,
      env,
      keepFds: fds,
      warnings,
      bypass: false,
    };
  }

  /**
   * Applies the plan's calls, then replaces this process with the program, run through the
   * descriptor it was checked on. Returns only by throwing: LaunchRefused (a call failed; the
   * program was not run), ProgramError (planned as a plain file but not there) or ExecError.
   */
  /** A plan as `capgate exec --json` prints it (steps with their verdicts, the predicted state, warnings). */
  planJson(planned: LaunchPlan = this.plan()): Record<string, unknown> {
    if (!planned.ok)
      return { ...profileFields(this.profile), ok: false, reasons: planned.reasons, searched: planned.searched };
    return {
      ...profileFields(this.profile),
      ok: true,
      program: planned.path,
      steps: planned.steps.map((s) => ({ ...verdictJson(s.verdict), call: describeOp(s.verdict.op), why: s.why })),
      predicted: { text: formatCapText(planned.predicted, this.profile), ...stateJson(planned.predicted) },
      searched: planned.searched,
      warnings: planned.warnings,
    };
  }

  /**
   * A plan as a scenario document (`capgate exec --scenario`): its calls from the start state,
   * each expected to succeed with its rule, the exec with the predicted state; `capgate simulate`
   * and `capgate verify` replay it.
   */
  planScenario(planned: LaunchPlan = this.plan()): Record<string, unknown> {
    if (!planned.ok) throw new CapgateInputError(`no plan: ${planned.reasons.join("; ")}`);
    const doc = toScenario(
      this.profile.version,
      planned.start,
      planned.steps.map((s) => s.verdict.op),
      `capgate exec plan for ${this.request.program}`,
    ) as { steps: Array<Record<string, unknown>> };
    const { tid: _tid, ...final } = stateToScenario(planned.predicted);
    doc.steps.forEach((step, i) => {
      const planned_ = planned.steps[i]!; // (the document has one step per planned step)
      step["note"] = planned_.why;
      step["expect"] =
        i === planned.steps.length - 1 ? { ok: true, state: final } : { ok: true, rule: planned_.verdict.rule };
    });
    return doc;
  }

  launch(planned: LaunchPlan = this.plan()): never {
    if (!planned.ok)
      throw new LaunchRefused(
        0,
        { kind: "op", op: { op: "execve", file: {} }, label: "plan" },
        `found no plan: ${planned.reasons.join("; ")}`,
        null,
        [],
      );
    if (!planned.program) throw new ProgramError(127, `${this.request.program}: not found; nothing was run`);
    applyCalls(planned.calls, this.profile);
    return execProgram(planned.program, planned.args, planned.env, {
      keepFds: planned.keepFds,
      ignoredSignals: this.request.ignoredSignals ?? [],
    });
  }
}
