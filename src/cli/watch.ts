// capgate watch: follow the capability state of threads and judge every change with the
// engine's rules; or judge the commit_creds events of a Tracee stream as they arrive.
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { formatCapText } from "../formats/libcap-text.js";
import { FormatError } from "../formats/errors.js";
import { classifyChange, type Observed, type Classification } from "../watch/classify.js";
import { parseTraceeLine } from "../watch/tracee.js";
import { Poller, type Change } from "../watch/poller.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { terminalSafe, jsonSafe } from "./escape.js";
import { style } from "./style.js";

/** The longest polling interval (an hour): longer ones are surely a typo, and setTimeout overflows past 2^31 ms. */
const MAX_INTERVAL_MS = 3_600_000;

interface Event {
  time: string;
  pid: number;
  tid: number;
  command: string;
  user: number;
  old: Record<string, unknown>;
  new: Record<string, unknown>;
  changed: readonly string[];
  cause: string;
  anomaly: boolean;
  reasons: readonly string[];
  /** For a task seen for the first time: the task it is judged against (its creator). */
  creator?: { pid: number; tid: number };
}

function view(o: Observed): Record<string, unknown> {
  return {
    text: formatCapText(o),
    permitted: o.permitted.toHex(),
    effective: o.effective.toHex(),
    inheritable: o.inheritable.toHex(),
    bounding: o.bounding.toHex(),
    ambient: o.ambient.toHex(),
    uid: [o.ruid, o.euid, o.suid, o.fsuid],
    ...(o.rgid !== undefined && { gid: [o.rgid, o.egid, o.sgid, o.fsgid] }),
    ...(o.securebits !== undefined && { securebits: o.securebits }),
    ...(o.userns !== undefined && { userns: o.userns }),
  };
}

const CAUSE_TEXT: Record<string, string> = {
  execve: "explained by execve",
  "capset/prctl/setuid": "explained by capset/prctl/setuid (nothing gained)",
  "user namespace": "a new user namespace (its capabilities give nothing over the parent namespace)",
};

function emit(e: Event, json: boolean): void {
  // Every string a process controls (its name, Tracee's fields) is escaped before it is printed.
  if (json) {
    process.stdout.write(jsonSafe(e) + "\n");
    return;
  }
  const verdict = e.anomaly
    ? style.red(`ANOMALY: ${e.reasons.join("; ")}`)
    : style.green(CAUSE_TEXT[e.cause] ?? e.cause);
  const from = e.creator ? ` (new; made by pid ${e.creator.pid} tid ${e.creator.tid})` : "";
  process.stdout.write(
    `${terminalSafe(e.time)} pid ${e.pid} tid ${e.tid} ${terminalSafe(e.command)} (uid ${e.user})${from}: ${(e.old as { text: string }).text} → ${(e.new as { text: string }).text} [${e.changed.join(",")}] ${verdict}\n`,
  );
}

function event(
  time: string,
  pid: number,
  tid: number,
  command: string,
  user: number,
  before: Observed,
  after: Observed,
  c: Classification,
): Event {
  return {
    time,
    pid,
    tid,
    command,
    user,
    old: view(before),
    new: view(after),
    changed: c.changed,
    cause: c.cause,
    anomaly: c.anomaly,
    reasons: c.reasons,
  };
}

export interface WatchOptions {
  pid?: string[];
  all?: boolean;
  interval?: string;
  duration?: string;
  json?: boolean;
  failOnAnomaly?: boolean;
  tracee?: string;
}

