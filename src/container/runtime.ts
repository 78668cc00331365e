// What the runtime does with the OCI process section, as the system calls it makes, in its
// order: runc 1.1 (Debian 12's 1.1.5), libcontainer/standard_init_linux.go Init and
// init_linux.go finalizeNamespace/setupUser, with the vendored gocapability package doing the
// capability calls. Each step is an engine op, so each gets the kernel's own verdict.
import { CapSet } from "../capabilities/set.js";
import { AMBIENT_SUBOP, PRCTL } from "../kernel/constants.js";
import type { KernelProfile } from "../kernel/profiles.js";
import type { Op } from "../ops.js";
import { threadState, type ThreadState } from "../state.js";
import type { Entrypoint, OciProcess } from "./engines.js";

/** One call the runtime makes, and what it does when the call fails. */
export interface RuntimeStep {
  /** The runtime's own words for the step (its function, as in its error messages). */
  readonly step: string;
  readonly op: Op;
  /**
   * What a failure does: "fail" (the runtime stops; the container does not start), "ignore"
   * (the runtime goes on as if it had worked: runc ignores EINVAL of a bounding drop, and every
   * ambient error, see below).
   */
  readonly onError: "fail" | "ignore";
}

/**
 * The state runc's init starts in: root with every capability the runtime's caller holds
 * (here: a root shell, every capability of the kernel; inheritable and ambient empty).
 */
export function runtimeStart(profile: KernelProfile, caller?: Partial<ThreadState>): ThreadState {
  return threadState(
    {
      uid: 0,
      gid: 0,
      permitted: profile.all,
      effective: profile.all,
      bounding: profile.all,
      inheritable: CapSet.EMPTY,
      ambient: CapSet.EMPTY,
      groups: [],
      ...caller,
    },
    profile,
  );
}

/**
 * runc's calls, in order:
 * 1. `prctl(PR_SET_NO_NEW_PRIVS, 1)` when noNewPrivileges (standard_init_linux.go, before
 *    finalizeNamespace);
 * 2. finalizeNamespace: ApplyBoundingSet, which (gocapability capsV3.Apply) drops each
 *    capability 0..cap_last_cap not in `bounding` with PR_CAPBSET_DROP when CAP_SETPCAP is
 *    effective, ignoring EINVAL;
 * 3. `prctl(PR_SET_KEEPCAPS, 1)` (system.SetKeepCaps) so that setuid keeps permitted;
 * 4. setupUser: setgroups(additionalGids, each once) (runc passes "uid:gid", so the image's /etc/group adds
 *    nothing), setgid(gid), setuid(uid) (raw syscalls: all four ids);
 * 5. `prctl(PR_SET_KEEPCAPS, 0)` (system.ClearKeepCaps);
 * 6. ApplyCaps: capset(effective, permitted, inheritable), then PR_CAP_AMBIENT RAISE for each
 *    capability in `ambient` and LOWER for every other one, 0..cap_last_cap. runc 1.1's
 *    gocapability declares the loop's error with `:=`, so an ambient raise the kernel refuses
 *    (a capability not both permitted and inheritable) is ignored, not reported: measured with
 *    runc 1.1.5, the container starts without it;
 * 7. execve(args[0]) (system.Exec after exec.LookPath).
 */
export function runcSteps(p: OciProcess, entry: Entrypoint, profile: KernelProfile): RuntimeStep[] {
  const steps: RuntimeStep[] = [];
  const prctl = (option: number, arg2 = 0, arg3 = 0): Op => ({ op: "prctl", option, arg2, arg3, arg4: 0, arg5: 0 });
  if (p.noNewPrivileges)
    steps.push({ step: "prctl(PR_SET_NO_NEW_PRIVS)", op: prctl(PRCTL.PR_SET_NO_NEW_PRIVS, 1), onError: "fail" });
  for (let cap = 0; cap <= profile.lastCap; cap++)
    if (!p.capabilities.bounding.has(cap))
      steps.push({
        step: "unable to apply bounding set",
        op: prctl(PRCTL.PR_CAPBSET_DROP, cap),
        onError: "fail",
      });
  steps.push({ step: "unable to set keep caps", op: prctl(PRCTL.PR_SET_KEEPCAPS, 1), onError: "fail" });
  steps.push({
    step: "unable to setup user: setgroups",
    // user.GetAdditionalGroupsPath collects the gids in a map: each once
    op: { op: "setgroups", groups: [...new Set(p.user.additionalGids)] },
    onError: "fail",
  });
  steps.push({ step: "unable to setup user: setgid", op: { op: "setgid", gid: p.user.gid }, onError: "fail" });
  steps.push({ step: "unable to setup user: setuid", op: { op: "setuid", uid: p.user.uid }, onError: "fail" });
  steps.push({ step: "unable to clear keep caps", op: prctl(PRCTL.PR_SET_KEEPCAPS, 0), onError: "fail" });
  steps.push({
    step: "unable to apply caps: capset",
    op: {
      op: "capset",
      effective: p.capabilities.effective,
      permitted: p.capabilities.permitted,
      inheritable: p.capabilities.inheritable,
    },
    onError: "fail",
  });
  for (let cap = 0; cap <= profile.lastCap; cap++) {
    const raise = p.capabilities.ambient.has(cap);
    steps.push({
      step: raise ? "ambient raise (errors ignored by runc 1.1)" : "ambient lower",
      op: prctl(
        PRCTL.PR_CAP_AMBIENT,
        raise ? AMBIENT_SUBOP.PR_CAP_AMBIENT_RAISE : AMBIENT_SUBOP.PR_CAP_AMBIENT_LOWER,
        cap,
      ),
      onError: "ignore",
    });
  }
  steps.push({ step: "exec", op: { op: "execve", file: entry.file }, onError: "fail" });
  return steps;
}

/** gocapability ignores EINVAL of a bounding drop (a capability this kernel lacks). */
export function ignoredError(step: RuntimeStep, errno: string | null): boolean {
  if (step.onError === "ignore") return true;
  return step.op.op === "prctl" && step.op.option === PRCTL.PR_CAPBSET_DROP && errno === "EINVAL";
}
