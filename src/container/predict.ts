// A container's process, predicted: the engine's OCI process section (engines.ts), the
// runtime's calls (runtime.ts) and the entrypoint's execve, each judged by the engine as the
// kernel would; then, for every capability that was asked for and is not effective in the
// process, why not and what would give it.
import { CapSet } from "../capabilities/set.js";
import { capabilityInfo, capabilityNumber } from "../capabilities/table.js";
import { kernelProfile, profileFields, type KernelProfile } from "../kernel/profiles.js";
import { simulateSequence, type Verdict } from "../simulate.js";
import type { ThreadState } from "../state.js";
import { stateJson, verdictJson } from "../scenario/run.js";
import { toScenario } from "../scenario/emit.js";
import { describeOp } from "../formats/describe.js";
import { formatCapText } from "../formats/libcap-text.js";
import {
  enginePlan,
  ociNames,
  OCI_CAP_LISTS,
  type Decision,
  type EngineName,
  type EngineRequest,
  type Entrypoint,
  type OciProcess,
} from "./engines.js";
import { NO_ACCOUNTS, type Accounts } from "./accounts.js";
import { ignoredError, runcSteps, runtimeStart } from "./runtime.js";
import type { RuntimeName } from "./engines.js";

/** What to predict: an engine request (Docker, Compose, Kubernetes) or an OCI process as given. */
export type ContainerSource =
  { readonly kind: "engine"; readonly request: EngineRequest } | { readonly kind: "oci"; readonly process: OciProcess };

export interface ContainerInput {
  /** Where it came from (a file name, "docker run"). */
  readonly file: string;
  /** The container's name (Kubernetes container name, Compose service, the OCI hostname or "process"). */
  readonly name: string;
  readonly source: ContainerSource;
  /** The entrypoint's file; default: a plain program (no set-id bits, no file capabilities). */
  readonly entrypoint?: Entrypoint | undefined;
  /** The image's /etc/passwd and /etc/group; default: none. */
  readonly accounts?: Accounts | undefined;
  /** What the runtime's caller holds; default: a root shell with every capability. */
  readonly caller?: Partial<ThreadState> | undefined;
  /** The capabilities the user asked for (default: cap_add / capabilities.add, or the OCI effective and ambient lists). */
  readonly asked?: CapSet | undefined;
}

export interface ContainerStep {
  readonly step: string;
  readonly verdict: Verdict;
  /** The call failed and the runtime went on (runc ignores it). */
  readonly ignored: boolean;
}

export interface MissingCapability {
  readonly capability: string;
  readonly reason: string;
  readonly fixes: readonly string[];
}

export interface ContainerPrediction {
  readonly file: string;
  readonly name: string;
  readonly engine: EngineName | "oci";
  readonly runtime: RuntimeName;
  readonly profile: KernelProfile;
  readonly oci: OciProcess;
  readonly decisions: readonly Decision[];
  readonly entrypoint: Entrypoint;
  readonly steps: readonly ContainerStep[];
  /** The process after execve; null when the container does not start. */
  readonly state: ThreadState | null;
  /** Why it does not start: the engine's refusal, or the runtime step that failed. */
  readonly failed: { readonly step: string; readonly message: string } | null;
  /** A step outside the model: the state after it is unknown. */
  readonly notModelled: string | null;
  readonly asked: CapSet;
  readonly missing: readonly MissingCapability[];
}

export const PLAIN_ENTRYPOINT: Entrypoint = Object.freeze({ path: null, file: Object.freeze({}), known: false });

