// Tracee's JSON events (one per line): commit_creds carries the old and new credentials
// (trace.SlimCred), and the syscall that committed them.
import { CapSet } from "../capabilities/set.js";
import type { Observed } from "./classify.js";
import { FormatError } from "../formats/errors.js";
import { jsonDepth, MAX_JSON_DEPTH } from "../parse/json.js";

export interface TraceeCredChange {
  readonly time: number | string;
  readonly pid: number;
  readonly tid: number;
  readonly command: string;
  readonly uid: number;
  readonly syscall: string;
  readonly before: Observed;
  readonly after: Observed;
}

function mask(v: unknown): CapSet {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return CapSet.fromBigInt(BigInt(v));
  if (typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) return CapSet.fromBigInt(BigInt(v.trim()));
  if (typeof v === "bigint") return CapSet.fromBigInt(v);
  throw new Error(`not a capability mask: ${JSON.stringify(v)}`);
}

function slimCred(v: unknown): Observed {
  if (typeof v !== "object" || v === null) throw new Error("a SlimCred must be an object");
  const c = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
  const num = (k: string) => {
    const x = c[k];
    if (typeof x !== "number") throw new Error(`SlimCred.${k} must be a number`);
    return x;
  };
  return {
    permitted: mask(c["cappermitted"]),
    effective: mask(c["capeffective"]),
    inheritable: mask(c["capinheritable"]),
    bounding: mask(c["capbounding"]),
    ambient: mask(c["capambient"] ?? 0),
    ruid: num("uid"),
    euid: num("euid"),
    suid: num("suid"),
    fsuid: num("fsuid"),
    ...(typeof c["securebits"] === "number" && { securebits: c["securebits"] }),
    ...(["gid", "egid", "sgid", "fsgid"].every((k) => typeof c[k] === "number") && {
      rgid: num("gid"),
      egid: num("egid"),
      sgid: num("sgid"),
      fsgid: num("fsgid"),
    }),
    ...(typeof c["usernamespace"] === "number" && { userns: c["usernamespace"] }),
  };
}

/**
 * One line of a Tracee JSON stream: its commit_creds event, or null for a blank line or another
 * event. Anything that is not a JSON object is an error naming the line.
 */
export function parseTraceeLine(line: string, lineNumber: number, source = "tracee events"): TraceeCredChange | null {
  if (!line.trim()) return null;
  const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch (err) {
    throw new FormatError(source, shown, 0, "", `line ${lineNumber} is not JSON (${(err as Error).message})`);
  }
  if (jsonDepth(e) > MAX_JSON_DEPTH)
    throw new FormatError(source, shown, 0, "", `line ${lineNumber} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (typeof e !== "object" || e === null || Array.isArray(e))
    throw new FormatError(source, shown, 0, "", `line ${lineNumber} is not a JSON object (an event)`);
  const ev = e as Record<string, unknown>;
  if (ev["eventName"] !== "commit_creds") return null;
  const args = Array.isArray(ev["args"])
    ? (ev["args"] as unknown[]).filter(
        (a): a is { name?: unknown; value?: unknown } => typeof a === "object" && a !== null,
      )
    : [];
  const arg = (n: string) => args.find((a) => a.name === n)?.value;
  const text = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
  try {
    return {
      time: typeof ev["timestamp"] === "number" || typeof ev["timestamp"] === "string" ? ev["timestamp"] : lineNumber,
      pid: Number(ev["processId"] ?? 0),
      tid: Number(ev["threadId"] ?? ev["processId"] ?? 0),
      command: text(ev["processName"]),
      uid: Number(ev["userId"] ?? 0),
      syscall: text(ev["syscall"] ?? arg("syscall_name")),
      before: slimCred(arg("old_cred")),
      after: slimCred(arg("new_cred")),
    };
  } catch (err) {
    throw new FormatError(
      source,
      `line ${lineNumber}`,
      0,
      "",
      `commit_creds event on line ${lineNumber}: ${(err as Error).message}`,
    );
  }
}

/** The commit_creds events of a Tracee JSON stream (other events are skipped). */
export function parseTraceeEvents(text: string, source = "tracee events"): TraceeCredChange[] {
  const out: TraceeCredChange[] = [];
  text.split("\n").forEach((line, i) => {
    const change = parseTraceeLine(line, i + 1, source);
    if (change) out.push(change);
  });
  return out;
}
