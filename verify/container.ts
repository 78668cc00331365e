// The container prediction, proven against real runtimes as the differential proves the
// engine against the kernel: random container specs (fast-check), each run for real on a
// throwaway image capgate builds (a static reporter that prints its own credentials, in plain,
// set-uid-root, set-gid and file-capability copies; passwd and group present or absent), and
// every field of the process compared with `predictContainer`. runc directly, on bundles with
// a private state root; Docker through a dockerd started here on its own socket, data and exec
// directories, images made with `docker import` (no registry, no network). Everything started
// is removed afterwards, also on SIGINT/SIGTERM. Root only.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  rmSync,
  writeFileSync,
  readFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { CapSet } from "../src/capabilities/set.js";
import { CONTAINER_DEFAULT_CAPS } from "../src/formats/names.js";
import type { KernelProfile } from "../src/kernel/profiles.js";
import { stateFromStatus } from "../src/formats/proc-status.js";
import { diffStates, type ThreadState } from "../src/state.js";
import { simulate } from "../src/simulate.js";
import { parseAccounts, type Accounts } from "../src/container/accounts.js";
import { ociNames, type EngineRequest, type Entrypoint, type OciProcess } from "../src/container/engines.js";
import { predictContainer, type ContainerPrediction } from "../src/container/predict.js";
import { CapgateSystemError } from "../src/errors.js";
import { findProgram, helperProgram, privateDirectory, runsAsRoot } from "../shim/trust.js";
import { setFileCaps } from "../shim/files.js";
import { imageEntrypoint } from "../shim/image.js";

const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REPORTER_SOURCE = join(PACKAGE_ROOT, "native/container-report.c");

export type ContainerRuntime = "runc" | "docker";
export const CONTAINER_RUNTIMES: readonly ContainerRuntime[] = ["runc", "docker"];

/** The entrypoints every image carries: the reporter, as each kind of file execve meets. */
export const ENTRY_KINDS = ["plain", "setuid-root", "setgid", "caps-ep", "caps-p", "caps-i"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];
const ENTRY_PATH: Readonly<Record<EntryKind, string>> = {
  plain: "/report",
  "setuid-root": "/report-setuid",
  setgid: "/report-setgid",
  "caps-ep": "/report-caps-ep",
  "caps-p": "/report-caps-p",
  "caps-i": "/report-caps-i",
};
/** The group the set-gid copy belongs to. */
export const SETGID_GROUP = 4242;
/** The account variants: no /etc/passwd or /etc/group, or a small user database. */
export const ACCOUNT_VARIANTS = ["none", "users"] as const;
export type AccountVariant = (typeof ACCOUNT_VARIANTS)[number];
const PASSWD =
  "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
const GROUP = "root:x:0:\nwheel:x:10:app\naudio:x:29:app,nobody\napp:x:1000:\nstaff:x:4242:\nnogroup:x:65534:\n";

/** One trial: a container spec, the image variant, the entrypoint. */
export type ContainerTrial =
  | { readonly runtime: "runc"; readonly process: OciProcess; readonly entry: EntryKind }
  | {
      readonly runtime: "docker";
      readonly request: EngineRequest;
      readonly accounts: AccountVariant;
      readonly entry: EntryKind;
    };

/** What a trial gave: the process's state, or the runtime's failure. */
export type Observed = { readonly state: ThreadState } | { readonly failed: string };

export interface ContainerDivergence {
  readonly trial: ContainerTrial;
  readonly prediction: ContainerPrediction;
  readonly observed: Observed;
  /** The fields that differ, or what differs in outcome. */
  readonly differences: readonly string[];
  /** A spec that reproduces it: the docker run line, or the OCI process section. */
  readonly reproducer: string;
}

export interface ContainerCampaignResult {
  readonly runtime: ContainerRuntime;
  readonly trials: number;
  readonly seed: number;
  readonly started: number;
  readonly refused: number;
  readonly divergences: readonly ContainerDivergence[];
  /** Differences that a second run of the same trial did not repeat: faults of the harness, not facts. */
  readonly faults: readonly ContainerDivergence[];
  readonly seconds: number;
}

// ---------------------------------------------------------------------------------------------
// The arbitraries

const capSetArb = (profile: KernelProfile, maxLength = 8): fc.Arbitrary<CapSet> =>
  fc.array(fc.integer({ min: 0, max: profile.lastCap }), { maxLength }).map((l) => CapSet.of(...l));

