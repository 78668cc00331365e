// The Launcher (after libcap's cap.Launcher): plan the calls that give a program exactly the
// asked-for credentials, apply them to this (main) thread, each verified, then execve it.
// The capability calls go through apply() (pre-flighted on the engine, read back, compared);
// the gid calls, which the engine does not model yet, are made raw on this thread and read back
// with getresgid/getgroups. Any refusal or surprise stops before the program runs, with the
// step, what the kernel said, and what had been applied. `capgate exec` only parses flags for it.
import { statSync } from "node:fs";
import { CapSet } from "../src/capabilities/set.js";
import { CAP } from "../src/capabilities/table.js";
import type { ExecFile, Op } from "../src/ops.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import type { ThreadState } from "../src/state.js";
import { CapgateSystemError } from "../src/errors.js";
import { plan, type PlanStep } from "../src/plan/planner.js";
import type { PlanTarget } from "../src/plan/target.js";
import { describeOp } from "../src/formats/describe.js";
import { currentProfile, readThreadState } from "./thread-state.js";
import { getFileCaps, onNosuidMount } from "./files.js";
import { apply, ModelDivergence, RefusedByModel } from "./apply.js";
import { errnoText, readGids, setgroups, setresgid, type Gids } from "./libc.js";
import { execProgram } from "./launch.js";

/** One call of a launch plan. `label` is how it is shown ("setresuid 1000 1000 1000"). */
export type LaunchCall =
  | { readonly kind: "setgroups"; readonly groups: readonly number[]; readonly label: string }
  | {
      readonly kind: "setresgid";
      readonly rgid: number;
      readonly egid: number;
      readonly sgid: number;
      readonly label: string;
    }
  | { readonly kind: "op"; readonly op: Op; readonly label: string };

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

function sameGroups(a: readonly number[], b: readonly number[]): boolean {
  const x = [...a].sort((p, q) => p - q),
    y = [...b].sort((p, q) => p - q);
  return x.length === y.length && x.every((g, i) => g === y[i]);
}

function run(call: LaunchCall, profile: KernelProfile): { reason: string; errno: number | null } | null {
  if (call.kind === "op") {
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
  const r = call.kind === "setgroups" ? setgroups(call.groups) : setresgid(call.rgid, call.egid, call.sgid);
  if (r.ret === -1) return { reason: `refused by the kernel: ${errnoText(r.errno)}`, errno: r.errno };
  const now = readGids();
  if (call.kind === "setgroups" && !sameGroups(now.groups, call.groups)) {
    return {
      reason: `left the groups at ${now.groups.join(",") || "none"}, not ${call.groups.join(",") || "none"}`,
      errno: null,
    };
  }
  if (call.kind === "setresgid" && (now.rgid !== call.rgid || now.egid !== call.egid || now.sgid !== call.sgid)) {
    return { reason: `left the gids at ${now.rgid} ${now.egid} ${now.sgid}`, errno: null };
  }
  return null;
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

  /** The file as execve will see it: set-id bits and file capabilities do nothing on a nosuid mount. */
  #file(): { file: ExecFile; nosuid: boolean; setgid: number | null } {
    if (this.request.assumeFile) return { file: this.request.assumeFile, nosuid: false, setgid: null };
    const path = this.request.path;
    const st = statSync(path);
    const nosuid = onNosuidMount(path);
    const caps = nosuid ? null : getFileCaps(path);
    const setgid = !nosuid && (st.mode & S_ISGID) !== 0 && (st.mode & S_IXGRP) !== 0 ? st.gid : null;
    return {
      file: { setuid: !nosuid && (st.mode & S_ISUID) !== 0, owner: st.uid, ...(caps && { caps }) },
      nosuid,
      setgid,
    };
  }

  /** Finds the calls, or the reasons none exist. Reads this thread and the file; changes nothing. */
  plan(start: ThreadState = readThreadState(), gids: Gids = readGids()): LaunchPlan {
    const r = this.request;
    const { file, nosuid, setgid } = this.#file();
    const gid = r.gid ?? gids.egid;
    const reasons: string[] = [];
    if (setgid !== null && setgid !== gid) {
      reasons.push(
        `${r.path} is set-gid (group ${setgid}): execve would change the egid from ${gid} to ${setgid} and clear the ambient set, which capgate does not model yet`,
      );
    }
    const calls: LaunchCall[] = [];
    if (r.groups)
      calls.push({ kind: "setgroups", groups: [...r.groups], label: `setgroups ${r.groups.join(",") || "(none)"}` });
    if (r.gid !== undefined)
      calls.push({
        kind: "setresgid",
        rgid: r.gid,
        egid: r.gid,
        sgid: r.gid,
        label: `setresgid ${r.gid} ${r.gid} ${r.gid}`,
      });
    if (calls.length && !start.effective.has(CAP.SETGID)) {
      const own = [gids.rgid, gids.egid, gids.sgid];
      // setgroups always needs CAP_SETGID; setresgid only to reach an id that is not one's own (__sys_setresgid)
      if (r.groups) reasons.push("setting the supplementary groups needs CAP_SETGID in the effective set");
      else if (r.gid !== undefined && !own.includes(r.gid))
        reasons.push(
          `changing the gid to ${r.gid} needs CAP_SETGID in the effective set (without it only ${own.join(", ")} are allowed)`,
        );
    }
    if (reasons.length) return { ok: false, reasons, searched: 0 };
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
    const p = plan(start, target, { kernel: this.profile });
    if (!p.ok) return p;
    for (const step of p.steps.slice(0, -1))
      calls.push({ kind: "op", op: step.verdict.op as Op, label: describeOp(step.verdict.op) });
    return {
      ok: true,
      calls,
      steps: p.steps,
      start,
      predicted: p.final,
      gid,
      groups: r.groups ?? gids.groups,
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
