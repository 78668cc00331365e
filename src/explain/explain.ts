// Explain a change before making it: the calls a launcher makes for a request (capset, bounding,
// ambient, keep-caps, securebits, ids, no_new_privs, exec), in that order, and the kernel's
// verdict for each, up to the first refusal (a script would not go on either). `capgate explain`
// is this with its flags parsed and its answer rendered; explanationJson is its --json output.
import type { CapSet } from "../capabilities/set.js";
import { profileFields, type KernelProfile } from "../kernel/profiles.js";
import { PRCTL, AMBIENT_SUBOP } from "../kernel/constants.js";
import { requireState, type ThreadState } from "../state.js";
import { simulateSequence, profileOf, Verdict, type SimulateOptions } from "../simulate.js";
import type { ExecFile, Op } from "../ops.js";
import { formatCapText } from "../formats/libcap-text.js";
import { stateJson, verdictJson } from "../scenario/run.js";
import { ArgumentError, argCapSet, argInteger, argObject, argProfile, argText, isList } from "../args.js";

/** The three sets of a capset call. */
export interface CapsetSets {
  readonly effective: CapSet;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
}

/** A change to explain: each part optional, made in the order of the fields. */
export interface ChangeRequest {
  /** capset with these sets. */
  readonly capset?: CapsetSets;
  /** capset that removes these from effective, permitted and inheritable (after `capset`, if both). */
  readonly drop?: CapSet;
  /** PR_CAPBSET_DROP of each. */
  readonly boundingDrop?: CapSet;
  /** PR_CAP_AMBIENT_RAISE of each. */
  readonly ambientRaise?: CapSet;
  /** PR_CAP_AMBIENT_LOWER of each. */
  readonly ambientLower?: CapSet;
  /** PR_SET_SECUREBITS to this value. */
  readonly securebits?: number;
  /** PR_SET_KEEPCAPS 1. */
  readonly keepCaps?: boolean;
  /** setuid(uid); -1 is (uid_t)-1. */
  readonly setuid?: number;
  /** setresuid(ruid, euid, suid); -1 leaves one unchanged. */
  readonly setresuid?: readonly [number, number, number];
  /** PR_SET_NO_NEW_PRIVS 1. */
  readonly noNewPrivs?: boolean;
  /** execve of this file (capgate/shim's openProgram reads a real one). */
  readonly exec?: ExecFile;
}

export interface Explanation {
  readonly profile: KernelProfile;
  readonly start: ThreadState;
  /** Every call of the request, in order. */
  readonly ops: readonly Op[];
  /** The verdicts, up to and including the first refusal. */
  readonly steps: readonly Verdict[];
  /** Every call would succeed. */
  readonly ok: boolean;
  /** The index of the refused call, or -1. */
  readonly refused: number;
  /** The state after the last step shown. */
  readonly final: ThreadState;
}

/** An id argument: 0..4294967294, or -1 for (uid_t)-1. */
function idArg(v: unknown, where: string): number {
  const n = argInteger(v, where, -1, 0xfffffffe);
  return n === -1 ? 0xffffffff : n;
}