const idArb = fc.oneof(fc.constantFrom(0, 1000, 65534, SETGID_GROUP), fc.integer({ min: 1, max: 70000 }));

/** An OCI process section as a runtime config gives it: random lists, mostly consistent. */
export function ociTrialArb(profile: KernelProfile): fc.Arbitrary<ContainerTrial> {
  const bounding = fc.oneof(
    fc.constant(profile.all),
    fc.constant(CONTAINER_DEFAULT_CAPS),
    capSetArb(profile, 12),
    fc.tuple(fc.constant(profile.all), capSetArb(profile, 4)).map(([a, d]) => a.difference(d)),
  );
  return fc
    .record({
      uid: idArb,
      gid: idArb,
      additionalGids: fc.array(idArb, { maxLength: 3 }),
      bounding,
      permittedExtra: capSetArb(profile, 3),
      permittedPick: capSetArb(profile, 10),
      effectiveMode: fc.constantFrom("permitted", "permitted", "subset", "random"),
      effectivePick: capSetArb(profile, 6),
      inheritable: capSetArb(profile, 4),
      inheritableMode: fc.constantFrom("empty", "bounded", "bounded", "random"),
      ambientMode: fc.constantFrom("none", "valid", "random"),
      ambientPick: capSetArb(profile, 4),
      noNewPrivileges: fc.boolean(),
      entry: fc.constantFrom(...ENTRY_KINDS),
    })
    .map((r) => {
      const permitted = r.permittedPick.union(r.bounding.intersect(r.permittedPick.union(r.permittedExtra)));
      const effective =
        r.effectiveMode === "permitted"
          ? permitted
          : r.effectiveMode === "subset"
            ? permitted.intersect(r.effectivePick)
            : r.effectivePick;
      // capset refuses inheritable beyond bounding (without CAP_SETPCAP's other half): mostly within it
      const inheritable =
        r.inheritableMode === "empty"
          ? CapSet.EMPTY
          : r.inheritableMode === "bounded"
            ? r.inheritable.union(r.permittedPick).intersect(r.bounding)
            : r.inheritable;
      const ambient =
        r.ambientMode === "none"
          ? CapSet.EMPTY
          : r.ambientMode === "valid"
            ? permitted.intersect(inheritable).union(r.ambientPick.intersect(permitted).intersect(inheritable))
            : r.ambientPick;
      const process: OciProcess = {
        user: { uid: r.uid, gid: r.gid, additionalGids: r.additionalGids },
        capabilities: { bounding: r.bounding, effective, permitted, inheritable, ambient },
        noNewPrivileges: r.noNewPrivileges,
        args: [ENTRY_PATH[r.entry]],
      };
      return { runtime: "runc" as const, process, entry: r.entry };
    });
}

const CAP_POOL = [
  "NET_ADMIN",
  "net_raw",
  "CAP_KILL",
  "SYS_ADMIN",
  "SETPCAP",
  "SETUID",
  "SETGID",
  "CHOWN",
  "NET_BIND_SERVICE",
  "SYS_PTRACE",
  "DAC_OVERRIDE",
  "AUDIT_READ",
  "BPF",
];
const USERS = [
  undefined,
  "0",
  "1000",
  "1000:1000",
  "app",
  "app:audio",
  "65534",
  "nobody",
  "4242:29",
  "1234",
  "root",
  "1000:staff",
];

/** A docker run request: users with and without passwd entries, cap-add/cap-drop (ALL too), privileged, NNP. */
export function dockerTrialArb(): fc.Arbitrary<ContainerTrial> {
  const names = fc.subarray(CAP_POOL, { maxLength: 3 });
  return fc
    .record({
      user: fc.constantFrom(...USERS),
      groupAdd: fc.subarray(["29", "audio", String(SETGID_GROUP), "5"], { maxLength: 2 }),
      capAdd: fc.oneof({ weight: 4, arbitrary: names }, { weight: 1, arbitrary: names.map((l) => ["ALL", ...l]) }),
      capDrop: fc.oneof({ weight: 4, arbitrary: names }, { weight: 1, arbitrary: names.map((l) => ["ALL", ...l]) }),
      privileged: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
      noNewPrivileges: fc.boolean(),
      accounts: fc.constantFrom(...ACCOUNT_VARIANTS),
      entry: fc.constantFrom(...ENTRY_KINDS),
    })
    .map((r) => ({
      runtime: "docker" as const,
      request: {
        engine: "docker" as const,
        user: r.user,
        groupAdd: r.groupAdd,
        capAdd: r.capAdd,
        capDrop: r.capDrop,
        privileged: r.privileged,
        noNewPrivileges: r.noNewPrivileges,
        args: [ENTRY_PATH[r.entry]],
      },
      accounts: r.accounts,
      entry: r.entry,
    }));
}

