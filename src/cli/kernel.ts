// CLI commands that read or run on the real kernel: show and verify. They import the shim
// lazily, so the engine-only commands never load ffi-rs.
import { readFileSync, readdirSync } from "node:fs";
import { noteProfile } from "./profile.js";
import { terminalSafe, jsonSafe } from "./escape.js";

/** What the kernel runner was doing when it could not reach a start state (native/capfuzz.c setup()). */
const SETUP_STAGES: Record<number, string> = {
  1: "raising every capability",
  2: "raising the ambient set",
  3: "setting SECBIT_NO_SETUID_FIXUP",
  4: "setting the uids",
  5: "dropping from the bounding set",
  6: "setting the securebits",
  7: "setting no_new_privs",
  8: "setting the final sets",
  9: "reading the state back",
  10: "setting the supplementary groups",
  11: "setting the gids",
  12: "unshare(CLONE_NEWUSER) for the start state's namespace",
  13: "writing the start state's id maps",
  14: "a start state more than one user namespace down",
  15: "its process ended before it reported",
};

/** kthreadd: the parent of every kernel thread. */
const KTHREADD = 2;
/** Trials per batch of `verify --fuzz` on this machine (see verifyCommand). */
const FUZZ_BATCH = 2000;
import { errnoName } from "../kernel/errno-text.js";
import { formatCapText } from "../formats/libcap-text.js";
import { formatIab, iabOf } from "../formats/iab.js";
import { formatDecode, parseMask } from "../formats/decode.js";
import { parseAnyNames } from "../formats/names.js";
import { parseStatus } from "../formats/proc-status.js";
import { FormatError } from "../formats/errors.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { InputError } from "../parse/errors.js";
import { kernelProfile, releaseProfile } from "../kernel/profiles.js";
import { CapSet } from "../capabilities/set.js";
import { securebitNames } from "../kernel/constants.js";
import { EXIT_NOT_MODELLED, loadScenario } from "./simulate.js";
import { describeOp, outcomeText } from "../formats/describe.js";
import { style, table } from "./style.js";
import { namespaceOfProcess } from "./procfs.js";
import type { UserNamespace } from "../userns.js";
import { UsageError } from "./errors.js";

/** id -> name from /etc/passwd or /etc/group (numbers for ids it does not list). */
function idNames(file: string): (id: number) => string {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length > 2 && /^\d+$/.test(f[2]!) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]!);
    }
  } catch {
    /* no such file: numbers only */
  }
  return (id) => names.get(id) ?? String(id);
}

interface ProcessRow {
  pid: number;
  name: string;
  user: string;
  ppid: number;
  ruid: number;
  euid: number;
  suid: number;
  fsuid: number;
  rgid: number | null;
  egid: number | null;
  sgid: number | null;
  fsgid: number | null;
  groups: readonly number[];
  /** The process's user namespace as /proc shows it to this one (null: the initial namespace). */
  userns: { uidMap: number[][]; gidMap: number[][]; setgroups: string } | null;
  caps: string;
  iab: string;
  permitted: string;
  effective: string;
  inheritable: string;
  bounding: string;
  ambient: string;
  securebits: number | null;
  noNewPrivs: boolean;
  flags: string[];
}

const userOf = idNames("/etc/passwd");
const groupOf = idNames("/etc/group");