/** Judges a Tracee stream line by line as it arrives (a pipe from a running tracee never ends). */
async function watchTracee(source: string, opts: WatchOptions): Promise<number> {
  let input: NodeJS.ReadableStream;
  if (source === "-") input = process.stdin;
  else {
    try {
      if (!statSync(source).isFile() && !statSync(source).isFIFO()) throw new Error("not a file");
    } catch {
      throw new InputError(source, "cannot read (no such file)");
    }
    input = createReadStream(source);
  }
  let anomalies = 0,
    lineNumber = 0;
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNumber++;
      let ch;
      try {
        ch = parseTraceeLine(line, lineNumber, source);
      } catch (e) {
        if (e instanceof FormatError) throw new InputError(source, e.problem);
        throw e;
      }
      if (!ch) continue;
      const c = classifyChange(ch.before, ch.after, /^execve(at)?$/.test(ch.syscall));
      if (!c.changed.length) continue;
      emit(
        event(
          String(ch.time),
          ch.pid,
          ch.tid,
          `${ch.command}${ch.syscall ? ` [${ch.syscall}]` : ""}`,
          ch.after.ruid,
          ch.before,
          ch.after,
          c,
        ),
        Boolean(opts.json),
      );
      if (c.anomaly) {
        anomalies++;
        if (opts.failOnAnomaly) return 1;
      }
    }
  } finally {
    lines.close();
  }
  return 0;
}

export async function watchCommand(opts: WatchOptions): Promise<number> {
  if (opts.tracee !== undefined) return watchTracee(opts.tracee, opts);
  const pids = opts.pid?.length
    ? opts.pid.map((p) => {
        if (!/^\d{1,10}$/.test(p) || Number(p) < 1)
          throw new UsageError(`--pid must be a process id, got ${JSON.stringify(p)}`);
        return Number(p);
      })
    : null;
  if (pids && opts.all) throw new UsageError("give --pid or --all, not both");
  const missing = (pids ?? []).filter((p) => {
    try {
      statSync(`/proc/${p}/task`);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) throw new UsageError(`--pid: no process ${missing.join(", ")}`);
  const interval = Number(opts.interval ?? 200),
    duration = opts.duration === undefined ? Infinity : Number(opts.duration);
  if (!Number.isFinite(interval) || interval < 10 || interval > MAX_INTERVAL_MS)
    throw new UsageError(`--interval must be from 10 to ${MAX_INTERVAL_MS} ms, got ${opts.interval}`);
  if (Number.isNaN(duration) || duration < 0)
    throw new UsageError(`--duration must be a number of ms, got ${opts.duration}`);
  const start = Date.now();
  // What only system calls show: the kernel's own events (root: the proc connector), the file a
  // process runs, and its user namespace's ancestry (shim/). Without them the poller judges by
  // /proc alone, and says so.
  const shim = await import("../../shim/index.js").catch(() => null);
  const events = shim && process.platform === "linux" ? shim.ProcEvents.open() : null;
  const source = events && !("problem" in events) ? events : null;
  process.stderr.write(
    source
      ? "capgate: watching with the kernel's proc connector: every fork and exec as the kernel reports it\n"
      : "capgate: watching without the proc connector (it needs root in the initial namespaces): exec evidence from /proc, a new task judged against its parent\n",
  );
  const poller = new Poller(pids, {
    events: source,
    ...(shim && { execFileOf: shim.execFileOf, userNamespaceChain: shim.userNamespaceChain }),
  });
  poller.poll(); // the first look: what every thread holds now
  let anomalies = 0;
  /** Reports changes; true when one is an anomaly that ends the watch (--fail-on-anomaly). */
  const report = (changes: readonly Change[]): boolean => {
    for (const { before, after, exec, nsMove, first } of changes) {
      const c = classifyChange(before, after, exec, nsMove);
      if (!c.changed.length) continue;
      if (c.anomaly) anomalies++;
      const e = event(new Date().toISOString(), after.pid, after.tid, after.command, after.ruid, before, after, c);
      // a new task is judged against the task that made it
      if (first) e.creator = { pid: before.pid, tid: before.tid };
      emit(e, Boolean(opts.json));
      if (c.anomaly && opts.failOnAnomaly) return true;
    }
    return false;
  };
  try {
    for (;;) {
      const left = duration - (Date.now() - start);
      if (left <= 0) break;
      await new Promise((r) => setTimeout(r, Math.min(interval, left)));
      if (report(poller.poll())) return 1;
      // Watching given processes ends when every one of them is gone.
      if (pids && poller.size === 0) break;
    }
    // what the last look held back for an exec event (a process's last change is judged too)
    if (report(poller.flush())) return 1;
  } finally {
    poller.close();
    source?.close();
  }
  return anomalies && opts.failOnAnomaly ? 1 : 0;
}