// ---------------------------------------------------------------------------------------------
// The lab: images, the runtimes, cleanup

/** The docker run words of a request (without the image). */
export function dockerRunWords(req: EngineRequest): string[] {
  const w: string[] = ["--network", "none"];
  if (req.user !== undefined) w.push("--user", req.user);
  for (const g of req.groupAdd ?? []) w.push("--group-add", g);
  for (const c of req.capAdd ?? []) w.push("--cap-add", c);
  for (const c of req.capDrop ?? []) w.push("--cap-drop", c);
  if (req.privileged) w.push("--privileged");
  if (req.noNewPrivileges) w.push("--security-opt", "no-new-privileges");
  return w;
}

const cleanups: Array<() => void> = [];
let signalsHooked = false;
function onCleanup(f: () => void): void {
  cleanups.push(f);
  if (signalsHooked) return;
  signalsHooked = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      runCleanups();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  process.once("exit", runCleanups);
}
function runCleanups(): void {
  while (cleanups.length) {
    try {
      cleanups.pop()!(); // (not empty)
    } catch {
      /* best effort: the rest still runs */
    }
  }
}

export class ContainerLab {
  readonly dir: string;
  private readonly rootfs = new Map<AccountVariant, string>();
  private daemon: ChildProcess | null = null;
  private socket = "";
  private readonly images = new Map<AccountVariant, string>();
  private count = 0;
  private readonly runc: string;
  private readonly docker: string;
  private readonly dockerd: string;
  private readonly env: NodeJS.ProcessEnv;
  /** The state of a process this one starts (the runtime's caller). */
  readonly caller: ThreadState;

  constructor(readonly profile: KernelProfile) {
    if (!runsAsRoot()) throw new CapgateSystemError("verify --container runs containers and must run as root");
    this.dir = privateDirectory(tmpdir(), "capgate-containers-");
    chmodSync(this.dir, 0o755);
    const dir = this.dir;
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const cc = helperProgram(undefined, "CC", "cc");
    this.env = cc.env;
    this.runc = helperProgram(undefined, "RUNC", "runc").program;
    // the client of the same package as dockerd (Debian's docker.io puts it in /usr/bin): a
    // newer client in /usr/local/bin was seen to leave `run --rm` of a failed start hanging
    this.docker = findProgram("docker", "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin") ?? "docker";
    this.dockerd = helperProgram(undefined, "DOCKERD", "dockerd").program;
    const reporter = join(this.dir, "report");
    const r = spawnSync(cc.program, ["-O2", "-static", "-o", reporter, REPORTER_SOURCE], {
      encoding: "utf8",
      env: cc.env,
    });
    if (r.status !== 0)
      throw new CapgateSystemError(
        `cannot compile the container reporter: ${(r.error?.message ?? r.stderr.trim().split("\n")[0]) || `exit ${r.status}`}`,
      );
    for (const v of ACCOUNT_VARIANTS) this.rootfs.set(v, this.makeRootfs(v, reporter));
    // the runtime's caller: a process this one starts (execve of a plain file, as root)
    const me = stateFromStatus(readFileSync("/proc/self/status", "utf8"), 0, profile);
    this.caller = simulate(me, { op: "execve", file: {} }, { kernel: profile }).state;
  }

