// capgate lint: the capability lists of a Kubernetes manifest, a Compose file or a systemd
// unit, checked against the kernel profile and each ecosystem's own rules.
import { argObject, argProfile, argText } from "../args.js";
import { LintInputError } from "./errors.js";
import { yamlDocuments, jsonDocument, type LNode } from "./tree.js";
import { CapSet } from "../capabilities/set.js";
import { CAPABILITIES, capabilityInfo, capabilityNumber } from "../capabilities/table.js";
import { kernelProfile, type KernelProfile } from "../kernel/profiles.js";
import { CONTAINER_DEFAULT_CAPS } from "../formats/names.js";
import { containerDocuments } from "../container/documents.js";
import { predictContainer } from "../container/predict.js";
import { ContainerInputError } from "../container/errors.js";

export type LintKind = "kubernetes" | "compose" | "systemd";
export interface Finding {
  /** A systemd drop-in the finding is in (absent: the file linted). */
  readonly file?: string;
  readonly line: number;
  readonly severity: "error" | "warning";
  /** Stable id, e.g. "lint.k8s.cap-prefix". */
  readonly rule: string;
  readonly message: string;
  readonly fix: string;
}
export interface LintResult {
  readonly kind: LintKind;
  readonly findings: readonly Finding[];
}

export { LintInputError };

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  // (d[i]![j]!: the table has a.length + 1 rows of b.length + 1 numbers, and i, j stay inside it)
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  return d[a.length]![b.length]!; // (the table's last cell)
}
/** The nearest capability name (without CAP_), for "did you mean". */
export function nearestName(token: string): string {
  const t = token.toUpperCase().replace(/^CAP_/, "");
  let best = capabilityInfo(0).name.slice(4),
    score = Infinity;
  for (const c of CAPABILITIES) {
    const d = distance(t, c.name.slice(4));
    if (d < score) {
      score = d;
      best = c.name.slice(4);
    }
  }
  return best;
}

/** Checks one name: unknown, or newer than the profile. Returns the number when usable. */
function checkName(
  raw: string,
  line: number,
  profile: KernelProfile,
  findings: Finding[],
  spell: (short: string) => string,
): number | undefined {
  const n = capabilityNumber(raw);
  if (n === undefined) {
    findings.push({
      line,
      severity: "error",
      rule: "lint.unknown-name",
      message: `${JSON.stringify(raw)} is not a capability`,
      fix: `did you mean ${spell(nearestName(raw))}?`,
    });
    return undefined;
  }
  if (n > profile.lastCap) {
    findings.push({
      line,
      severity: "error",
      rule: "lint.not-in-kernel",
      message: `${capabilityInfo(n).name} does not exist in kernel ${profile.version} (added in ${capabilityInfo(n).since})`,
      fix: `remove it, or target kernel ${capabilityInfo(n).since} or later`,
    });
    return undefined;
  }
  return n;
}

export function detectKind(path: string, text: string): LintKind {
  if (
    /\.(service|socket|mount|swap|timer|target|path|scope|slice|conf)$/.test(path) ||
    /^\s*\[(Unit|Service|Install)\]/m.test(text)
  )
    return "systemd";
  if (/^\s*"?services"?\s*:/m.test(text)) return "compose";
  if (/^\s*"?(apiVersion|kind)"?\s*:/m.test(text)) return "kubernetes";
  throw new LintInputError(
    "cannot tell what this file is: expected a Kubernetes manifest (apiVersion/kind), a Compose file (services:) or a systemd unit ([Service])",
  );
}

/** One assignment of a unit file, as systemd reads it. */
export interface UnitEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  /** The line the assignment starts on. */
  readonly line: number;
}

/**
 * A unit file as systemd's config parser reads it: `[Section]` headers, `#` and `;` comments,
 * a trailing backslash joining the next line (with a space; comment lines inside are skipped),
 * whitespace around `=` ignored.
 */
export function parseUnit(text: string): UnitEntry[] {
  const out: UnitEntry[] = [];
  const lines = text.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let l = (lines[i] ?? "").trim();
    if (l === "" || l.startsWith("#") || l.startsWith(";")) continue;
    while (l.endsWith("\\") && i + 1 < lines.length) {
      let next = (lines[++i] ?? "").trim();
      while ((next.startsWith("#") || next.startsWith(";")) && i + 1 < lines.length) next = (lines[++i] ?? "").trim();
      l = `${l.slice(0, -1).trimEnd()} ${next}`;
    }
    if (l.endsWith("\\")) l = l.slice(0, -1);
    const header = /^\[([^\]]+)\]$/.exec(l);
    if (header) {
      section = header[1] ?? "";
      continue;
    }
    const eq = l.indexOf("=");
    if (eq < 0) continue;
    out.push({ section, key: l.slice(0, eq).trim(), value: l.slice(eq + 1).trim(), line: start });
  }
  return out;
}

/** The sections whose processes the capability directives of systemd.exec(5) apply to. */
const EXEC_SECTIONS = new Set(["Service", "Socket", "Mount", "Swap"]);

