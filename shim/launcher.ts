// The Launcher (after libcap's cap.Launcher): apply a plan's calls to this (main) thread, each
// verified, then execve the program. The capability calls go through apply() (pre-flighted on
// the engine, read back, compared); the gid calls, which the engine does not model yet, are
// made raw on this thread and read back with getresgid/getgroups. Any refusal or surprise stops
// before the program runs, with the step, what the kernel said, and what had been applied.
import type { Op } from "../src/ops.js";
import { CapgateSystemError } from "../src/errors.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import { apply, ModelDivergence, RefusedByModel } from "./apply.js";
import { errnoText, readGids, setgroups, setresgid } from "./libc.js";
import { execProgram, type ExecSetup } from "./launch.js";

/** One call of a launch plan. `label` is how it is shown ("setresuid 1000 1000 1000"). */
export type LaunchCall =
  | { readonly kind: "setgroups"; readonly groups: readonly number[]; readonly label: string }
  | { readonly kind: "setresgid"; readonly rgid: number; readonly egid: number; readonly sgid: number; readonly label: string }
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
    const state = applied.length === 0 ? "the process is unchanged"
      : `the process is partly changed: step${applied.length > 1 ? `s 1-${applied.length}` : " 1"} (${applied.map((c) => c.label).join("; ")}) had been applied`;
    super(`step ${step} (${call.label}) ${reason}; the program was not run; ${state}`);
  }
}

function sameGroups(a: readonly number[], b: readonly number[]): boolean {
  const x = [...a].sort((p, q) => p - q), y = [...b].sort((p, q) => p - q);
  return x.length === y.length && x.every((g, i) => g === y[i]);
}

function run(call: LaunchCall, profile: KernelProfile): { reason: string; errno: number | null } | null {
  if (call.kind === "op") {
    try {
      apply(call.op, { profile });
      return null;
    } catch (e) {
      if (e instanceof RefusedByModel) return { reason: `refused by capgate's model: ${e.verdict.errno} (${e.verdict.rule}): ${e.verdict.message}`, errno: null };
      if (e instanceof ModelDivergence) {
        if (e.kernel.ret === -1) return { reason: `refused by the kernel: ${errnoText(e.kernel.errno)}`, errno: e.kernel.errno };
        return { reason: `was not what capgate predicted: ${e.differences.join("; ")}`, errno: null };
      }
      throw e;
    }
  }
  const r = call.kind === "setgroups" ? setgroups(call.groups) : setresgid(call.rgid, call.egid, call.sgid);
  if (r.ret === -1) return { reason: `refused by the kernel: ${errnoText(r.errno)}`, errno: r.errno };
  const now = readGids();
  if (call.kind === "setgroups" && !sameGroups(now.groups, call.groups)) {
    return { reason: `left the groups at ${now.groups.join(",") || "none"}, not ${call.groups.join(",") || "none"}`, errno: null };
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

/** Applies the calls, then replaces this process with the program (returns only by throwing). */
export function launch(calls: readonly LaunchCall[], profile: KernelProfile, path: string, argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>, setup: ExecSetup = {}): never {
  applyCalls(calls, profile);
  return execProgram(path, argv, env, setup);
}