  private makeRootfs(variant: AccountVariant, reporter: string): string {
    const root = join(this.dir, `rootfs-${variant}`);
    for (const d of ["proc", "dev", "sys", "etc", "tmp"]) mkdirSync(join(root, d), { recursive: true });
    chmodSync(root, 0o755);
    const copy = (kind: EntryKind, mode: number, gid = 0) => {
      const p = join(root, ENTRY_PATH[kind]);
      copyFileSync(reporter, p);
      chownSync(p, 0, gid);
      chmodSync(p, mode);
      return p;
    };
    copy("plain", 0o755);
    copy("setuid-root", 0o4755);
    copy("setgid", 0o2755, SETGID_GROUP);
    setFileCaps(copy("caps-ep", 0o755), { permitted: CapSet.of(13, 5), inheritable: CapSet.EMPTY, effective: true });
    setFileCaps(copy("caps-p", 0o755), { permitted: CapSet.of(10), inheritable: CapSet.EMPTY, effective: false });
    setFileCaps(copy("caps-i", 0o755), {
      permitted: CapSet.EMPTY,
      inheritable: CapSet.of(10, 13, 12),
      effective: true,
    });
    if (variant === "users") {
      writeFileSync(join(root, "etc/passwd"), PASSWD);
      writeFileSync(join(root, "etc/group"), GROUP);
    }
    return root;
  }

  accountsOf(variant: AccountVariant): Accounts {
    return variant === "users" ? parseAccounts(PASSWD, GROUP) : parseAccounts(null, null);
  }
  entrypoint(kind: EntryKind, variant: AccountVariant = "users"): Entrypoint {
    return imageEntrypoint(this.rootfs.get(variant)!, ENTRY_PATH[kind], null); // (every variant is made in the constructor)
  }

  /** runc run of one OCI process on a read-only bundle with a private state root. */
  async runRunc(p: OciProcess): Promise<Observed> {
    const id = `capgate-${process.pid}-${++this.count}`;
    const bundle = join(this.dir, "bundles", id);
    mkdirSync(bundle, { recursive: true });
    const config = ociConfig(p, this.rootfs.get("users")!); // (made in the constructor)
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    const state = join(this.dir, "runc-state");
    const r = await run(this.runc, ["--root", state, "run", "--bundle", bundle, id], this.env, 60_000);
    await run(this.runc, ["--root", state, "delete", "--force", id], this.env, 30_000);
    rmSync(bundle, { recursive: true, force: true });
    if (r.error) throw new CapgateSystemError(`runc: ${r.error.message}`);
    if (r.status !== 0) return { failed: firstLine(r.stderr) || `runc exit ${r.status}` };
    return { state: this.parse(r.stdout, "runc") };
  }

  private parse(out: string, who: string): ThreadState {
    const bits = /^Securebits:\t(\d+)$/m.exec(out);
    if (!bits) throw new CapgateSystemError(`${who}: the reporter printed no securebits: ${firstLine(out)}`);
    return stateFromStatus(out, Number(bits[1]), this.profile);
  }

