// The files `capgate container` reads, each turned into the containers it describes: an OCI
// runtime config.json (its process section as given), a Kubernetes manifest (every container
// of a Pod, a workload's pod template, a CronJob's job template, a kubectl List), a Compose
// file (each service), or a `docker run` argument list. Types are checked as the API server and
// Compose check them: a wrong type is one line naming the file, the path and the field.
import { CapSet } from "../capabilities/set.js";
import { capabilityNumber } from "../capabilities/table.js";
import type { KernelProfile } from "../kernel/profiles.js";
import { jsonDocument, yamlDocuments, type LNode } from "../lint/tree.js";
import { LintInputError } from "../lint/errors.js";
import { ContainerInputError } from "./errors.js";
import type { EngineName, EngineRequest, Entrypoint, OciProcess } from "./engines.js";
import { parseAccounts, type Accounts } from "./accounts.js";
import { parseCapText } from "../formats/libcap-text.js";
import { FormatError } from "../formats/errors.js";
import type { ContainerSource } from "./predict.js";

export type ContainerFileKind = "oci" | "kubernetes" | "compose";

/** One container a file describes, before the rootfs is read. */
export interface ContainerDoc {
  readonly name: string;
  /** The line where the container is described. */
  readonly line: number;
  readonly source: ContainerSource;
  /** OCI: the rootfs directory (root.path, relative to the config's directory). */
  readonly rootfs: string | null;
  /** OCI: process.env's PATH, for a relative args[0]. */
  readonly path: string | null;
  /** Compose `x-capgate`: what the image holds, declared where capgate cannot read the image. */
  readonly image?: { readonly accounts: Accounts; readonly entrypoint: Entrypoint | undefined } | undefined;
}

const MAX_ID = 0xfffffffe;

class Where {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly line: number,
  ) {}
  at(key: string | number, node?: LNode): Where {
    return new Where(
      this.file,
      typeof key === "number" ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key,
      node?.line ?? this.line,
    );
  }
  fail(problem: string): never {
    throw new ContainerInputError(
      `${this.file}${this.line ? `:${this.line}` : ""}: ${this.path || "the document"}: ${problem}`,
    );
  }
}

const get = (n: LNode | null | undefined, key: string): LNode | undefined =>
  n?.t === "map" ? n.pairs.find(([k]) => k === key)?.[1] : undefined;

function asMap(n: LNode | undefined, w: Where): LNode | undefined {
  if (n === undefined || (n.t === "scalar" && n.value === null)) return undefined;
  if (n.t !== "map") w.fail("must be a mapping");
  return n;
}
function asInt(n: LNode | undefined, w: Where, min = 0, max = MAX_ID): number | undefined {
  if (n === undefined || (n.t === "scalar" && n.value === null)) return undefined;
  if (n.t !== "scalar" || typeof n.value !== "number" || !Number.isInteger(n.value) || n.value < min || n.value > max)
    w.fail(`must be an integer from ${min} to ${max}`);
  return n.value;
}
function asBool(n: LNode | undefined, w: Where): boolean | undefined {
  if (n === undefined || (n.t === "scalar" && n.value === null)) return undefined;
  if (n.t !== "scalar" || typeof n.value !== "boolean") w.fail("must be true or false");
  return n.value;
}
function asString(n: LNode | undefined, w: Where, numbers = false): string | undefined {
  if (n === undefined || (n.t === "scalar" && n.value === null)) return undefined;
  if (n.t === "scalar" && typeof n.value === "string") return n.value;
  if (numbers && n.t === "scalar" && typeof n.value === "number" && Number.isInteger(n.value)) return String(n.value);
  return w.fail("must be a string");
}
function asStrings(n: LNode | undefined, w: Where, numbers = false): string[] | undefined {
  if (n === undefined || (n.t === "scalar" && n.value === null)) return undefined;
  if (n.t === "scalar" && typeof n.value === "string") return [n.value];
  if (n.t !== "seq") w.fail("must be a list of strings");
  return n.items.map((item, i) => asString(item, w.at(i, item), numbers) ?? w.at(i, item).fail("must be a string"));
}