/** A unit and its drop-ins (UNIT.d/*.conf, in name order), each with the name findings use. */
export interface UnitSource {
  readonly file: string;
  readonly text: string;
}

function lintSystemd(text: string, profile: KernelProfile, dropIns: readonly UnitSource[] = []): Finding[] {
  const findings: Finding[] = [];
  // systemd's config_parse_capability_set: unset until the first assignment; an empty one
  // resets; "~" inverts the list; then the first assignment sets, a later plain one ORs and a
  // later inverted one ANDs (CapabilityBoundingSet's unset value is every capability,
  // AmbientCapabilities' none)
  let bounding: CapSet | undefined;
  let ambient: CapSet | undefined;
  let ambientAt: { line: number; file?: string } = { line: 0 };
  const sources: Array<UnitSource & { dropIn: boolean }> = [
    { file: "", text, dropIn: false },
    ...dropIns.map((d) => ({ ...d, dropIn: true })),
  ];
  for (const source of sources)
    for (const entry of parseUnit(source.text)) {
      if (!EXEC_SECTIONS.has(entry.section)) continue;
      if (entry.key !== "CapabilityBoundingSet" && entry.key !== "AmbientCapabilities") continue;
      const line = entry.line;
      const at = source.dropIn ? { file: source.file } : {};
      const before = findings.length;
      const value = entry.value;
      const invert = value.startsWith("~");
      let set = CapSet.EMPTY;
      for (const token of value.replace(/^~/, "").split(/\s+/).filter(Boolean)) {
        if (/^\d+$/.test(token)) {
          // systemd takes capability numbers too (capability_from_name)
          const n = Number(token);
          if (n > profile.lastCap)
            findings.push({
              line,
              severity: "error",
              rule: "lint.not-in-kernel",
              message: `capability ${n} does not exist in kernel ${profile.version} (CAP_LAST_CAP is ${profile.lastCap})`,
              fix: "remove it",
            });
          else set = set.with(n);
          continue;
        }
        if (!/^cap_/i.test(token)) {
          findings.push({
            line,
            severity: "error",
            rule: "lint.systemd.prefix",
            message: `systemd capability names carry the CAP_ prefix: ${JSON.stringify(token)}`,
            fix: `write CAP_${token.toUpperCase()}`,
          });
          continue;
        }
        const n = checkName(token, line, profile, findings, (x) => `CAP_${x}`);
        if (n !== undefined) set = set.with(n);
      }
      for (let k = before; k < findings.length; k++) findings[k] = { ...findings[k]!, ...at }; // (k < length)
      const sum = invert ? profile.all.difference(set) : set;
      if (entry.key === "CapabilityBoundingSet") {
        if (value === "") bounding = undefined;
        else bounding = bounding === undefined ? sum : invert ? bounding.intersect(sum) : bounding.union(sum);
      } else {
        if (value === "") ambient = undefined;
        else ambient = ambient === undefined ? sum : invert ? ambient.intersect(sum) : ambient.union(sum);
        ambientAt = { line, ...at };
      }
    }
  if (bounding && ambient && !ambient.difference(bounding).isEmpty) {
    const outside = ambient.difference(bounding);
    findings.push({
      ...ambientAt,
      severity: "error",
      rule: "lint.systemd.ambient-outside-bounding",
      message: `AmbientCapabilities has ${outside.names().join(", ")}, which CapabilityBoundingSet excludes: the unit fails to start (an ambient capability must first enter inheritable, and capset refuses that once it is out of the bounding set: capset.inheritable-outside-bounding)`,
      fix: `add ${outside.names().join(" ")} to CapabilityBoundingSet, or remove ${outside.size === 1 ? "it" : "them"} from AmbientCapabilities`,
    });
  }
  return findings;
}

function pairsOf(node: LNode | null | undefined): ReadonlyArray<readonly [string, LNode]> {
  return node?.t === "map" ? node.pairs : [];
}

