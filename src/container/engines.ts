// What a container engine hands the runtime: the OCI `process` section (user, the five
// capability lists, noNewPrivileges, args) that Docker, Podman or containerd's CRI plugin
// (Kubernetes) writes from a `docker run` line, a Compose service or a Pod's securityContext.
// Each rule cites the engine source it follows and is recorded as a decision, so that a
// prediction can say where every value came from.
import { CapSet } from "../capabilities/set.js";
import { CAPABILITIES, capabilityInfo, capabilityNumber } from "../capabilities/table.js";
import type { KernelProfile } from "../kernel/profiles.js";
import type { ExecFile } from "../ops.js";
import { ContainerInputError } from "./errors.js";
import { additionalGroups, groupsOfUser, lookupGroup, lookupUser, type Accounts } from "./accounts.js";

export type EngineName = "docker" | "podman" | "containerd";
export const ENGINE_NAMES: readonly EngineName[] = ["docker", "podman", "containerd"];
export type RuntimeName = "runc";
export const RUNTIME_NAMES: readonly RuntimeName[] = ["runc"];

/** The five lists of an OCI `process.capabilities` section, as numbers. */
export interface OciCapabilities {
  readonly bounding: CapSet;
  readonly effective: CapSet;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
  readonly ambient: CapSet;
}
export const OCI_CAP_LISTS = ["bounding", "effective", "permitted", "inheritable", "ambient"] as const;

/** The OCI runtime spec's `process` section, as far as credentials go. */
export interface OciProcess {
  readonly user: { readonly uid: number; readonly gid: number; readonly additionalGids: readonly number[] };
  readonly capabilities: OciCapabilities;
  readonly noNewPrivileges: boolean;
  /** args[0] is the entrypoint; empty when the request names none (the image's own). */
  readonly args: readonly string[];
}

/** Where one value of the OCI process came from. */
export interface Decision {
  readonly field: string;
  readonly value: string;
  readonly source: string;
}

/** What the entrypoint looks like on disk (read from a rootfs, or assumed plain). */
export interface Entrypoint {
  /** The path inside the container; null when it is not known. */
  readonly path: string | null;
  readonly file: ExecFile;
  /** false: nothing was read, a plain program (no set-id bits, no file capabilities) is assumed. */
  readonly known: boolean;
}

/** A container as an engine user writes it, before the engine's rules. */
export interface EngineRequest {
  readonly engine: EngineName;
  /** `--user` / Compose `user`: "uid", "name", "uid:gid", "name:group"; undefined: the image's (root here). */
  readonly user?: string | undefined;
  /** Kubernetes runAsUser / runAsGroup (numbers win over `user`). */
  readonly runAsUser?: number | undefined;
  readonly runAsGroup?: number | undefined;
  readonly runAsNonRoot?: boolean | undefined;
  /** `--group-add` / `group_add` / supplementalGroups and fsGroup, as written. */
  readonly groupAdd?: readonly string[] | undefined;
  readonly capAdd?: readonly string[] | undefined;
  readonly capDrop?: readonly string[] | undefined;
  readonly privileged?: boolean | undefined;
  readonly noNewPrivileges?: boolean | undefined;
  readonly args?: readonly string[] | undefined;
}

/** An engine's answer: the OCI process, or the engine's refusal (no container starts). */
export interface EnginePlan {
  readonly process: OciProcess;
  readonly decisions: readonly Decision[];
  /** The engine refuses the request: its message (nothing is handed to the runtime). */
  readonly refused: string | null;
}

const MOBY_DEFAULTS = "moby oci/caps/defaults.go DefaultCapabilities";
/** moby's and containerd's default capabilities (moby oci/caps/defaults.go, containerd oci/spec.go). */
const MOBY_DEFAULT_CAPS = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
] as const;
const DEFAULT_CAPS: Readonly<Record<EngineName, readonly string[]>> = {
  docker: MOBY_DEFAULT_CAPS,
  // the same list (containerd oci/spec.go defaultUnixCaps)
  containerd: MOBY_DEFAULT_CAPS,
  // containers.conf default_capabilities since Podman 4.0 (no NET_RAW, MKNOD, AUDIT_WRITE)
  podman: [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
  ],
};
const DEFAULT_SOURCE: Readonly<Record<EngineName, string>> = {
  docker: MOBY_DEFAULTS,
  containerd: "containerd oci/spec.go defaultUnixCaps (the CRI plugin's default for Kubernetes)",
  podman: "containers.conf default_capabilities (Podman 4)",
};
/**
 * The highest capability an engine knows: Docker 20.10 (Debian 12's docker.io) stops at
 * CAP_AUDIT_READ (37) so that an old vendored runc is never handed a name it cannot parse
 * (moby oci/caps/utils.go init); `ALL` and `--privileged` then mean 0..37, and a newer name is
 * "unknown capability".
 */
const ENGINE_LAST_CAP: Readonly<Record<EngineName, number>> = { docker: 37, containerd: 63, podman: 63 };