/** The calls a launcher makes for `request` from `start`, in its order. */
export function changeOps(request: ChangeRequest, start: ThreadState): Op[] {
  const r = argObject<ChangeRequest>(request, "changeOps: the request");
  requireState(start, "changeOps");
  const set = (v: unknown, name: string): CapSet => argCapSet(v, `changeOps: ${name}`);
  const ops: Op[] = [];
  let sets: CapsetSets = start;
  if (r.capset !== undefined) {
    const c = argObject<CapsetSets>(r.capset, "changeOps: capset");
    sets = {
      effective: set(c.effective, "capset.effective"),
      permitted: set(c.permitted, "capset.permitted"),
      inheritable: set(c.inheritable, "capset.inheritable"),
    };
    ops.push({ op: "capset", ...sets });
  }
  if (r.drop !== undefined) {
    const d = set(r.drop, "drop");
    sets = {
      effective: sets.effective.difference(d),
      permitted: sets.permitted.difference(d),
      inheritable: sets.inheritable.difference(d),
    };
    ops.push({ op: "capset", ...sets });
  }
  if (r.boundingDrop !== undefined)
    for (const cap of set(r.boundingDrop, "boundingDrop"))
      ops.push({ op: "prctl", option: PRCTL.PR_CAPBSET_DROP, arg2: cap });
  if (r.ambientRaise !== undefined)
    for (const cap of set(r.ambientRaise, "ambientRaise"))
      ops.push({ op: "prctl", option: PRCTL.PR_CAP_AMBIENT, arg2: AMBIENT_SUBOP.PR_CAP_AMBIENT_RAISE, arg3: cap });
  if (r.ambientLower !== undefined)
    for (const cap of set(r.ambientLower, "ambientLower"))
      ops.push({ op: "prctl", option: PRCTL.PR_CAP_AMBIENT, arg2: AMBIENT_SUBOP.PR_CAP_AMBIENT_LOWER, arg3: cap });
  if (r.securebits !== undefined)
    ops.push({
      op: "prctl",
      option: PRCTL.PR_SET_SECUREBITS,
      arg2: argInteger(r.securebits, "changeOps: securebits", 0, 0xffffffff),
    });
  if (r.keepCaps) ops.push({ op: "prctl", option: PRCTL.PR_SET_KEEPCAPS, arg2: 1 });
  if (r.setuid !== undefined) ops.push({ op: "setuid", uid: idArg(r.setuid, "changeOps: setuid") });
  if (r.setresuid !== undefined) {
    if (!Array.isArray(r.setresuid) || r.setresuid.length !== 3)
      throw new ArgumentError("changeOps: setresuid must be [ruid, euid, suid]");
    const [ruid, euid, suid] = r.setresuid.map((id, i) => idArg(id, `changeOps: setresuid[${i}]`));
    ops.push({ op: "setresuid", ruid: ruid ?? 0, euid: euid ?? 0, suid: suid ?? 0 });
  }
  if (r.noNewPrivs) ops.push({ op: "prctl", option: PRCTL.PR_SET_NO_NEW_PRIVS, arg2: 1 });
  if (r.exec !== undefined)
    ops.push({ op: "execve", file: { setuid: false, owner: 0, ...argObject<ExecFile>(r.exec, "changeOps: exec") } });
  return ops;
}

/** The verdicts of `request` from `start`, up to the first refusal. */
export function explain(start: ThreadState, request: ChangeRequest, options: SimulateOptions = {}): Explanation {
  const profile = profileOf(argObject<SimulateOptions>(options, "explain: the options"));
  const ops = changeOps(request, start);
  if (!ops.length) throw new ArgumentError("explain: the request asks for no change");
  const verdicts = simulateSequence(start, ops, { kernel: profile });
  const refused = verdicts.findIndex((v) => !v.ok);
  const steps = refused === -1 ? verdicts : verdicts.slice(0, refused + 1);
  return {
    profile,
    start,
    ops,
    steps,
    ok: refused === -1,
    refused,
    final: steps.at(-1)?.state ?? start,
  };
}

/** An explanation as `capgate explain --json` prints it; `from` says where the start state came from. */
export function explanationJson(e: Explanation, from: string): Record<string, unknown> {
  argObject(e, "explanationJson: the explanation");
  argProfile(e.profile, "explanationJson: explanation.profile");
  if (!isList(e.steps) || !e.steps.every((v) => v instanceof Verdict))
    throw new ArgumentError("explanationJson: expected an explanation (explain makes one)");
  requireState(e.final, "explanationJson");
  argText(from, "explanationJson: from");
  return {
    ...profileFields(e.profile),
    from,
    ok: e.ok,
    steps: e.steps.map(verdictJson),
    final: { text: formatCapText(e.final, e.profile), ...stateJson(e.final) },
  };
}