/** A capability name as the file spells it: unknown names are input errors, naming the field. */
function checkNames(
  list: readonly string[] | undefined,
  w: Where,
  style: "oci" | "engine",
  profile: KernelProfile,
): void {
  list?.forEach((name, i) => {
    if (style === "engine" && name.toUpperCase() === "ALL") return;
    const n = capabilityNumber(name);
    const okSpelling = style === "oci" ? /^CAP_[A-Z_]+$/.test(name) : true;
    if (n === undefined || !okSpelling || n > profile.lastCap)
      w.at(i).fail(
        n === undefined || !okSpelling
          ? `${JSON.stringify(name)} is not a capability${style === "oci" ? " (OCI names are spelled CAP_NET_RAW)" : ""}`
          : `${name} does not exist in kernel ${profile.version}`,
      );
  });
}

/** Which kind of file this is (config.json, a manifest, a Compose file). */
export function containerFileKind(file: string, text: string): ContainerFileKind {
  if (/^\s*\{/.test(text) && /"ociVersion"\s*:/.test(text)) return "oci";
  if (/^\s*"?services"?\s*:/m.test(text) || /^\s*\{[\s\S]*"services"\s*:/.test(text)) return "compose";
  if (/^\s*"?(apiVersion|kind)"?\s*:/m.test(text)) return "kubernetes";
  throw new ContainerInputError(
    `${file}: not a container file capgate knows: expected an OCI runtime config.json (ociVersion), a Kubernetes manifest (apiVersion/kind) or a Compose file (services:)`,
  );
}

function documentsOf(file: string, text: string): Array<LNode | null> {
  try {
    return /^\s*[[{]/.test(text) ? [jsonDocument(text)] : [...yamlDocuments(text)];
  } catch (e) {
    if (e instanceof LintInputError) throw new ContainerInputError(`${file}: ${e.message}`);
    throw e;
  }
}

/** The containers a file describes. */
export function containerDocuments(file: string, text: string, profile: KernelProfile): ContainerDoc[] {
  const kind = containerFileKind(file, text);
  const docs = documentsOf(file, text);
  const out: ContainerDoc[] = [];
  for (const doc of docs) {
    if (doc === null) continue;
    const w = new Where(file, "", doc.line);
    if (kind === "oci") out.push(ociDocument(doc, w, profile));
    else if (kind === "compose") out.push(...composeDocument(doc, w, profile));
    else out.push(...kubernetesDocument(doc, w, profile));
  }
  if (out.length === 0) throw new ContainerInputError(`${file}: describes no container`);
  return out;
}

function ociDocument(doc: LNode, w: Where, profile: KernelProfile): ContainerDoc {
  const process = asMap(get(doc, "process"), w.at("process")) ?? w.at("process").fail("is missing");
  const pw = w.at("process", process);
  const user = asMap(get(process, "user"), pw.at("user")) ?? pw.at("user").fail("is missing");
  const uw = pw.at("user", user);
  const uid = asInt(get(user, "uid"), uw.at("uid", get(user, "uid"))) ?? 0;
  const gid = asInt(get(user, "gid"), uw.at("gid", get(user, "gid"))) ?? 0;
  const additionalGids = (() => {
    const n = get(user, "additionalGids");
    const aw = uw.at("additionalGids", n);
    if (n === undefined) return [];
    if (n.t !== "seq") return aw.fail("must be a list of integers");
    return n.items.map((item, i) => asInt(item, aw.at(i, item)) ?? aw.at(i, item).fail("must be an integer"));
  })();
  const capsNode = asMap(get(process, "capabilities"), pw.at("capabilities"));
  const cw = pw.at("capabilities", capsNode);
  const list = (name: string): CapSet => {
    const n = get(capsNode, name);
    const names = asStrings(n, cw.at(name, n)) ?? [];
    checkNames(names, cw.at(name, n), "oci", profile);
    return names.reduce((s, t) => s.with(capabilityNumber(t) ?? 0), CapSet.EMPTY);
  };
  const args = asStrings(get(process, "args"), pw.at("args", get(process, "args"))) ?? [];
  if (args.length === 0) pw.at("args").fail("must name the program to run (args[0])");
  const env = asStrings(get(process, "env"), pw.at("env", get(process, "env"))) ?? [];
  const pathVar = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? null;
  const root = asMap(get(doc, "root"), w.at("root"));
  const rootPath = asString(get(root, "path"), w.at("root").at("path", get(root, "path"))) ?? null;
  const hostname = asString(get(doc, "hostname"), w.at("hostname", get(doc, "hostname")));
  const oci: OciProcess = {
    user: { uid, gid, additionalGids },
    capabilities: {
      bounding: list("bounding"),
      effective: list("effective"),
      permitted: list("permitted"),
      inheritable: list("inheritable"),
      ambient: list("ambient"),
    },
    noNewPrivileges:
      asBool(get(process, "noNewPrivileges"), pw.at("noNewPrivileges", get(process, "noNewPrivileges"))) ?? false,
    args,
  };
  return {
    name: hostname ?? "process",
    line: process.line,
    source: { kind: "oci", process: oci },
    rootfs: rootPath,
    path: pathVar,
  };
}

function composeDocument(doc: LNode, w: Where, profile: KernelProfile): ContainerDoc[] {
  const services = asMap(get(doc, "services"), w.at("services")) ?? w.at("services").fail("is missing");
  if (services.t !== "map") return [];
  return services.pairs.map(([name, svc]) => {
    const sw = w.at("services").at(name, svc);
    const s = asMap(svc, sw) ?? sw.fail("must be a mapping");
    const field = (k: string) => [get(s, k), sw.at(k, get(s, k))] as const;
    const capAdd = asStrings(...field("cap_add"));
    const capDrop = asStrings(...field("cap_drop"));
    checkNames(capAdd, field("cap_add")[1], "engine", profile);
    checkNames(capDrop, field("cap_drop")[1], "engine", profile);
    const securityOpt = asStrings(...field("security_opt")) ?? [];
    const entrypoint = asStrings(...field("entrypoint"));
    const command = asStrings(...field("command"));
    const request: EngineRequest = {
      engine: "docker",
      user: asString(...field("user"), true),
      groupAdd: asStrings(get(s, "group_add"), sw.at("group_add", get(s, "group_add")), true),
      capAdd,
      capDrop,
      privileged: asBool(...field("privileged")),
      noNewPrivileges: securityOpt.some(noNewPrivilegesOption),
      args: [...(entrypoint ?? []), ...(command ?? [])],
    };
    const x = get(s, "x-capgate");
    return {
      name,
      line: svc.line,
      source: { kind: "engine", request },
      rootfs: null,
      path: null,
      image: x === undefined ? undefined : declaredImage(x, sw.at("x-capgate", x), request.args?.[0] ?? null, profile),
    };
  });
}

/**
 * A Compose service's `x-capgate` (Compose ignores x- fields): the image's /etc/passwd and
 * /etc/group as text (absent: the image has none), and the entrypoint's set-id bits and file
 * capabilities (setcap's text), for a prediction without the image at hand.
 */
function declaredImage(
  node: LNode,
  w: Where,
  argv0: string | null,
  profile: KernelProfile,
): NonNullable<ContainerDoc["image"]> {
  const m = asMap(node, w) ?? w.fail("must be a mapping");
  for (const [k, v] of m.t === "map" ? m.pairs : [])
    if (!["passwd", "group", "entrypoint"].includes(k))
      w.at(k, v).fail("is not a field capgate reads (passwd, group, entrypoint)");
  const passwd = asString(get(m, "passwd"), w.at("passwd", get(m, "passwd"))) ?? null;
  const group = asString(get(m, "group"), w.at("group", get(m, "group"))) ?? null;
  const e = asMap(get(m, "entrypoint"), w.at("entrypoint", get(m, "entrypoint")));
  let entrypoint: Entrypoint | undefined;
  if (e) {
    const ew = w.at("entrypoint", e);
    const f = (k: string) => [get(e, k), ew.at(k, get(e, k))] as const;
    const capsText = asString(...f("caps"));
    let caps;
    if (capsText !== undefined) {
      try {
        const t = parseCapText(capsText, profile);
        caps = { permitted: t.permitted, inheritable: t.inheritable, effective: !t.effective.isEmpty };
      } catch (err) {
        if (err instanceof FormatError) f("caps")[1].fail(err.message);
        throw err;
      }
    }
    const owner = asInt(...f("owner")),
      group = asInt(...f("group"));
    entrypoint = {
      path: argv0,
      known: true,
      file: {
        setuid: asBool(...f("setuid")) ?? false,
        owner: owner ?? 0,
        setgid: asBool(...f("setgid")) ?? false,
        group: group ?? 0,
        ...(caps ? { caps } : {}),
      },
    };
  }
  return { accounts: parseAccounts(passwd, group), entrypoint };
}

/** security_opt: "no-new-privileges", "no-new-privileges:true" or "=true" (docker run's parser). */
export function noNewPrivilegesOption(opt: string): boolean {
  return /^no-new-privileges([:=]true)?$/.test(opt.trim());
}

const WORKLOADS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
  PodTemplate: ["template", "spec"],
};

function kubernetesDocument(doc: LNode, w: Where, profile: KernelProfile): ContainerDoc[] {
  const kind = asString(get(doc, "kind"), w.at("kind", get(doc, "kind")));
  if (kind === "List" || (kind?.endsWith("List") ?? false)) {
    const items = get(doc, "items");
    if (items === undefined) return [];
    if (items.t !== "seq") return w.at("items", items).fail("must be a list");
    return items.items.flatMap((item, i) => kubernetesDocument(item, w.at("items").at(i, item), profile));
  }
  const path = kind ? WORKLOADS[kind] : undefined;
  if (!path) return [];
  let node: LNode | undefined = doc,
    nw = w;
  for (const key of path) {
    const next = get(node, key);
    nw = nw.at(key, next);
    node = asMap(next, nw);
    if (!node) return [];
  }
  const podName = asString(get(get(doc, "metadata"), "name"), w.at("metadata.name")) ?? kind ?? "pod";
  const podSc = asMap(get(node, "securityContext"), nw.at("securityContext", get(node, "securityContext")));
  const pw = nw.at("securityContext", podSc);
  const podField = <T>(k: string, read: (n: LNode | undefined, w: Where) => T): T =>
    read(get(podSc, k), pw.at(k, get(podSc, k)));
  const podUser = podField("runAsUser", (n, x) => asInt(n, x, 0, 0x7fffffff));
  const podGroup = podField("runAsGroup", (n, x) => asInt(n, x, 0, 0x7fffffff));
  const podNonRoot = podField("runAsNonRoot", asBool);
  const supplemental = (() => {
    const n = get(podSc, "supplementalGroups");
    const sw = pw.at("supplementalGroups", n);
    if (n === undefined) return [];
    if (n.t !== "seq") return sw.fail("must be a list of integers");
    return n.items.map((item, i) => asInt(item, sw.at(i, item)) ?? sw.at(i, item).fail("must be an integer"));
  })();
  const fsGroup = podField("fsGroup", (n, x) => asInt(n, x, 0, 0x7fffffff));
  const out: ContainerDoc[] = [];
  for (const list of ["initContainers", "containers"]) {
    const cs = get(node, list);
    const lw = nw.at(list, cs);
    if (cs === undefined) continue;
    if (cs.t !== "seq") return lw.fail("must be a list");
    cs.items.forEach((c, i) => {
      const cw = lw.at(i, c);
      if (c.t !== "map") cw.fail("must be a mapping");
      const name = asString(get(c, "name"), cw.at("name", get(c, "name"))) ?? `${list}[${i}]`;
      const sc = asMap(get(c, "securityContext"), cw.at("securityContext", get(c, "securityContext")));
      const sw = cw.at("securityContext", sc);
      const f = (k: string) => [get(sc, k), sw.at(k, get(sc, k))] as const;
      const caps = asMap(get(sc, "capabilities"), sw.at("capabilities", get(sc, "capabilities")));
      const capw = sw.at("capabilities", caps);
      const add = asStrings(get(caps, "add"), capw.at("add", get(caps, "add")));
      const drop = asStrings(get(caps, "drop"), capw.at("drop", get(caps, "drop")));
      checkNames(add, capw.at("add", get(caps, "add")), "engine", profile);
      checkNames(drop, capw.at("drop", get(caps, "drop")), "engine", profile);
      const runAsUser = asInt(...f("runAsUser"), 0, 0x7fffffff) ?? podUser;
      const runAsGroup = asInt(...f("runAsGroup"), 0, 0x7fffffff) ?? podGroup;
      const ape = asBool(...f("allowPrivilegeEscalation"));
      const privileged = asBool(...f("privileged"));
      const command = asStrings(get(c, "command"), cw.at("command", get(c, "command"))) ?? [];
      const args = asStrings(get(c, "args"), cw.at("args", get(c, "args"))) ?? [];
      const request: EngineRequest = {
        engine: "containerd",
        runAsUser,
        runAsGroup,
        runAsNonRoot: asBool(...f("runAsNonRoot")) ?? podNonRoot,
        groupAdd: [...supplemental, ...(fsGroup !== undefined ? [fsGroup] : [])].map(String),
        capAdd: add,
        capDrop: drop,
        privileged,
        noNewPrivileges: ape === false,
        args: [...command, ...args],
      };
      out.push({
        name: `${podName}/${name}`,
        line: c.line,
        source: { kind: "engine", request },
        rootfs: null,
        path: null,
      });
    });
  }
  return out;
}

/** Flags of `docker run` that take a value (the rest of docker run's flags take none). */
const VALUE_FLAGS = new Set([
  "-a",
  "--attach",
  "--add-host",
  "--blkio-weight",
  "--cgroup-parent",
  "--cgroupns",
  "--cidfile",
  "--cpus",
  "--cpu-shares",
  "-c",
  "--cpuset-cpus",
  "--device",
  "--dns",
  "--dns-search",
  "--dns-option",
  "-e",
  "--env",
  "--env-file",
  "--entrypoint",
  "--expose",
  "-h",
  "--hostname",
  "--ipc",
  "-l",
  "--label",
  "--label-file",
  "--log-driver",
  "--log-opt",
  "-m",
  "--memory",
  "--memory-swap",
  "--mount",
  "--name",
  "--network",
  "--net",
  "--network-alias",
  "--pid",
  "--pids-limit",
  "--platform",
  "-p",
  "--publish",
  "--pull",
  "--restart",
  "--runtime",
  "--shm-size",
  "--stop-signal",
  "--stop-timeout",
  "--storage-opt",
  "--sysctl",
  "--tmpfs",
  "--ulimit",
  "--userns",
  "--uts",
  "-v",
  "--volume",
  "--volumes-from",
  "-w",
  "--workdir",
  "--health-cmd",
  "--health-interval",
  "--ip",
  "--ip6",
  "--link",
  "--mac-address",
  "--oom-score-adj",
  "--device-cgroup-rule",
  "--gpus",
  "--isolation",
  "--detach-keys",
  "--user",
  "-u",
  "--group-add",
  "--cap-add",
  "--cap-drop",
  "--security-opt",
]);

/** `docker run [OPTIONS] IMAGE [COMMAND] [ARG...]` (the words after `docker run`, or with them). */
export function dockerRunRequest(
  argv: readonly string[],
  profile: KernelProfile,
  engine: EngineName = "docker",
): { name: string; request: EngineRequest } {
  const words = [...argv];
  if (words[0] === "docker" || words[0] === "podman") words.shift();
  if (words[0] === "container") words.shift();
  if (words[0] === "run" || words[0] === "create") words.shift();
  let user: string | undefined;
  const groupAdd: string[] = [],
    capAdd: string[] = [],
    capDrop: string[] = [];
  let privileged = false,
    nnp = false,
    entrypoint: string | undefined;
  let i = 0;
  for (; i < words.length; i++) {
    const wd = words[i]!; // (i < length)
    if (!wd.startsWith("-") || wd === "-") break;
    if (wd === "--") {
      i++;
      break;
    }
    const eq = wd.indexOf("=");
    const flag = wd.startsWith("--") && eq > 0 ? wd.slice(0, eq) : wd;
    let value: string | undefined = wd.startsWith("--") && eq > 0 ? wd.slice(eq + 1) : undefined;
    if (value === undefined && /^-[a-z]$/i.test(flag.slice(0, 2)) && flag.length > 2 && !flag.startsWith("--")) {
      // -u1000, or combined single-letter switches such as -it
      const letter = flag.slice(0, 2);
      if (VALUE_FLAGS.has(letter)) {
        value = flag.slice(2);
        handle(letter, value);
        continue;
      }
      continue;
    }
    if (VALUE_FLAGS.has(flag)) {
      if (value === undefined) {
        value = words[++i];
        if (value === undefined) throw new ContainerInputError(`docker run: ${flag} needs a value`);
      }
      handle(flag, value);
    } else if (flag === "--privileged") privileged = value === undefined || value === "true";
  }
  function handle(flag: string, value: string): void {
    if (flag === "-u" || flag === "--user") user = value;
    else if (flag === "--group-add") groupAdd.push(value);
    else if (flag === "--cap-add") capAdd.push(...value.split(","));
    else if (flag === "--cap-drop") capDrop.push(...value.split(","));
    else if (flag === "--security-opt") nnp ||= noNewPrivilegesOption(value);
    else if (flag === "--entrypoint") entrypoint = value;
  }
  const image = words[i];
  if (image === undefined)
    throw new ContainerInputError("docker run: no image named (docker run [OPTIONS] IMAGE [COMMAND])");
  const where = new Where("docker run", "", 0);
  checkNames(capAdd, where.at("--cap-add"), "engine", profile);
  checkNames(capDrop, where.at("--cap-drop"), "engine", profile);
  const command = words.slice(i + 1);
  return {
    name: image,
    request: {
      engine,
      user,
      groupAdd,
      capAdd,
      capDrop,
      privileged,
      noNewPrivileges: nnp,
      args: entrypoint !== undefined ? [entrypoint, ...command] : command,
    },
  };
}
