// The Launcher (after libcap's cap.Launcher): plan the calls that give a program exactly the
// asked-for credentials, apply them to this (main) thread, each verified, then execve it.
// Every call, the gid calls included, goes through apply() (pre-flighted on the engine, read
// back, compared). Any refusal or surprise stops before the program runs, with the step, what
// the kernel said, and what had been applied. `capgate exec` only parses flags for it.
import { statSync } from "node:fs";
import { CapSet } from "../src/capabilities/set.js";
import type { ExecFile, Op } from "../src/ops.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import type { ThreadState } from "../src/state.js";
import { CapgateSystemError } from "../src/errors.js";
import { plan, type PlanStep } from "../src/plan/planner.js";
import { simulateSequence } from "../src/simulate.js";
import { kernelId } from "../src/engine/userns-codec.js";
import type { PlanTarget } from "../src/plan/target.js";
import { describeOp } from "../src/formats/describe.js";
import { currentProfile, readThreadState } from "./thread-state.js";
import { getFileCaps, onNosuidMount } from "./files.js";
import { apply, ModelDivergence, RefusedByModel } from "./apply.js";
import { errnoText } from "./libc.js";
import { execProgram } from "./launch.js";

/** One call of a launch plan. `label` is how it is shown ("setresuid 1000 1000 1000"). */
export interface LaunchCall {
  readonly kind: "op";
  readonly op: Op;
  readonly label: string;
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

const S_ISUID = 0o4000,
  S_ISGID = 0o2000,
  S_IXGRP = 0o010;

/** What the program is to run with. Unset fields stay as this thread has them. */
export interface LaunchRequest {
  /** The program, as execve takes it (resolved: no PATH search here). */
  readonly path: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** All four uids. */
  readonly uid?: number;
  /** All four gids (setresgid). */
  readonly gid?: number;
  /** The supplementary groups, exactly (setgroups). */
  readonly groups?: readonly number[];
  /** Permitted and effective, exactly (default: nothing). */
  readonly keep?: CapSet;
  /** Ambient too (within keep). */
  readonly ambient?: CapSet;
  /** The bounding set, exactly; else `drop` is taken out of it. */
  readonly bounding?: CapSet;
  readonly drop?: CapSet;
  readonly noNewPrivs?: boolean;
  /** Securebits to set. */
  readonly securebits?: number;
  /** No later exec can give the program more. */
  readonly noRegain?: boolean;
  readonly keepFds?: readonly number[];
  readonly ignoredSignals?: readonly number[];
  /** Default: the running kernel's. */
  readonly profile?: KernelProfile;
  /** Plan for this file instead of inspecting `path` (a dry run of a program not installed yet). */
  readonly assumeFile?: ExecFile;
}

export type LaunchPlan =
  | {
      readonly ok: true;
      /** Every call, in order: the gid calls, then the engine's plan (without the final execve). */
      readonly calls: readonly LaunchCall[];
      /** The engine's plan, the execve included, each step with its verdict and why. */
      readonly steps: readonly PlanStep[];
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
    }
  | { readonly ok: false; readonly reasons: readonly string[]; readonly searched: number };

export class Launcher {
  readonly profile: KernelProfile;
  constructor(readonly request: LaunchRequest) {
    this.profile = request.profile ?? currentProfile();
  }

  /**
   * The file as execve will see it: its set-id bits (S_ISGID with S_IXGRP), owner and group (as
   * kernel ids), file capabilities, and whether its mount is nosuid (the engine then ignores the
   * rest, as the kernel does, which never reads the capabilities there).
   */
  #file(start: ThreadState): { file: ExecFile; nosuid: boolean } {
    if (this.request.assumeFile) return { file: this.request.assumeFile, nosuid: false };
    const path = this.request.path;
    const st = statSync(path);
    const nosuid = onNosuidMount(path);
    const caps = nosuid ? null : getFileCaps(path);
    return {
      file: {
        setuid: (st.mode & S_ISUID) !== 0,
        owner: kernelId(start.ns, st.uid, false),
        ...((st.mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP) && { setgid: true }),
        group: kernelId(start.ns, st.gid, true),
        ...(caps && { caps }),
        ...(nosuid && { nosuid }),
      },
      nosuid,
    };
  }