/** Predicts one container's process. */
export function predictContainer(input: ContainerInput, profile: KernelProfile = kernelProfile()): ContainerPrediction {
  const engine: EngineName | "oci" = input.source.kind === "engine" ? input.source.request.engine : "oci";
  const plan =
    input.source.kind === "engine"
      ? enginePlan(input.source.request, input.accounts ?? NO_ACCOUNTS, profile)
      : { process: input.source.process, decisions: [], refused: null };
  const oci = plan.process;
  const entry = input.entrypoint ?? { ...PLAIN_ENTRYPOINT, path: oci.args[0] ?? null };
  const asked =
    input.asked ??
    (input.source.kind === "engine"
      ? askedOf(input.source.request, profile)
      : oci.capabilities.effective.union(oci.capabilities.ambient));
  const base = {
    file: input.file,
    name: input.name,
    engine,
    runtime: "runc" as const,
    profile,
    oci,
    decisions: plan.decisions,
    entrypoint: entry,
    asked,
  };
  if (plan.refused !== null) {
    const failed = { step: `${engine}: refused`, message: plan.refused };
    return { ...base, steps: [], state: null, failed, notModelled: null, missing: missingAll(asked, failed.message) };
  }
  const runtimeSteps = runcSteps(oci, entry, profile);
  const verdicts = simulateSequence(
    runtimeStart(profile, input.caller),
    runtimeSteps.map((s) => s.op),
    { kernel: profile },
  );
  const steps: ContainerStep[] = [];
  let failed: ContainerPrediction["failed"] = null;
  let notModelled: string | null = null;
  for (let i = 0; i < runtimeSteps.length; i++) {
    const step = runtimeSteps[i]!, // (one verdict per step)
      verdict = verdicts[i]!;
    const ignored = verdict.modelled && !verdict.ok && ignoredError(step, verdict.errno);
    steps.push({ step: step.step, verdict, ignored });
    if (!verdict.modelled) {
      notModelled = `${step.step}: ${verdict.message}`;
      break;
    }
    if (!verdict.ok && !ignored) {
      failed = { step: step.step, message: `${verdict.errno ?? "error"}: ${verdict.message}` };
      break;
    }
  }
  const state = failed || notModelled ? null : (steps.at(-1)?.verdict.state ?? null);
  const missing = failed
    ? missingAll(asked, `the container does not start (${failed.step})`)
    : state
      ? missingOf(asked, state, oci, entry, engine)
      : [];
  return { ...base, steps, state, failed, notModelled, missing };
}

/** The capabilities a request asks for by name: its adds (ALL: every one), or all when privileged. */
function askedOf(req: EngineRequest, profile: KernelProfile): CapSet {
  if (req.privileged) return profile.all;
  let set = CapSet.EMPTY;
  for (const t of req.capAdd ?? []) {
    if (t.toUpperCase() === "ALL") return profile.all;
    const n = capabilityNumber(t);
    if (n !== undefined && n <= profile.lastCap) set = set.with(n);
  }
  return set;
}
function missingAll(asked: CapSet, reason: string): MissingCapability[] {
  return [...asked].map((n) => ({ capability: capabilityInfo(n).name, reason, fixes: [] }));
}

/**
 * Why an asked-for capability is not effective in the final state, in the order the kernel
 * decides it: not in bounding (the list dropped it), then what execve gave (a non-root user
 * gets only ambient and file capabilities; no_new_privs keeps file capabilities to what the
 * runtime left permitted), then permitted without effective (the program must raise it).
 */
