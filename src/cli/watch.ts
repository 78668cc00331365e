// capgate watch: follow the capability state of threads and judge every change with the
// engine's rules; or judge the commit_creds events of a Tracee stream.
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { parseStatus } from "../formats/proc-status.js";
import { formatCapText } from "../formats/libcap-text.js";
import { FormatError } from "../formats/errors.js";
import { classifyChange, type Observed, type Classification } from "../watch/classify.js";
import { parseTraceeEvents } from "../watch/tracee.js";
import { InputError } from "../parse/errors.js";
import { UsageError } from "./errors.js";
import { style } from "./style.js";

interface Seen extends Observed { pid: number; tid: number; command: string; exe: string | null }

function snapshot(pids: number[] | null): Map<number, Seen> {
  const out = new Map<number, Seen>();
  const list = pids ?? readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
  for (const pid of list) {
    let exe: string | null = null;
    try { exe = readlinkSync(`/proc/${pid}/exe`); } catch { /* kernel thread, or gone */ }
    let tasks: string[];
    try { tasks = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const t of tasks) {
      try {
        const s = parseStatus(readFileSync(`/proc/${pid}/task/${t}/status`, "utf8"));
        out.set(Number(t), { ...s, pid, tid: Number(t), command: s.name, exe });
      } catch { /* ended meanwhile */ }
    }
  }
  return out;
}

interface Event {
  time: string; pid: number; tid: number; command: string; user: number;
  old: Record<string, unknown>; new: Record<string, unknown>;
  changed: readonly string[]; cause: string; anomaly: boolean; reasons: readonly string[];
}

function view(o: Observed): Record<string, unknown> {
  return {
    text: formatCapText(o), permitted: o.permitted.toHex(), effective: o.effective.toHex(), inheritable: o.inheritable.toHex(),
    bounding: o.bounding.toHex(), ambient: o.ambient.toHex(), uid: [o.ruid, o.euid, o.suid, o.fsuid],
    ...(o.securebits !== undefined && { securebits: o.securebits }),
  };
}

function emit(e: Event, json: boolean): void {
  if (json) { process.stdout.write(JSON.stringify(e) + "\n"); return; }
  const verdict = e.anomaly ? style.red(`ANOMALY: ${e.reasons.join("; ")}`) : style.green(e.cause === "execve" ? "explained by execve" : "explained by capset/prctl/setuid (nothing gained)");
  process.stdout.write(`${e.time} pid ${e.pid} tid ${e.tid} ${e.command} (uid ${e.user}): ${(e.old as { text: string }).text} → ${(e.new as { text: string }).text} [${e.changed.join(",")}] ${verdict}\n`);
}

function event(time: string, pid: number, tid: number, command: string, user: number, before: Observed, after: Observed, c: Classification): Event {
  return { time, pid, tid, command, user, old: view(before), new: view(after), changed: c.changed, cause: c.cause, anomaly: c.anomaly, reasons: c.reasons };
}

export async function watchCommand(opts: { pid?: string[]; all?: boolean; interval?: string; duration?: string; json?: boolean; failOnAnomaly?: boolean; tracee?: string }): Promise<number> {
  if (opts.tracee !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.tracee === "-" ? 0 : opts.tracee, "utf8");
    } catch {
      throw new InputError(opts.tracee, "cannot read");
    }
    let anomalies = 0;
    let changes;
    try {
      changes = parseTraceeEvents(text, opts.tracee);
    } catch (e) {
      if (e instanceof FormatError) throw new InputError(opts.tracee, e.problem);
      throw e;
    }
    for (const ch of changes) {
      const exec = /^execve(at)?$/.test(ch.syscall);
      const c = classifyChange(ch.before, ch.after, exec);
      if (!c.changed.length) continue;
      if (c.anomaly) anomalies++;
      emit(event(String(ch.time), ch.pid, ch.tid, `${ch.command}${ch.syscall ? ` [${ch.syscall}]` : ""}`, ch.after.ruid, ch.before, ch.after, c), Boolean(opts.json));
    }
    return anomalies && opts.failOnAnomaly ? 1 : 0;
  }
  const pids = opts.pid?.length ? opts.pid.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--pid must be a number, got ${JSON.stringify(p)}`);
    return Number(p);
  }) : null;
  if (pids && opts.all) throw new UsageError("give --pid or --all, not both");
  const interval = Number(opts.interval ?? 200), duration = opts.duration === undefined ? Infinity : Number(opts.duration);
  if (!Number.isFinite(interval) || interval < 10) throw new UsageError(`--interval must be at least 10 ms, got ${opts.interval}`);
  if (Number.isNaN(duration) || duration < 0) throw new UsageError(`--duration must be a number of ms, got ${opts.duration}`);
  const start = Date.now();
  let previous = snapshot(pids);
  let anomalies = 0;
  while (Date.now() - start < duration) {
    await new Promise((r) => setTimeout(r, interval));
    const now = snapshot(pids);
    for (const [tid, after] of now) {
      const before = previous.get(tid);
      if (!before) continue;
      // An exec shows as a new executable (or name); a thread that execs becomes its process's leader.
      const exec = before.exe !== after.exe || before.command !== after.command;
      const c = classifyChange(before, after, exec);
      if (!c.changed.length) continue;
      if (c.anomaly) anomalies++;
      emit(event(new Date().toISOString(), after.pid, tid, after.command, after.ruid, before, after, c), Boolean(opts.json));
      if (c.anomaly && opts.failOnAnomaly) return 1;
    }
    previous = now;
  }
  return anomalies && opts.failOnAnomaly ? 1 : 0;
}