  /** Finds the calls, or the reasons none exist. Reads this thread and the file; changes nothing. */
  plan(start: ThreadState = readThreadState()): LaunchPlan {
    const r = this.request;
    const { file, nosuid } = this.#file(start);
    // The gid calls first, while CAP_SETGID is effective: setgroups, then setresgid.
    const gidOps: Op[] = [];
    if (r.groups) gidOps.push({ op: "setgroups", groups: [...r.groups] });
    if (r.gid !== undefined) gidOps.push({ op: "setresgid", rgid: r.gid, egid: r.gid, sgid: r.gid });
    const gidSteps = simulateSequence(start, gidOps, { kernel: this.profile });
    const refused = gidSteps.find((v) => !v.ok || !v.modelled);
    if (refused)
      return {
        ok: false,
        reasons: [`${describeOp(refused.op)}: ${refused.message}${refused.hint ? ` (${refused.hint})` : ""}`],
        searched: 0,
      };
    const afterGids = gidSteps.length ? gidSteps[gidSteps.length - 1]!.state : start;
    const calls: LaunchCall[] = gidSteps.map((v) => ({ kind: "op", op: v.op, label: describeOp(v.op) }));
    const want = (r.keep ?? CapSet.EMPTY).union(r.ambient ?? CapSet.EMPTY);
    const target: PlanTarget = {
      ...(r.uid !== undefined && { uid: r.uid }),
      // never more than asked: the program's permitted and effective sets are exactly these
      permitted: { exactly: want },
      effective: { exactly: want },
      ...(r.ambient && !r.ambient.isEmpty && { ambient: { include: r.ambient } }),
      bounding: r.bounding !== undefined ? { exactly: r.bounding } : { exclude: r.drop ?? CapSet.EMPTY },
      ...(r.noNewPrivs && { noNewPrivs: true }),
      ...(r.securebits !== undefined && { securebits: { set: r.securebits } }),
      ...(r.noRegain && { cannotRegain: true }),
      file,
    };
    const p = plan(afterGids, target, { kernel: this.profile });
    if (!p.ok) return p;
    for (const step of p.steps.slice(0, -1))
      calls.push({ kind: "op", op: step.verdict.op as Op, label: describeOp(step.verdict.op) });
    const gidWhy = (op: Op) =>
      op.op === "setgroups"
        ? "the asked-for supplementary groups"
        : "the asked-for gid, before the uid changes (it needs CAP_SETGID)";
    return {
      ok: true,
      calls,
      steps: [...gidSteps.map((verdict) => ({ verdict, why: gidWhy(verdict.op) })), ...p.steps],
      start,
      predicted: p.final,
      gid: p.final.egid,
      groups: p.final.groups,
      secureExec: p.steps[p.steps.length - 1]!.verdict.secureExec === true,
      nosuid,
      searched: p.searched,
    };
  }

  /**
   * Applies the plan's calls, then replaces this process with the program. Returns only by
   * throwing: LaunchRefused (a call failed; the program was not run) or ExecError.
   */
  launch(planned: LaunchPlan = this.plan()): never {
    if (!planned.ok)
      throw new LaunchRefused(
        0,
        { kind: "op", op: { op: "execve", file: {} }, label: "plan" },
        `found no plan: ${planned.reasons.join("; ")}`,
        null,
        [],
      );
    applyCalls(planned.calls, this.profile);
    return execProgram(this.request.path, this.request.argv, this.request.env, {
      keepFds: this.request.keepFds ?? [],
      ignoredSignals: this.request.ignoredSignals ?? [],
    });
  }
}