function missingOf(
  asked: CapSet,
  state: ThreadState,
  oci: OciProcess,
  entry: Entrypoint,
  engine: EngineName | "oci",
): MissingCapability[] {
  const out: MissingCapability[] = [];
  const fileCaps = entry.file.nosuid ? undefined : entry.file.caps;
  const rootRun = state.euid === 0;
  const where = entry.path ?? "the entrypoint";
  const rootFix = (short: string) =>
    engine === "containerd"
      ? `run as root with a reduced set: runAsUser: 0, capabilities: {drop: [ALL], add: [${short}]}`
      : engine === "oci"
        ? `run as root with a reduced set: process.user.uid 0 and ${"CAP_" + short} alone in the capability lists`
        : `run as root with a reduced set: user: "0" (docker run --user 0), cap_drop: [ALL], cap_add: [${short}]`;
  const ambientFix = (n: number, short: string) =>
    engine === "docker" || engine === "containerd"
      ? `${engine === "docker" ? "Docker" : "Kubernetes"} cannot set ambient capabilities; a runtime config (OCI process.capabilities.ambient, inheritable and permitted) or Podman (which puts cap-add in ambient for a non-root user) can`
      : oci.capabilities.ambient.has(n)
        ? `add CAP_${short} to process.capabilities.inheritable and permitted too: an ambient capability must be both`
        : `list CAP_${short} in process.capabilities.ambient, inheritable, permitted and bounding`;
  for (const n of asked) {
    if (state.effective.has(n)) continue;
    const name = capabilityInfo(n).name;
    const short = name.slice(4);
    let reason: string;
    const fixes: string[] = [];
    if (!state.bounding.has(n)) {
      reason = `${name} is not in the bounding set: the runtime dropped it (it is not in the container's capability list), and nothing can bring it back`;
      fixes.push(
        engine === "containerd"
          ? `capabilities.add: [${short}] (and not in capabilities.drop)`
          : engine === "oci"
            ? "add it to process.capabilities.bounding"
            : `cap_add: ${short} (and not in cap_drop)`,
      );
    } else if (!state.permitted.has(n)) {
      if (rootRun) {
        reason = `${name} is not permitted although the process runs as root`;
      } else if (oci.noNewPrivileges && fileCaps?.permitted.has(n) && !oci.capabilities.permitted.has(n)) {
        reason = `no_new_privs is set, so execve gives ${where}'s file capability ${name} only if the runtime left it permitted, and it did not (${engine === "docker" ? "Docker hands a non-root user an empty permitted set" : "it is not in process.capabilities.permitted"})`;
        fixes.push(
          engine === "containerd" ? "allowPrivilegeEscalation: true (or leave it unset)" : "drop no-new-privileges",
        );
        fixes.push(rootFix(short));
      } else {
        reason =
          `the process runs as uid ${state.euid}: execve gives a non-root process only its ambient capabilities and ` +
          `its file's capabilities, and ${fileCaps ? `${where}'s file capabilities do not include ${name}` : `${where} has no file capabilities`}` +
          `${oci.capabilities.ambient.has(n) ? "" : " and ambient is empty"}` +
          `${oci.capabilities.ambient.has(n) && !oci.capabilities.inheritable.has(n) ? ` (runc's ambient raise failed: an ambient capability must be permitted and inheritable, and runc 1.1 ignores the error)` : ""}`;
        fixes.push(
          `a file capability on the program: setcap cap_${short.toLowerCase()}+ep ${entry.path ?? "PROGRAM"} in the image${oci.noNewPrivileges ? (engine === "containerd" ? " (and allowPrivilegeEscalation not false)" : " (and no no-new-privileges)") : ""}`,
        );
        fixes.push(rootFix(short));
        fixes.push(ambientFix(n, short));
      }
    } else {
      reason = `${name} is permitted but not effective: ${fileCaps && !fileCaps.effective ? `${where}'s file capabilities lack the effective bit (+e), so` : ""} the program must raise it itself (capset) before it can use it`;
      fixes.push(
        `setcap cap_${short.toLowerCase()}+ep (with +e) on the program, or raise it in the program (cap_set_proc)`,
      );
    }
    out.push({ capability: name, reason: reason.replace(/: {2}/, ": "), fixes });
  }
  return out;
}

/** The prediction as `capgate container --json` prints it (one element of the array). */
export function containerJson(p: ContainerPrediction): Record<string, unknown> {
  return {
    file: p.file,
    name: p.name,
    engine: p.engine,
    runtime: p.runtime,
    ...profileFields(p.profile),
    oci: {
      user: { uid: p.oci.user.uid, gid: p.oci.user.gid, additionalGids: p.oci.user.additionalGids },
      capabilities: Object.fromEntries(OCI_CAP_LISTS.map((l) => [l, ociNames(p.oci.capabilities[l])])),
      noNewPrivileges: p.oci.noNewPrivileges,
      args: p.oci.args,
    },
    decisions: p.decisions,
    entrypoint: { path: p.entrypoint.path, known: p.entrypoint.known },
    steps: p.steps.map((s) => ({ step: s.step, ...verdictJson(s.verdict), ...(s.ignored ? { ignored: true } : {}) })),
    state: p.state ? stateJson(p.state) : null,
    failed: p.failed,
    notModelled: p.notModelled,
    missing: p.missing,
  };
}

/** The prediction as text: the OCI process with sources, the runtime's calls, the final state, what is missing. */
export function containerText(p: ContainerPrediction, safe: (text: string) => string = (t) => t): string {
  const lines: string[] = [];
  lines.push(
    `${safe(p.file)}: ${safe(p.name)} (${p.engine === "oci" ? "OCI config" : p.engine}, runtime ${p.runtime})`,
  );
  const u = p.oci.user;
  lines.push(
    `  OCI process: uid ${u.uid} gid ${u.gid} additionalGids [${u.additionalGids.join(", ")}]${p.oci.noNewPrivileges ? ", noNewPrivileges" : ""}`,
  );
  for (const l of OCI_CAP_LISTS)
    lines.push(`    ${l.padEnd(11)} ${ociNames(p.oci.capabilities[l]).join(", ") || "(none)"}`);
  for (const d of p.decisions) lines.push(`    ${d.field}: ${safe(d.source)}`);
  if (p.steps.length) {
    lines.push(`  runtime calls:`);
    let drops = 0,
      lowers = 0;
    for (const s of p.steps) {
      const op = s.verdict.op;
      // the runs of bounding drops and ambient lowers that succeed are counted, not listed
      if (s.verdict.ok && op.op === "prctl" && s.step === "unable to apply bounding set") {
        drops++;
        continue;
      }
      if (s.verdict.ok && op.op === "prctl" && s.step === "ambient lower") {
        lowers++;
        continue;
      }
      const outcome = s.verdict.ok
        ? "ok"
        : `${s.verdict.errno ?? "not modelled"}${s.ignored ? " (ignored by runc)" : ""}: ${s.verdict.message}`;
      lines.push(`    ${describeOp(op)}  ${outcome}`);
    }
    if (drops) lines.push(`    (${drops} bounding drops, ok)`);
    if (lowers) lines.push(`    (${lowers} ambient lowers, ok)`);
  }
  if (p.failed) lines.push(`  the container does not start: ${safe(p.failed.step)}: ${safe(p.failed.message)}`);
  if (p.notModelled) lines.push(`  not modelled: ${p.notModelled}`);
  if (p.state) {
    const s = p.state;
    lines.push(
      `  process: uid ${s.ruid}/${s.euid}/${s.suid} gid ${s.rgid}/${s.egid}/${s.sgid} groups [${s.groups.join(", ")}]${s.noNewPrivs ? ", no_new_privs" : ""}`,
    );
    const shortNames = (set: CapSet) =>
      set
        .names()
        .map((n) => n.slice(4).toLowerCase())
        .join(",");
    const notBounding = p.profile.all.difference(s.bounding);
    lines.push(`    capabilities: ${formatCapText(s, p.profile)}`);
    lines.push(
      `    bounding: ${s.bounding.isEmpty ? "(empty)" : notBounding.isEmpty ? "every capability" : s.bounding.size <= notBounding.size ? shortNames(s.bounding) : `all but ${shortNames(notBounding)}`}` +
        `; ambient: ${s.ambient.isEmpty ? "(empty)" : shortNames(s.ambient)}; securebits: ${s.securebits}`,
    );
  }
  if (p.missing.length) {
    lines.push(`  asked for but not effective:`);
    for (const m of p.missing) {
      lines.push(`    ${m.capability}: ${safe(m.reason)}`);
      for (const f of m.fixes) lines.push(`      fix: ${safe(f)}`);
    }
  } else if (p.state && !p.asked.isEmpty) lines.push(`  every capability asked for is effective`);
  return lines.join("\n");
}

/**
 * The runtime's calls as a scenario `capgate simulate` (and the playground) replays: the
 * runtime's start state, and every step up to the one that fails (ambient lowers of capabilities
 * that are not ambient are left out: they change nothing). An engine's refusal has no steps.
 */
export function containerScenario(p: ContainerPrediction): Record<string, unknown> {
  const ops = p.steps
    .filter(
      (s) =>
        !(
          s.step === "ambient lower" &&
          s.verdict.ok &&
          !s.verdict.before.ambient.has(Number((s.verdict.op as { arg3?: number }).arg3))
        ),
    )
    .map((s) => s.verdict.op);
  const start = p.steps[0]?.verdict.before ?? runtimeStart(p.profile);
  return toScenario(
    p.profile.version,
    start,
    ops,
    `${p.file}: ${p.name}: what ${p.engine === "oci" ? "runc" : `${p.engine} and runc`} do to start it (capgate container --scenario)`,
  );
}