function processRow(
  pid: number,
  text: string,
  securebits: number | null,
  profile: KernelProfile,
  ns: UserNamespace | null,
): ProcessRow {
  const s = parseStatus(text);
  const flags: string[] = [];
  if (!s.ambient.isEmpty) flags.push("ambient");
  if (s.euid !== 0 && s.ruid !== 0 && !s.permitted.isEmpty) flags.push("non-root with capabilities");
  if (s.noNewPrivs) flags.push("no_new_privs");
  return {
    pid,
    name: s.name,
    ppid: Number(/^PPid:\s*(\d+)/m.exec(text)?.[1] ?? 0),
    user: s.ruid === s.euid ? userOf(s.ruid) : `${userOf(s.ruid)}/${userOf(s.euid)}`,
    ruid: s.ruid,
    euid: s.euid,
    suid: s.suid,
    fsuid: s.fsuid,
    rgid: s.rgid ?? null,
    egid: s.egid ?? null,
    sgid: s.sgid ?? null,
    fsgid: s.fsgid ?? null,
    groups: s.groups ?? [],
    userns: ns && {
      uidMap: ns.uidMap.map((e) => [...e]),
      gidMap: ns.gidMap.map((e) => [...e]),
      setgroups: ns.setgroups,
    },
    caps: formatCapText(s, profile),
    iab: formatIab(iabOf(s, profile), profile),
    permitted: s.permitted.toHex(),
    effective: s.effective.toHex(),
    inheritable: s.inheritable.toHex(),
    bounding: s.bounding.toHex(),
    ambient: s.ambient.toHex(),
    securebits,
    noNewPrivs: s.noNewPrivs,
    flags,
  };
}

