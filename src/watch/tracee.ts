// Tracee's JSON events (one per line): commit_creds carries the old and new credentials
// (trace.SlimCred), and the syscall that committed them.
import { CapSet } from "../capabilities/set.js";
import type { Observed } from "./classify.js";
import { FormatError } from "../formats/errors.js";

export interface TraceeCredChange {
  readonly time: number | string;
  readonly pid: number; readonly tid: number; readonly command: string; readonly uid: number;
  readonly syscall: string;
  readonly before: Observed; readonly after: Observed;
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
  const num = (k: string) => { const x = c[k]; if (typeof x !== "number") throw new Error(`SlimCred.${k} must be a number`); return x; };
  return {
    permitted: mask(c["cappermitted"]), effective: mask(c["capeffective"]), inheritable: mask(c["capinheritable"]),
    bounding: mask(c["capbounding"]), ambient: mask(c["capambient"] ?? 0),
    ruid: num("uid"), euid: num("euid"), suid: num("suid"), fsuid: num("fsuid"),
    ...(typeof c["securebits"] === "number" && { securebits: c["securebits"] as number }),
  };
}

/** The commit_creds events of a Tracee JSON stream (other events are skipped). */
export function parseTraceeEvents(text: string, source = "tracee events"): TraceeCredChange[] {
  const out: TraceeCredChange[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new FormatError(source, line.length > 80 ? `${line.slice(0, 80)}…` : line, 0, "", `line ${i + 1} is not JSON (${(err as Error).message})`);
    }
    if (e["eventName"] !== "commit_creds") return;
    const args = Array.isArray(e["args"]) ? (e["args"] as Array<{ name?: string; value?: unknown }>) : [];
    const arg = (n: string) => args.find((a) => a.name === n)?.value;
    try {
      out.push({
        time: (e["timestamp"] as number | string | undefined) ?? i + 1,
        pid: Number(e["processId"] ?? 0), tid: Number(e["threadId"] ?? e["processId"] ?? 0),
        command: String(e["processName"] ?? ""), uid: Number(e["userId"] ?? 0),
        syscall: String(e["syscall"] ?? arg("syscall_name") ?? ""),
        before: slimCred(arg("old_cred")), after: slimCred(arg("new_cred")),
      });
    } catch (err) {
      throw new FormatError(source, `line ${i + 1}`, 0, "", `commit_creds event on line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}