/** The capabilities an engine knows on this kernel. */
export function engineCapabilities(engine: EngineName, profile: KernelProfile): CapSet {
  return CapSet.upTo(Math.min(profile.lastCap, ENGINE_LAST_CAP[engine]));
}

/** One name as an engine reads it: any case, CAP_ optional; an unknown name is the engine's refusal. */
function engineName(token: string, engine: EngineName, known: CapSet): number | string {
  const n = capabilityNumber(token);
  if (n === undefined || !known.has(n)) {
    const spelled = `CAP_${token.toUpperCase().replace(/^CAP_/, "")}`;
    return engine === "docker" ? `unknown capability: "${spelled}"` : `unknown capability "${spelled}"`;
  }
  return n;
}

const namesOf = (s: CapSet) => (s.isEmpty ? "(none)" : s.names().join(", "));

/**
 * The OCI process an engine makes from a request. Follows moby 20.10 (daemon/oci_linux.go
 * WithCapabilities, getUser; oci/oci.go SetCapabilities), containerd's CRI plugin
 * (WithCapabilities: ALL first, then adds, then drops; WithUser / WithAdditionalGIDs) and
 * Podman (pkg/specgen/generate/security.go).
 */
export function enginePlan(req: EngineRequest, accounts: Accounts, profile: KernelProfile): EnginePlan {
  const engine = req.engine;
  const decisions: Decision[] = [];
  const known = engineCapabilities(engine, profile);
  const empty: OciProcess = {
    user: { uid: 0, gid: 0, additionalGids: [] },
    capabilities: {
      bounding: CapSet.EMPTY,
      effective: CapSet.EMPTY,
      permitted: CapSet.EMPTY,
      inheritable: CapSet.EMPTY,
      ambient: CapSet.EMPTY,
    },
    noNewPrivileges: false,
    args: req.args ?? [],
  };
  const refuse = (message: string): EnginePlan => ({ process: empty, decisions, refused: message });

  // --- the capability list (TweakCapabilities in moby; the CRI plugin's WithCapabilities) ---
  const add = req.capAdd ?? [],
    drop = req.capDrop ?? [];
  const isAll = (t: string) => t.toUpperCase() === "ALL";
  const parse = (list: readonly string[]): CapSet | string => {
    let set = CapSet.EMPTY;
    for (const t of list) {
      if (isAll(t)) continue;
      const n = engineName(t, engine, known);
      if (typeof n === "string") return n;
      set = set.with(n);
    }
    return set;
  };
  const adds = parse(add),
    drops = parse(drop);
  if (typeof adds === "string") return refuse(adds);
  if (typeof drops === "string") return refuse(drops);
  const defaults = DEFAULT_CAPS[engine]
    .reduce((s, n) => s.with(capabilityNumber(n) ?? 0), CapSet.EMPTY)
    .intersect(known);
  let caps: CapSet;
  if (req.privileged) {
    caps = known;
    decisions.push({
      field: "capabilities",
      value: `every capability the engine knows (${known.size}: up to ${capabilityInfo(Math.max(...known)).name})`,
      source:
        engine === "docker"
          ? "privileged: moby TweakCapabilities returns GetAllCapabilities (Docker 20.10: up to CAP_AUDIT_READ)"
          : "privileged: every capability",
    });
  } else if (engine === "containerd") {
    // CRI: "ALL" in add first, then "ALL" in drop, then each add, then each drop: a drop wins
    caps = defaults;
    if (add.some(isAll)) caps = known;
    if (drop.some(isAll)) caps = CapSet.EMPTY;
    caps = caps.union(adds).difference(drops);
    decisions.push({
      field: "capabilities",
      value: namesOf(caps),
      source: `${DEFAULT_SOURCE[engine]}, then capabilities.add, then capabilities.drop (a drop wins over an add of the same name)`,
    });
  } else {
    // moby TweakCapabilities: add ALL = all but the drops; drop ALL = only the adds; otherwise
    // the defaults minus the drops, plus the adds (an add wins over a drop of the same name)
    if (add.some(isAll)) caps = known.difference(drops);
    else if (drop.some(isAll)) caps = adds;
    else caps = defaults.difference(drops).union(adds);
    decisions.push({
      field: "capabilities",
      value: namesOf(caps),
      source: `${DEFAULT_SOURCE[engine]}, minus cap_drop, plus cap_add (${engine === "docker" ? "moby TweakCapabilities" : "Podman MergeCapabilities"}: an add wins over a drop of the same name)`,
    });
  }

  // --- the user (moby getUser; CRI WithUser/WithUserID; both read the image's passwd and group) ---
  let uid: number, gid: number;
  let sgids: number[] = [];
  let userName: string | null = null;
  if (req.runAsUser !== undefined || req.runAsGroup !== undefined) {
    uid = req.runAsUser ?? 0;
    const entry = lookupUser(accounts, String(uid));
    userName = entry?.name ?? null;
    if (req.runAsGroup !== undefined) gid = req.runAsGroup;
    else gid = entry?.gid ?? 0;
    decisions.push({
      field: "user",
      value: `uid ${uid}, gid ${gid}`,
      source:
        req.runAsGroup !== undefined
          ? "runAsUser and runAsGroup"
          : entry
            ? `runAsUser; the gid is the image's passwd entry for uid ${uid} (containerd WithUserID)`
            : `runAsUser; gid 0: the image has no passwd entry for uid ${uid} (containerd WithUserID)`,
    });
  } else {
    const spec = req.user ?? "";
    const [userArg = "", groupArg] = spec.split(":", 2);
    const numeric = /^\d+$/.test(userArg);
    const entry = userArg === "" ? lookupUser(accounts, "0") : lookupUser(accounts, userArg);
    if (!entry && userArg !== "" && !numeric)
      return refuse(
        accounts.passwd === null
          ? `unable to find user ${userArg}: no passwd file in the image (give the image's root with --rootfs)`
          : `unable to find user ${userArg}: no matching entries in passwd file`,
      );
    uid = entry ? entry.uid : numeric ? Number(userArg) : 0;
    if (uid > 0x7fffffff) return refuse(`uid ${userArg} is out of range`);
    userName = entry?.name ?? null;
    gid = entry?.gid ?? 0;
    let gidSource = entry
      ? `the image's passwd entry for ${entry.name}`
      : `gid 0: the image has no passwd entry for uid ${uid} and no group was given`;
    if (groupArg !== undefined && groupArg !== "") {
      const g = lookupGroup(accounts, groupArg);
      if (!g && !/^\d+$/.test(groupArg))
        return refuse(`unable to find group ${groupArg}: no matching entries in group file`);
      gid = g ? g.gid : Number(groupArg);
      gidSource = `the group given (${groupArg})`;
    } else if (userName) {
      // GetExecUser: without a group, the groups of /etc/group that list the user by name
      sgids = groupsOfUser(accounts, userName);
    }
    decisions.push({
      field: "user",
      value: `uid ${uid}, gid ${gid}`,
      source: `${spec === "" ? "no user given: the image's default, root" : `user "${spec}"`}; ${gidSource} (libcontainer user.GetExecUser)`,
    });
  }
  if (req.runAsNonRoot && uid === 0)
    return refuse(
      "container has runAsNonRoot and image will run as root (the kubelet refuses to start it: give runAsUser a non-zero uid)",
    );
  const added = additionalGroups(accounts, req.groupAdd ?? []);
  if (typeof added === "string") return refuse(added);
  // moby getUser: AdditionalGids = [gid] + the user's groups + group_add; the CRI plugin and
  // Podman likewise put the primary gid first
  const additionalGids = [gid, ...sgids, ...added];
  decisions.push({
    field: "user.additionalGids",
    value: additionalGids.join(", "),
    source:
      "the primary gid, the image's /etc/group entries that name the user, then group_add / supplementalGroups / fsGroup (moby getUser; containerd WithAdditionalGIDs)",
  });

  // --- which lists the capabilities fill ---
  let capabilities: OciCapabilities;
  if (engine === "docker" && uid !== 0) {
    capabilities = { ...empty.capabilities, bounding: caps };
    decisions.push({
      field: "capabilities.bounding",
      value: namesOf(caps),
      source:
        "a non-root user gets the list in bounding only; permitted, effective, inheritable and ambient stay empty (moby oci.SetCapabilities, Docker 20.10)",
    });
  } else if (engine === "podman" && uid !== 0) {
    const userCaps = adds.intersect(caps);
    capabilities = {
      bounding: caps,
      effective: userCaps,
      permitted: userCaps,
      inheritable: userCaps,
      ambient: userCaps,
    };
    decisions.push({
      field: "capabilities.ambient",
      value: namesOf(userCaps),
      source: "a non-root user gets the added capabilities in every list, ambient too (Podman security.go)",
    });
  } else {
    capabilities = {
      bounding: caps,
      effective: caps,
      permitted: caps,
      inheritable: CapSet.EMPTY,
      ambient: CapSet.EMPTY,
    };
    decisions.push({
      field: "capabilities.bounding, permitted, effective",
      value: namesOf(caps),
      source:
        "inheritable and ambient stay empty (moby since 20.10.14 and containerd since 1.6.2: the CVE-2022-24769 fix)",
    });
  }
  const nnp = Boolean(req.noNewPrivileges);
  if (nnp)
    decisions.push({
      field: "noNewPrivileges",
      value: "true",
      source:
        engine === "containerd"
          ? "allowPrivilegeEscalation: false"
          : "security_opt no-new-privileges (docker run --security-opt no-new-privileges)",
    });
  return {
    process: { user: { uid, gid, additionalGids }, capabilities, noNewPrivileges: nnp, args: req.args ?? [] },
    decisions,
    refused: null,
  };
}

/** The names of a CapSet as the OCI spec spells them. */
export function ociNames(set: CapSet): string[] {
  return [...set].map((n) => CAPABILITIES[n]?.name ?? String(n));
}

export { ContainerInputError };