/** The documents of a manifest: JSON (kubectl -o json) by its own light parser, YAML one document at a time. */
function* documents(text: string): Generator<LNode | null> {
  if (/^\s*[[{]/.test(text)) {
    // JSON is YAML too, but the YAML library's document model costs 40x the file on a big list
    yield jsonDocument(text);
    return;
  }
  yield* yamlDocuments(text);
}

function lintYaml(text: string, kind: "kubernetes" | "compose", profile: KernelProfile): Finding[] {
  const findings: Finding[] = [];
  const checkList = (node: LNode, role: "add" | "drop", where: string): { set: CapSet; all: boolean; line: number } => {
    let set = CapSet.EMPTY,
      all = false;
    if (node.t !== "seq") {
      if (!(node.t === "scalar" && node.value === null))
        findings.push({
          line: node.line,
          severity: "error",
          rule: "lint.not-a-list",
          message: `${where} must be a list of capability names`,
          fix: `write ${where}: [NET_BIND_SERVICE]`,
        });
      return { set, all, line: 0 };
    }
    for (const item of node.items) {
      const line = item.line;
      const value = item.t === "scalar" ? String(item.value) : "";
      if (value.toUpperCase() === "ALL") {
        all = true;
        continue;
      }
      if (kind === "kubernetes" && /^cap_/i.test(value)) {
        findings.push({
          line,
          severity: "error",
          rule: "lint.k8s.cap-prefix",
          message: `${JSON.stringify(value)}: Kubernetes capability names have no CAP_ prefix; containerd adds one, making CAP_${value.toUpperCase()}`,
          fix: `write ${value.toUpperCase().replace(/^CAP_/, "")}`,
        });
        continue;
      }
      const n = checkName(value, line, profile, findings, (s) => s);
      if (n !== undefined) set = set.with(n);
    }
    if (all && role === "add") {
      findings.push({
        line: node.line,
        severity: "warning",
        rule: "lint.add-all",
        message: `${where} adds ALL capabilities`,
        fix: "list only the capabilities the program needs (capgate explain can check them)",
      });
    }
    return { set, all, line: node.line };
  };
  for (const doc of documents(text)) {
    // an explicit stack (not recursion): a List of thousands of pods is walked in constant stack
    const stack: Array<[LNode, readonly string[]]> = doc ? [[doc, []]] : [];
    for (let top = stack.pop(); top; top = stack.pop()) {
      const [node, path] = top;
      if (node.t === "seq") {
        for (let i = node.items.length - 1; i >= 0; i--) stack.push([node.items[i]!, [...path.slice(-2), String(i)]]); // (i < length)
        continue;
      }
      for (const [key, value] of pairsOf(node)) {
        if (kind === "kubernetes" && key === "capabilities" && path[path.length - 1] === "securityContext") {
          const caps = pairsOf(value);
          const add = caps.find(([k]) => k === "add")?.[1],
            drop = caps.find(([k]) => k === "drop")?.[1];
          const a = add ? checkList(add, "add", "capabilities.add") : undefined;
          const d = drop ? checkList(drop, "drop", "capabilities.drop") : undefined;
          if (a && !a.set.isEmpty && !d?.all) {
            const kept = CONTAINER_DEFAULT_CAPS.difference(d?.set ?? CapSet.EMPTY);
            findings.push({
              line: a.line || value.line,
              severity: "warning",
              rule: "lint.k8s.no-drop-all",
              message: `capabilities.add without drop: [ALL] keeps the runtime's defaults too (${kept.size} more: ${kept.names().slice(0, 4).join(", ")}, …)`,
              fix: "add drop: [ALL] and list everything the container needs under add",
            });
          }
        } else if (
          kind === "compose" &&
          (key === "cap_add" || key === "cap_drop") &&
          path.length >= 2 &&
          path[path.length - 2] === "services"
        ) {
          checkList(value, key === "cap_add" ? "add" : "drop", `services.${path[path.length - 1]}.${key}`);
        }
        stack.push([value, [...path.slice(-2), key]]);
      }
    }
  }
  return findings;
}

/**
 * The capabilities a container asks for that its process will not have effective, from the
 * same prediction as `capgate container` (the engine's rules, runc's calls, execve), which
 * verify --container proves against runc and Docker. Without the image, the entrypoint is taken
 * for a program without set-id bits or file capabilities, and the fix says how to read it.
 */
function notEffective(path: string, text: string, profile: KernelProfile): Finding[] {
  let docs;
  try {
    docs = containerDocuments(path, text, profile);
  } catch (e) {
    if (e instanceof ContainerInputError) return []; // (what lint reports itself, or not a container file)
    throw e;
  }
  const findings: Finding[] = [];
  for (const doc of docs) {
    const p = predictContainer(
      {
        file: path,
        name: doc.name,
        source: doc.source,
        accounts: doc.image?.accounts,
        entrypoint: doc.image?.entrypoint,
      },
      profile,
    );
    if (p.failed) {
      findings.push({
        line: doc.line,
        severity: "error",
        rule: "lint.will-not-start",
        message: `${doc.name}: the container will not start: ${p.failed.message}`,
        fix: "see capgate container",
      });
      continue;
    }
    for (const m of p.missing)
      findings.push({
        line: doc.line,
        severity: "warning",
        rule: "lint.not-effective",
        message: `${doc.name}: ${m.capability} is asked for but will not be effective: ${m.reason}${doc.image?.entrypoint ? "" : " (the program taken for one without file capabilities)"}`,
        fix: m.fixes[0] ?? "see capgate container",
      });
  }
  return findings;
}

export function lintText(
  path: string,
  text: string,
  options: { kind?: LintKind; kernel?: KernelProfile; dropIns?: readonly UnitSource[] } = {},
): LintResult {
  argText(path, "lintText: the path");
  argText(text, "lintText: the text");
  argObject(options, "lintText: the options");
  argProfile(options.kernel, "lintText: options.kernel");
  const kind = options.kind ?? detectKind(path, text);
  const profile = options.kernel ?? kernelProfile();
  const findings =
    kind === "systemd" ? lintSystemd(text, profile, options.dropIns ?? []) : lintYaml(text, kind, profile);
  if (kind !== "systemd" && !findings.some((f) => f.severity === "error"))
    findings.push(...notEffective(path, text, profile));
  return { kind, findings: [...findings].sort((a, b) => a.line - b.line) };
}