  /** Starts the private dockerd and imports the images. */
  async startDocker(): Promise<void> {
    const d = this.dir;
    this.socket = join(d, "docker.sock");
    const daemon = spawn(
      this.dockerd,
      [
        "--data-root",
        join(d, "docker-data"),
        "--exec-root",
        join(d, "docker-exec"),
        "-H",
        `unix://${this.socket}`,
        "--pidfile",
        join(d, "docker.pid"),
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
      ],
      { env: this.env, stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    daemon.stderr?.on("data", (b: Buffer) => {
      log = (log + b.toString()).slice(-4000);
    });
    this.daemon = daemon;
    onCleanup(() => this.stopDocker());
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (daemon.exitCode !== null)
        throw new CapgateSystemError(`dockerd exited (${daemon.exitCode}): ${lastLine(log)}`);
      const ping = spawnSync(
        this.docker,
        ["-H", `unix://${this.socket}`, "version", "--format", "{{.Server.Version}}"],
        { env: this.env, encoding: "utf8", timeout: 10_000, killSignal: "SIGKILL" },
      );
      if (ping.status === 0) break;
      if (Date.now() > deadline) throw new CapgateSystemError(`dockerd did not answer in 60 s: ${lastLine(log)}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    for (const v of ACCOUNT_VARIANTS) {
      const name = `capgate-lab-${process.pid}-${v}`;
      const tar = spawnSync(
        "/bin/sh",
        [
          "-c",
          'tar --xattrs --xattrs-include=security.capability -C "$1" -c . | "$2" -H "unix://$3" import - "$4"',
          "sh",
          this.rootfs.get(v)!, // (every variant is made in the constructor)
          this.docker,
          this.socket,
          name,
        ],
        {
          env: this.env,
          encoding: "utf8",
        },
      );
      if (tar.status !== 0) throw new CapgateSystemError(`docker import: ${firstLine(tar.stderr)}`);
      this.images.set(v, name);
    }
  }

  /**
   * One container: docker create, then docker start --attach (not docker run: Docker 20.10's
   * run was seen to wait forever for a container whose start failed), then docker rm -f.
   */
  async runDocker(req: EngineRequest, variant: AccountVariant): Promise<Observed> {
    const image = this.images.get(variant);
    if (!image) throw new CapgateSystemError("docker: the images are not imported (startDocker first)");
    const name = `capgate-${process.pid}-${++this.count}`;
    const host = ["-H", `unix://${this.socket}`];
    const created = await run(
      this.docker,
      [...host, "create", "--name", name, ...dockerRunWords(req), image, ...(req.args ?? [])],
      this.env,
      60_000,
    );
    let r = created;
    if (created.status === 0) r = await run(this.docker, [...host, "start", "--attach", name], this.env, 120_000);
    await run(this.docker, [...host, "rm", "--force", name], this.env, 60_000);
    if (r.error) throw new CapgateSystemError(`docker ${name}: ${r.error.message}`);
    // the daemon's reason, not the client's "error waiting for container: context canceled"
    const reason =
      r.stderr.split("\n").find((l) => /Error response from daemon|Error:/.test(l)) ??
      r.stderr.trim().split("\n").join(" ");
    if (r.status !== 0) return { failed: reason.trim() || `docker exit ${r.status}` };
    return { state: this.parse(r.stdout, "docker") };
  }

  stopDocker(): void {
    const daemon = this.daemon;
    if (!daemon) return;
    this.daemon = null;
    for (const image of this.images.values())
      spawnSync(this.docker, ["-H", `unix://${this.socket}`, "rmi", "-f", image], {
        env: this.env,
        stdio: "ignore",
        timeout: 30_000,
        killSignal: "SIGKILL",
      });
    this.images.clear();
    if (daemon.exitCode === null) {
      daemon.kill("SIGTERM");
      // dockerd unmounts its layers and stops its containerd on SIGTERM: wait for it (10 s)
      const deadline = Date.now() + 10_000;
      while (existsSync(join(this.dir, "docker.pid")) && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
      if (daemon.exitCode === null) daemon.kill("SIGKILL");
    }
    // a mount dockerd left (it was killed) would keep the directory busy
    spawnSync(
      "/bin/sh",
      ["-c", 'grep -o " $1[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l', "sh", this.dir],
      { stdio: "ignore" },
    );
  }

  close(): void {
    this.stopDocker();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a program to its end (or kills it after `timeoutMs`), without blocking the event loop: a SIGINT meanwhile still cleans up. */
function run(
  program: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-8000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr, error });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function firstLine(s: string): string {
  return s.trim().split("\n")[0] ?? "";
}
function lastLine(s: string): string {
  return s.trim().split("\n").at(-1) ?? "";
}

/** A runc bundle's config.json: runc spec's defaults, this process, a read-only root. */
export function ociConfig(p: OciProcess, rootfs: string): Record<string, unknown> {
  return {
    ociVersion: "1.0.2-dev",
    hostname: "capgate",
    root: { path: rootfs, readonly: true },
    process: {
      terminal: false,
      user: { uid: p.user.uid, gid: p.user.gid, additionalGids: p.user.additionalGids },
      args: p.args,
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      cwd: "/",
      capabilities: Object.fromEntries(
        (["bounding", "effective", "permitted", "inheritable", "ambient"] as const).map((l) => [
          l,
          ociNames(p.capabilities[l]),
        ]),
      ),
      noNewPrivileges: p.noNewPrivileges,
    },
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/kcore", "/proc/keys", "/sys/firmware"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** What differs between the prediction and what the runtime gave. */
export function compareContainer(prediction: ContainerPrediction, observed: Observed): string[] {
  const predictedFailure = prediction.failed !== null;
  if ("failed" in observed) {
    if (!predictedFailure) return [`the runtime failed (${observed.failed}); capgate predicted it starts`];
    // the same step: runc's message names it ("unable to apply caps: ..."), an engine's its refusal
    const key = (
      prediction.failed?.step.endsWith(": refused") ? prediction.failed.message : (prediction.failed?.step ?? "")
    ).split(":")[0]!;
    return observed.failed.toLowerCase().includes(key.toLowerCase())
      ? []
      : [`the runtime failed (${observed.failed}); capgate predicted a failure at ${JSON.stringify(key)}`];
  }
  if (predictedFailure)
    return [
      `capgate predicted a failure (${prediction.failed?.step}: ${prediction.failed?.message}); the container started`,
    ];
  if (!prediction.state) return [`capgate does not model it: ${prediction.notModelled ?? "?"}`];
  return diffStates(prediction.state, observed.state).map((d) => {
    const show = (v: unknown) =>
      v instanceof CapSet
        ? `${v.toHex()} (${
            v
              .names()
              .map((n) => n.slice(4))
              .join(",") || "empty"
          })`
        : Array.isArray(v)
          ? `[${v.join(",")}]`
          : String(v);
    return `${d.field}: capgate ${show(d.before)}, the runtime ${show(d.after)}`;
  });
}

/** The reproducer of a trial: a spec `capgate container` reads. */
export function reproducerOf(trial: ContainerTrial): string {
  if (trial.runtime === "docker")
    return `capgate container --docker${trial.accounts === "users" ? " --rootfs ROOTFS-WITH-PASSWD" : ""} -- run ${dockerRunWords(trial.request).slice(2).join(" ")} IMAGE ${trial.request.args?.join(" ") ?? ""}`.trim();
  return JSON.stringify(ociConfig(trial.process, "rootfs").process);
}

export interface ContainerCampaignOptions {
  readonly runtime: ContainerRuntime;
  readonly trials: number;
  readonly seed: number;
  readonly profile: KernelProfile;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Runs a campaign: `trials` random specs, each predicted and run. */
export async function runContainerCampaign(opts: ContainerCampaignOptions): Promise<ContainerCampaignResult> {
  const t0 = process.hrtime.bigint();
  const lab = new ContainerLab(opts.profile);
  try {
    if (opts.runtime === "docker") await lab.startDocker();
    const arb = opts.runtime === "runc" ? ociTrialArb(opts.profile) : dockerTrialArb();
    const trials = fc.sample(arb, { numRuns: opts.trials, seed: opts.seed });
    const divergences: ContainerDivergence[] = [],
      faults: ContainerDivergence[] = [];
    const runTrial = (trial: ContainerTrial): Promise<Observed> =>
      trial.runtime === "runc" ? lab.runRunc(trial.process) : lab.runDocker(trial.request, trial.accounts);
    let started = 0,
      refused = 0;
    for (const [i, trial] of trials.entries()) {
      const variant = trial.runtime === "docker" ? trial.accounts : "users";
      const prediction = predictContainer(
        {
          file: "trial",
          name: `trial ${i}`,
          source:
            trial.runtime === "runc"
              ? { kind: "oci", process: trial.process }
              : { kind: "engine", request: trial.request },
          entrypoint: lab.entrypoint(trial.entry, variant),
          accounts: lab.accountsOf(variant),
          caller: lab.caller,
        },
        opts.profile,
      );
      const observed = await runTrial(trial);
      if ("failed" in observed) refused++;
      else started++;
      const differences = compareContainer(prediction, observed);
      if (differences.length) {
        // a divergence is a fact only when the same trial, run again, repeats it
        const again = compareContainer(prediction, await runTrial(trial));
        const entry = { trial, prediction, observed, differences, reproducer: reproducerOf(trial) };
        (again.join() === differences.join() ? divergences : faults).push(entry);
      }
      opts.onProgress?.(i + 1, trials.length);
    }
    return {
      runtime: opts.runtime,
      trials: trials.length,
      seed: opts.seed,
      started,
      refused,
      divergences,
      faults,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    };
  } finally {
    lab.close();
  }
}

/** The campaign as text: a summary line, then each divergence with its reproducer. */
export function containerCampaignText(r: ContainerCampaignResult, safe: (text: string) => string = (t) => t): string {
  const lines = [
    `verify --container --runtime ${r.runtime}: ${r.trials} trials (seed ${r.seed}): ${r.started} started, ${r.refused} refused by the engine or the runtime; ${r.divergences.length} divergence${r.divergences.length === 1 ? "" : "s"}${r.faults.length ? `, ${r.faults.length} not repeated (harness faults)` : ""} (${r.seconds.toFixed(1)} s, ${(r.trials / r.seconds).toFixed(1)} trials/s)`,
  ];
  for (const d of [...r.divergences, ...r.faults].slice(0, 10)) {
    lines.push(
      `  ${d.trial.runtime} trial, entrypoint ${d.trial.entry}${d.trial.runtime === "docker" ? `, accounts ${d.trial.accounts}` : ""}:`,
    );
    for (const x of d.differences) lines.push(`    ${safe(x)}`);
    lines.push(`    reproducer: ${safe(d.reproducer)}`);
  }
  return lines.join("\n");
}

export function containerCampaignJson(r: ContainerCampaignResult): Record<string, unknown> {
  return {
    runtime: r.runtime,
    trials: r.trials,
    seed: r.seed,
    started: r.started,
    refused: r.refused,
    seconds: Number(r.seconds.toFixed(2)),
    divergences: r.divergences.map((d) => ({
      entry: d.trial.entry,
      differences: d.differences,
      reproducer: d.reproducer,
    })),
    harnessFaults: r.faults.map((d) => ({
      entry: d.trial.entry,
      differences: d.differences,
      reproducer: d.reproducer,
    })),
  };
}

export interface ExampleProof {
  readonly file: string;
  readonly name: string;
  readonly runtime: ContainerRuntime;
  readonly differences: readonly string[];
}

/**
 * Runs every container of some spec files (examples/containers) on the lab's image: the OCI
 * process each prediction hands the runtime on runc, and the Compose services and docker run
 * lines on a private dockerd too. The examples' entrypoints are the lab's reporters (/report,
 * /report-setuid, ...), and what a file declares of its image (`x-capgate`) must be what the
 * lab's image holds, or the proof says so.
 */
export async function proveExamples(files: readonly string[], profile: KernelProfile): Promise<ExampleProof[]> {
  const { containerDocuments } = await import("../src/container/documents.js");
  const lab = new ContainerLab(profile);
  const out: ExampleProof[] = [];
  try {
    let dockerStarted = false;
    for (const file of files) {
      for (const doc of containerDocuments(file, readFileSync(file, "utf8"), profile)) {
        const args = doc.source.kind === "oci" ? doc.source.process.args : (doc.source.request.args ?? []);
        const kind = ENTRY_KINDS.find((k) => ENTRY_PATH[k] === args[0]);
        if (!kind) {
          out.push({
            file,
            name: doc.name,
            runtime: "runc",
            differences: [`the entrypoint ${String(args[0])} is none of the lab's reporters`],
          });
          continue;
        }
        const accounts = doc.image?.accounts ?? parseAccounts(null, null);
        const variant: AccountVariant = accounts.passwd === null ? "none" : "users";
        const labEntry = lab.entrypoint(kind, variant);
        const declared = doc.image?.entrypoint ?? { ...labEntry, file: {} };
        const same = JSON.stringify(canonicalFile(declared.file)) === JSON.stringify(canonicalFile(labEntry.file));
        if (!same) {
          out.push({
            file,
            name: doc.name,
            runtime: "runc",
            differences: [
              `the example declares ${JSON.stringify(canonicalFile(declared.file))}, the lab's ${args[0]} is ${JSON.stringify(canonicalFile(labEntry.file))}`,
            ],
          });
          continue;
        }
        const prediction = predictContainer(
          { file, name: doc.name, source: doc.source, entrypoint: declared, accounts, caller: lab.caller },
          profile,
        );
        if (prediction.failed === null || !prediction.failed.step.endsWith(": refused"))
          out.push({
            file,
            name: doc.name,
            runtime: "runc",
            differences: compareContainer(prediction, await lab.runRunc(prediction.oci)),
          });
        if (doc.source.kind === "engine" && doc.source.request.engine === "docker") {
          if (!dockerStarted) await lab.startDocker();
          dockerStarted = true;
          out.push({
            file,
            name: doc.name,
            runtime: "docker",
            differences: compareContainer(prediction, await lab.runDocker(doc.source.request, variant)),
          });
        }
      }
    }
  } finally {
    lab.close();
  }
  return out;
}

/** An entrypoint's file as compared: set-id bits with their ids, and the file capabilities. */
function canonicalFile(f: import("../src/ops.js").ExecFile): Record<string, unknown> {
  return {
    setuid: f.setuid ? (f.owner ?? 0) : false,
    setgid: f.setgid ? (f.group ?? 0) : false,
    caps: f.caps ? { p: f.caps.permitted.toHex(), i: f.caps.inheritable.toHex(), e: f.caps.effective } : null,
  };
}