export async function showCommand(
  pid: string | undefined,
  opts: { json?: boolean; all?: boolean; cap?: string },
): Promise<number> {
  const profile = kernelProfile();
  if (pid !== undefined && !/^\d+$/.test(pid)) throw new UsageError(`PID must be a number, got ${JSON.stringify(pid)}`);
  if (pid !== undefined && opts.all) throw new UsageError("give a PID or --all, not both");
  let filter: number | undefined;
  if (opts.cap !== undefined) {
    try {
      const one = parseAnyNames(opts.cap, profile);
      if (one.size !== 1) throw new UsageError(`--cap takes one capability, got ${JSON.stringify(opts.cap)}`);
      filter = one.toArray()[0]!;
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(`--cap: ${e.problem} (${JSON.stringify(e.token)})`);
      throw e;
    }
  }
  const rows: ProcessRow[] = [];
  if (opts.all) {
    // Like pscap: user processes by pid; kernel threads (kthreadd, pid 2, and its children) hold
    // the full set by construction and only bury the interesting rows.
    const pids = readdirSync("/proc")
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .sort((a, b) => a - b);
    for (const p of pids) {
      let text: string;
      try {
        text = readFileSync(`/proc/${p}/status`, "utf8");
      } catch {
        continue; // gone meanwhile
      }
      const row = processRow(p, text, null, profile, null);
      if (p === KTHREADD || row.ppid === KTHREADD) continue;
      rows.push(row);
    }
  } else {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid ?? "self"}/status`, "utf8");
    } catch {
      throw new InputError(`/proc/${pid ?? "self"}/status`, pid ? `no process ${pid}` : "cannot read");
    }
    let securebits: number | null = null;
    if (pid === undefined) {
      const { prctl } = await import("../../shim/libc.js");
      securebits = prctl(27).ret >>> 0;
    }
    const self = pid === undefined ? process.pid : Number(pid);
    rows.push(processRow(self, text, securebits, profile, namespaceOfProcess(self)));
  }
  const shown =
    filter === undefined
      ? rows
      : rows.filter((r) => CapSet.fromHex(r.permitted).has(filter!) || CapSet.fromHex(r.effective).has(filter!));
  if (!opts.all && filter !== undefined && !shown.length) {
    // show PID --cap X: a yes/no question, answered like grep (exit 1, nothing printed, for no)
    if (opts.json) process.stdout.write("null\n");
    return 1;
  }
  if (opts.json) {
    process.stdout.write(jsonSafe(opts.all ? shown : (shown[0] ?? null), 2) + "\n");
    return 0;
  }
  if (opts.all) {
    const t = [
      [
        style.dim("ppid"),
        style.dim("pid"),
        style.dim("command"),
        style.dim("user"),
        style.dim("capabilities"),
        style.dim("flags"),
      ],
    ];
    for (const r of shown)
      t.push([String(r.ppid), String(r.pid), terminalSafe(r.name), terminalSafe(r.user), r.caps, r.flags.join(", ")]);
    process.stdout.write(table(t) + "\n");
    return 0;
  }
  const r = shown[0];
  if (!r) return 0;
  const b = CapSet.fromHex(r.bounding);
  const lines = [
    ["pid", `${r.pid} (${terminalSafe(r.name)})`],
    ["capabilities", r.caps],
    ["IAB", r.iab || "(none)"],
    [
      "bounding",
      b.equals(profile.all)
        ? "all"
        : b
            .names()
            .map((n) => n.toLowerCase())
            .join(",") || "none",
    ],
    [
      "ambient",
      CapSet.fromHex(r.ambient)
        .names()
        .map((n) => n.toLowerCase())
        .join(",") || "none",
    ],
    [
      "securebits",
      r.securebits === null
        ? "(only for the calling process)"
        : `0x${r.securebits.toString(16)}${r.securebits ? ` (${securebitNames(r.securebits).join(", ")})` : ""}`,
    ],
    ["no_new_privs", r.noNewPrivs ? "1" : "0"],
    // capsh --print's lines
    ["uid", `uid=${r.ruid}(${terminalSafe(userOf(r.ruid))}) euid=${r.euid}(${terminalSafe(userOf(r.euid))})`],
    ["gid", r.rgid === null ? "(not shown)" : `gid=${r.rgid}(${terminalSafe(groupOf(r.rgid))})`],
    ["groups", `groups=${r.groups.map((g) => `${g}(${terminalSafe(groupOf(g))})`).join(",")}`],
    [
      "userns",
      r.userns
        ? `child: uid_map ${r.userns.uidMap.map((e) => e.join(" ")).join(", ") || "none"}; gid_map ${r.userns.gidMap.map((e) => e.join(" ")).join(", ") || "none"}; setgroups ${r.userns.setgroups}`
        : "initial",
    ],
  ];
  process.stdout.write(table(lines.map(([k, v]) => [style.dim(k!), v!])) + "\n");
  return 0;
}

export function decodeCommand(masks: string[], opts: { json?: boolean }): number {
  // "-": the masks on standard input, one per line (a /proc status excerpt works too)
  const all = masks.flatMap((m) =>
    m === "-"
      ? readFileSync(0, "utf8")
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => /^(Cap[A-Za-z]+:\s*)?[0-9a-fx]+$/i.test(l))
      : [m],
  );
  const decoded = all.map((m) => {
    try {
      return { mask: m, set: parseMask(m) };
    } catch (e) {
      if (e instanceof FormatError) throw new UsageError(e.message);
      throw e;
    }
  });
  if (opts.json)
    process.stdout.write(
      JSON.stringify(
        decoded.map(({ mask, set }) => ({
          mask,
          hex: `0x${set.toStatusHex()}`,
          names: set.names().map((n) => n.toLowerCase()),
          numbers: set.toArray(),
        })),
        null,
        2,
      ) + "\n",
    );
  else for (const { set } of decoded) process.stdout.write(formatDecode(set) + "\n");
  return 0;
}

type Trial = import("../../shim/kernel-runner.js").Trial;
type KernelTrial = import("../../shim/kernel-runner.js").KernelTrial;
type CampaignResult = import("../../shim/differential.js").CampaignResult;

/** The kernel version a bzImage names in its setup header ("6.1.0-47-cloud-amd64 (...) #1 SMP ..."), or null. */
export function imageRelease(path: string): string | null {
  try {
    const b = readFileSync(path);
    if (b.length < 0x210 || b.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
    const at = b.readUInt16LE(0x20e) + 0x200;
    const end = b.indexOf(0, at);
    const text = b.toString("latin1", at, end < 0 ? at + 256 : end);
    return /^(\d+\.\d+\S*)/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The profile of a booted kernel's release, as bad input when there is none. */
function bootedProfile(release: string): KernelProfile {
  try {
    const profile = releaseProfile(release);
    if (profile) return profile;
  } catch (e) {
    throw new UsageError(`kernel ${release}: ${(e as Error).message}`);
  }
  throw new UsageError(`cannot tell the version of kernel ${JSON.stringify(release)}`);
}

export async function verifyCommand(
  file: string | undefined,
  opts: { json?: boolean; fuzz?: boolean; trials?: string; seed?: string; kernel?: string; boot?: string },
): Promise<number> {
  const { runnerUnavailable, runOnKernel, runOnKernelAsync } = await import("../../shim/kernel-runner.js");
  const { compareCampaign, describeDivergence, compareStep } = await import("../../shim/differential.js");
  const { trialArb, runnerMapsAllIds } = await import("../../shim/trials.js");
  const { currentProfile } = await import("../../shim/thread-state.js");
  // The kernel side: this machine's kernel, or one booted under qemu (--boot IMAGE).
  let booted: string | null = null;
  let run: (trials: readonly Trial[]) => readonly KernelTrial[] = runOnKernel;
  let bootProfile: KernelProfile | null = null;
  if (opts.boot !== undefined) {
    const { bootUnavailable, runOnBootedKernel } = await import("../../shim/boot.js");
    const image = opts.boot;
    const release = imageRelease(image);
    if (!release) throw new UsageError(`${image}: not a bootable x86 kernel image (bzImage), or unreadable`);
    bootProfile = bootedProfile(release);
    const why = bootUnavailable();
    if (why) throw new UsageError(`cannot boot ${image}: ${why}`);
    run = (trials) => {
      const b = runOnBootedKernel(image, trials);
      booted = b.release;
      return b.trials;
    };
  } else {
    const why = runnerUnavailable();
    if (why) throw new UsageError(`cannot run on the kernel here: ${why}`);
  }
  const where = () => (booted ? `on the booted kernel ${booted}` : "on the running kernel");
  if (opts.fuzz) {
    const profile = noteProfile(opts.kernel ? kernelProfile(opts.kernel) : (bootProfile ?? currentProfile()));
    if (file) throw new UsageError("give either a scenario FILE or --fuzz, not both");
    const trials = opts.trials === undefined ? 5000 : Number(opts.trials);
    const seed = opts.seed === undefined ? Date.now() % 2 ** 31 : Number(opts.seed);
    if (!Number.isInteger(trials) || trials < 1 || trials > 10_000_000)
      throw new UsageError(`--trials must be an integer from 1 to 10000000, got ${opts.trials}`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${opts.seed}`);
    // a booted kernel runs the trials as its own root, which maps every id
    const uids = opts.boot !== undefined || runnerMapsAllIds();
    const { default: fc } = await import("fast-check");
    const start = Date.now();
    const arb = trialArb(profile, { uids, maxSteps: 12 });
    // Made and run in batches of FUZZ_BATCH, each from its own seed (the first from `seed`
    // itself), so memory stays flat over a million trials and a smaller --trials runs a prefix
    // of a larger one. On this machine the runner works on one batch while the next is made.
    // A booted kernel runs the whole campaign in one boot.
    const batchSize = opts.boot !== undefined ? trials : FUZZ_BATCH;
    const batch = (k: number) =>
      fc.sample(arb, {
        numRuns: Math.min(batchSize, trials - k * batchSize),
        seed: k === 0 ? seed : (seed ^ Math.imul(k, 0x9e3779b9)) | 0,
      });
    const progress = process.stderr.isTTY === true && !opts.json;
    const parts: CampaignResult[] = [];
    let done = 0,
      divergent = 0;
    const batches = Math.ceil(trials / batchSize);
    let next = batch(0);
    for (let k = 0; k < batches; k++) {
      const current = next;
      const t0 = process.hrtime.bigint();
      const running = opts.boot !== undefined ? Promise.resolve(run(current)) : runOnKernelAsync(current);
      if (k + 1 < batches) next = batch(k + 1);
      const kernel = await running;
      const part = compareCampaign(current, kernel, profile, Number(process.hrtime.bigint() - t0) / 1e6);
      parts.push(part);
      done += part.trials;
      divergent += part.divergences.length;
      if (progress) {
        const elapsed = (Date.now() - start) / 1000;
        const rate = done / elapsed;
        process.stderr.write(
          `\r\x1b[K  ${done}/${trials} trials, ${rate.toFixed(0)} trials/s, ${divergent} divergent, ~${Math.ceil((trials - done) / rate)} s left`,
        );
      }
    }
    if (progress) process.stderr.write("\r\x1b[K");
    const r: CampaignResult = {
      trials: done,
      steps: parts.reduce((n, p) => n + p.steps, 0),
      divergences: parts.flatMap((p) => p.divergences),
      setupFailures: parts.flatMap((p) => p.setupFailures),
      notModelled: parts.reduce((n, p) => n + p.notModelled, 0),
      kernelMs: parts.reduce((n, p) => n + p.kernelMs, 0),
    };
    // Which ops differ, by op and rule, so a user on another kernel sees the shape of it.
    const byOp = new Map<string, number>();
    for (const d of r.divergences) {
      const key = `${d.trial.ops[d.step]!.op} (${d.engine.rule})`;
      byOp.set(key, (byOp.get(key) ?? 0) + 1);
    }
    const summary = {
      kernel: profile.version,
      ...(opts.boot !== undefined && { booted, profile: profile.version }),
      seed,
      trials: r.trials,
      steps: r.steps,
      divergences: r.divergences.length,
      setupFailures: r.setupFailures.length,
      uidChanges: uids,
      kernelMs: Math.round(r.kernelMs),
      totalMs: Date.now() - start,
      trialsPerSecond: Math.round(r.trials / ((Date.now() - start) / 1000)),
      stepsPerSecond: Math.round(r.steps / (r.kernelMs / 1000)),
      differingOps: Object.fromEntries(byOp),
      first: r.divergences[0] ? describeDivergence(r.divergences[0], profile) : null,
    };
    if (opts.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else {
      // a trial whose start state could not be reached proves nothing: never "held"
      const failed = r.setupFailures[0];
      const verdict = r.divergences.length
        ? style.red(`${r.divergences.length} disagree`)
        : failed
          ? style.red(
              `${r.setupFailures.length} could not be brought to their start state (the first at: ${SETUP_STAGES[failed.stage] ?? `stage ${failed.stage}`})`,
            )
          : style.green("the model held on every step");
      process.stdout.write(
        `${r.trials} trials (${r.steps} steps) ${booted ? `on the booted kernel ${booted} (profile ${profile.version})` : `on kernel ${profile.version}`}, seed ${seed}: ${verdict}` +
          ` (${summary.trialsPerSecond} trials/s${uids ? "" : "; uid changes left out: not root over every id"})\n`,
      );
      for (const [op, n] of byOp) process.stdout.write(`  ${op}: ${n}\n`);
      if (summary.first) process.stdout.write(summary.first + "\n");
    }
    return r.divergences.length || r.setupFailures.length ? 1 : 0;
  }

  if (!file) throw new UsageError("verify needs a scenario FILE, or --fuzz");
  const scenario = loadScenario(file, opts.kernel ?? bootProfile?.version);
  const { runnerSupports } = await import("../../shim/kernel-runner.js");
  const ops = scenario.steps.map((s) => s.op);
  const cut = ops.findIndex((op) => !runnerSupports(op));
  if (cut >= 0)
    throw new UsageError(
      `${file}: step ${cut + 1} (${ops[cut]!.op}) cannot run on the kernel: a v1 security.capability cannot be written (use version 2 or 3)`,
    );
  // Without root over every id (a normal user, or root of `unshare -Ur`), the throwaway
  // namespace maps only id 0: the runner cannot make a file owned by another id, nor write a
  // v3 xattr whose root id has no mapping there.
  const { runnerGroups } = await import("../../shim/trials.js");
  const everyId = opts.boot !== undefined || runnerMapsAllIds();
  if (!everyId) {
    const unmappable = ops.findIndex((op) => {
      if (op.op !== "execve") return false;
      return [op.file, op.file.interpreter].some(
        (f) => f && ((f.owner ?? 0) !== 0 || (f.group ?? 0) !== 0 || (f.caps?.rootid ?? 0) !== 0),
      );
    });
    if (unmappable >= 0)
      throw new UsageError(
        `${file}: step ${unmappable + 1} (execve) needs a file whose owner, group or root id is not 0, which the throwaway namespace cannot map without root over every id; run capgate verify as root`,
      );
  }
  const kernel = run([{ state: scenario.state, ops }])[0]!;
  if (kernel.setup !== 0) {
    const stage = SETUP_STAGES[kernel.setup] ?? `stage ${kernel.setup}`;
    throw new UsageError(
      `${file}: the kernel could not be brought to the scenario's start state (${stage})` +
        (everyId
          ? ""
          : kernel.setup === 10
            ? `: a normal user cannot change supplementary groups there (setgroups is denied); give "groups": ${JSON.stringify(runnerGroups())} in the state, or run as root`
            : ": as a normal user the throwaway namespace maps only uid 0; run capgate verify as root for other uids and gids"),
    );
  }
  const { simulateSequence } = await import("../simulate.js");
  const verdicts = simulateSequence(scenario.state, ops, { kernel: scenario.profile });
  const rows: string[][] = [
    [style.dim("#"), style.dim("call"), style.dim("engine"), style.dim("kernel"), style.dim("agree")],
  ];
  const report: unknown[] = [];
  let disagree = 0;
  // up to and including the first step outside the model: after it the engine's state is unknown
  const outside = verdicts.findIndex((v) => !v.modelled);
  verdicts.slice(0, outside < 0 ? undefined : outside + 1).forEach((v, i) => {
    const k = kernel.steps[i]!;
    // a step outside the model has nothing to compare: the kernel's answer is shown, not judged
    const diff = v.modelled ? compareStep(v, k) : [];
    if (diff.length) disagree++;
    rows.push([
      String(i + 1),
      describeOp(v.op),
      v.ok ? outcomeText(v) : `${outcomeText(v)} (${v.rule})`,
      k.ret === -1 ? `${errnoName(k.errno)}` : `ok${k.ret ? ` → ${k.ret}` : ""}`,
      !v.modelled ? style.yellow("—") : diff.length ? style.red(diff.join("; ")) : style.green("yes"),
    ]);
    report.push({
      op: v.op.op,
      engine: {
        modelled: v.modelled,
        ok: v.modelled ? v.ok : null,
        ret: v.modelled ? v.ret : null,
        errno: v.errno,
        rule: v.rule,
      },
      kernel: { ret: k.ret, errno: errnoName(k.errno) },
      agree: v.modelled ? diff.length === 0 : null,
      differences: diff,
    });
  });
  if (opts.json)
    process.stdout.write(
      JSON.stringify(
        {
          kernel: scenario.profile.version,
          ...(opts.boot !== undefined && { booted, profile: scenario.profile.version }),
          steps: report,
          agree: disagree === 0,
          modelled: outside < 0,
        },
        null,
        2,
      ) + "\n",
    );
  else
    process.stdout.write(
      `${style.bold(terminalSafe(file))} ${where()} (model: ${scenario.profile.version})\n\n${table(rows)}\n\n${
        disagree
          ? style.red(`${disagree} step(s) disagree`)
          : outside >= 0
            ? style.yellow(
                `engine and kernel agree up to step ${outside + 1}, which is outside the model (nothing after it is compared)`,
              )
            : style.green("engine and kernel agree on every step")
      }\n`,
    );
  if (disagree && !everyId)
    process.stderr.write(
      "capgate: note: as a normal user the throwaway namespace maps only uid 0 and gid 0, so calls to other ids fail there with EINVAL; run capgate verify as root to check them\n",
    );
  return disagree ? 1 : outside >= 0 ? EXIT_NOT_MODELLED : 0;
}
