// Follows the credentials of every thread (of every process, or of given pids) through /proc,
// cheaply enough to run all the time: one descriptor per task is kept open and re-read from
// offset 0 (no open/close per look), only the credential lines are compared (as bytes), and a
// status file is parsed only when they changed. The kernel's formatting of the status file is
// most of the cost (~8 µs a task); see npm run bench.
//
// Exec evidence no process can forge. With the proc connector (root: see shim/proc-events.ts)
// the kernel says which tasks ran execve and which task made which. Without it: a descriptor to
// /proc/PID/environ holds the address space it was opened on and reads nothing once that is
// gone, which an execve does; a 1-byte read each look is the cheap test. A process can make that
// read come back empty without an exec too (by unmapping its environment), so an empty read is
// confirmed by /proc/PID/auxv: the auxiliary vector the kernel wrote at the exec, which changes
// only with a new one (or PR_SET_MM_AUXV, which needs CAP_SYS_RESOURCE). A process whose
// environment cannot be read is judged by its auxv alone.
//
// A task seen for the first time (a new thread, a new process) is judged against the task that
// made it, as last seen: its creator by the proc connector's fork events, else a thread of its
// own process, else its parent process.
import { closeSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { diffStates } from "../state.js";
import { parseStatus } from "../formats/proc-status.js";
import type { ExecEvidence, NamespaceMove, Observed } from "./classify.js";
import type { ExecFile } from "../ops.js";

/** The program a process runs: its exe link, and the addresses of its image (the fallback exec evidence). */
export interface Image {
  readonly exe: string | null;
  readonly layout: string | null;
}

export interface Seen extends Observed {
  readonly pid: number;
  readonly tid: number;
  readonly command: string;
  readonly image: Image;
}

export interface Change {
  readonly before: Seen;
  readonly after: Seen;
  /** The process ran execve between the two looks (with the file it ran, when it could be read), or null. */
  readonly exec: ExecEvidence | null;
  /** Where a change of user namespace went (see classifyChange). */
  readonly nsMove: NamespaceMove;
  /** The task is new: `before` is the task that made it, as last seen. */
  readonly first: boolean;
}

/** What the kernel reports as it happens (the proc connector), drained at each look. */
export interface EventSource {
  drain(): {
    events: ReadonlyArray<
      | { readonly kind: "fork"; readonly parentTid: number; readonly tid: number; readonly pid: number }
      | { readonly kind: "exec" | "uid" | "gid" | "exit"; readonly tid: number; readonly pid: number }
    >;
    lost: boolean;
  };
}

/** What the poller can read only through system calls the shim makes (injected: this module stays free of them). */
export interface PollerHelpers {
  /** The kernel's events (root), or null. */
  readonly events?: EventSource | null;
  /** The file a process runs, as execve saw it, or null. */
  readonly execFileOf?: (pid: number) => ExecFile | null;
  /** The inodes of a process's user namespace and its ancestors, or null. */
  readonly userNamespaceChain?: (pid: number) => readonly number[] | null;
}

const BUFFER = Buffer.alloc(16384);
const NL = 10,
  SPACE = 32,
  CLOSE_PAREN = 41;
/** start_code, end_code and start_stack are fields 26-28 of /proc/PID/stat; field 3 follows the ")" of the command. */
const FIRST_IMAGE_FIELD = 26,
  LAST_IMAGE_FIELD = 28;

/** Reads a kept /proc descriptor from offset 0 into BUFFER (the kernel formats it anew); 0 when the task is gone. */
function pread(fd: number): number {
  try {
    return readSync(fd, BUFFER, 0, BUFFER.length, 0);
  } catch {
    return 0; // ESRCH: the task has exited
  }
}

function tryOpen(path: string): number {
  try {
    return openSync(path, "r");
  } catch {
    return -1; // gone, or no descriptor left: read by path instead
  }
}

const ONE = Buffer.alloc(1);
/** One byte of a kept descriptor (the environ evidence): 1, or 0 once its address space is gone. */
function pread1(fd: number): number {
  try {
    return readSync(fd, ONE, 0, 1, 0);
  } catch {
    return 0;
  }
}

/** Reads by path into BUFFER (when no descriptor could be kept). */
function readOnce(path: string): number {
  const fd = tryOpen(path);
  if (fd < 0) return 0;
  try {
    return pread(fd);
  } finally {
    closeSync(fd);
  }
}

/** The end of the line that starts at `from` in BUFFER[0, n). */
function lineEnd(from: number, n: number): number {
  const e = BUFFER.indexOf(NL, from + 1);
  return e < 0 || e > n ? n : e;
}

/**
 * The credential lines (Uid through Groups; CapInh through NoNewPrivs, which follow each other)
 * of the status in BUFFER[0, n): compared as bytes with what `key` holds, which is renewed when
 * they differ. Returns whether they differed. Nothing else is decoded on a look that finds no change.
 */
function credentialsChanged(n: number, task: { key: Buffer }): boolean {
  const a = BUFFER.indexOf("\nUid:"),
    b = lineEnd(BUFFER.indexOf("\nGroups:", a), n);
  const c = BUFFER.indexOf("\nCapInh:", b),
    nnp = BUFFER.indexOf("\nNoNewPrivs:", c);
  const d = nnp >= 0 ? lineEnd(nnp, n) : lineEnd(BUFFER.indexOf("\nCapBnd:", c), n);
  const k = task.key,
    first = b - a,
    len = first + (d - c);
  if (k.length === len && BUFFER.compare(k, 0, first, a, b) === 0 && BUFFER.compare(k, first, len, c, d) === 0)
    return false;
  const next = Buffer.allocUnsafe(len);
  BUFFER.copy(next, 0, a, b);
  BUFFER.copy(next, first, c, d);
  task.key = next;
  return true;
}

/** The thread count of the status file in BUFFER[0, n), or -1. */
function threadsOf(n: number): number {
  const at = BUFFER.indexOf("\nThreads:");
  if (at < 0 || at > n) return -1;
  let v = 0;
  for (let i = at + 9; i < n; i++) {
    const c = BUFFER[i]!; // (i < n, the bytes read into BUFFER)
    if (c >= 48 && c <= 57) v = v * 10 + c - 48;
    else if (c === NL) break;
  }
  return v;
}

/** Fields 26-28 of the /proc/PID/stat line in BUFFER[0, n), as one string. */
function layoutOf(n: number): string | null {
  if (!n) return null;
  const close = BUFFER.lastIndexOf(CLOSE_PAREN, n);
  let field = 2,
    start = -1;
  for (let i = close + 1; i < n; i++) {
    if (BUFFER[i] !== SPACE) continue;
    field++;
    if (field === FIRST_IMAGE_FIELD) start = i + 1;
    else if (field === LAST_IMAGE_FIELD + 1) return BUFFER.toString("latin1", start, i);
  }
  return null;
}

function readlinkOr(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

function usernsOf(pid: number): number | undefined {
  const m = /\[(\d+)\]/.exec(readlinkOr(`/proc/${pid}/ns/user`) ?? "");
  return m ? Number(m[1]) : undefined;
}

interface Task {
  readonly tid: number;
  readonly path: string;
  fd: number;
  /** The credential lines as last read. */
  key: Buffer;
  seen: Seen;
}

interface Proc {
  readonly pid: number;
  /** /proc/PID/environ on the address space of the last look (-1: none; the auxv stands in). */
  environFd: number;
  /** The auxiliary vector of its last exec, as last read (null: unreadable; the stat layout stands in). */
  auxv: Buffer | null;
  statFd: number;
  layout: string | null;
  /** The exe link as of the last exec seen (null: read it at the next change). */
  exe: string | null;
  userns: number | undefined;
  /** Its parent process (PPid) at its first look. */
  ppid: number;
  threads: number;
  tasks: Map<number, Task>;
  /** Looks since its credentials last changed (a quiet process is looked at every other look). */
  quiet: number;
}

/**
 * A process whose credentials have not changed for this many looks (5 s at the default 200 ms)
 * is looked at every other look: half the cost for the idle majority; its exec evidence still
 * covers the whole gap, and a change is still judged as one change from the last look.
 */
const QUIET_LOOKS = 25;

function readAuxv(pid: number): Buffer | null {
  const fd = tryOpen(`/proc/${pid}/auxv`);
  if (fd < 0) return null;
  try {
    const b = Buffer.alloc(1024);
    const n = readSync(fd, b, 0, b.length, 0);
    return n > 0 ? Buffer.from(b.subarray(0, n)) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** PPid of the status file in BUFFER[0, n). */
function ppidOf(n: number): number {
  const m = /\nPPid:\s*(\d+)/.exec(BUFFER.toString("latin1", 0, Math.min(n, 4096)));
  return m ? Number(m[1]) : 0;
}

export class Poller {
  #procs = new Map<number, Proc>();
  #look = 0;
  /** Every task's credentials at the last look (a new task's creator is judged from here). */
  #lastSeen = new Map<number, Seen>();

  constructor(
    private readonly pids: readonly number[] | null,
    private readonly helpers: PollerHelpers = {},
  ) {}

  /** The processes being followed now. */
  get size(): number {
    return this.#procs.size;
  }

  #seen(proc: Proc, tid: number, n: number, exe: string | null, userns: number | undefined): Seen {
    const s = parseStatus(BUFFER.toString("latin1", 0, n));
    return {
      ...s,
      ...(userns !== undefined && { userns }),
      pid: proc.pid,
      tid,
      command: s.name,
      image: { exe, layout: proc.layout },
    };
  }

  /** Reads the task's status into BUFFER; its length, 0 when gone. */
  #readTask(task: Task): number {
    return task.fd >= 0 ? pread(task.fd) : readOnce(task.path);
  }

  /** Lists the process's tasks anew; returns the ones seen for the first time. */
  #syncTasks(proc: Proc): Task[] {
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${proc.pid}/task`).map(Number);
    } catch {
      tids = [];
    }
    for (const [tid, task] of proc.tasks) {
      if (tids.includes(tid)) continue;
      if (task.fd >= 0) closeSync(task.fd);
      proc.tasks.delete(tid);
    }
    const added: Task[] = [];
    for (const tid of tids) {
      if (proc.tasks.has(tid)) continue;
      const path = `/proc/${proc.pid}/task/${tid}/status`;
      const fd = tryOpen(path);
      const task: Task = { tid, path, fd, key: Buffer.alloc(0), seen: undefined as unknown as Seen };
      const n = this.#readTask(task);
      if (!n) {
        if (fd >= 0) closeSync(fd);
        continue;
      }
      credentialsChanged(n, task);
      task.seen = this.#seen(proc, tid, n, proc.exe, proc.userns);
      if (tid === proc.pid && !proc.ppid) proc.ppid = ppidOf(n);
      proc.tasks.set(tid, task);
      added.push(task);
    }
    proc.threads = proc.tasks.size;
    return added;
  }

  #close(proc: Proc): void {
    if (proc.environFd >= 0) closeSync(proc.environFd);
    if (proc.statFd >= 0) closeSync(proc.statFd);
    for (const t of proc.tasks.values()) if (t.fd >= 0) closeSync(t.fd);
  }

  /** Starts following a process: its tasks, its exe, and its exec evidence. Returns it, or null when there is nothing to follow. */
  #track(pid: number): Proc | null {
    const exe = readlinkOr(`/proc/${pid}/exe`);
    // Watching everything, a process with no program (a kernel thread, a zombie) is left out:
    // kernel threads hold init's credentials and no user space call reaches them.
    if (exe === null && this.pids === null) return null;
    let environFd = tryOpen(`/proc/${pid}/environ`);
    if (environFd >= 0 && pread1(environFd) === 0) {
      closeSync(environFd); // an empty environment (or no address space): the auxv alone
      environFd = -1;
    }
    const auxv = readAuxv(pid);
    const statFd = auxv ? -1 : tryOpen(`/proc/${pid}/stat`);
    const proc: Proc = {
      pid,
      environFd,
      auxv,
      statFd,
      layout: null,
      exe,
      userns: usernsOf(pid),
      ppid: 0,
      threads: 0,
      tasks: new Map(),
      quiet: 0,
    };
    if (!auxv) proc.layout = layoutOf(statFd >= 0 ? pread(statFd) : readOnce(`/proc/${pid}/stat`));
    this.#syncTasks(proc);
    if (!proc.tasks.size) {
      this.#close(proc); // gone meanwhile, or a kernel thread without tasks to read
      return null;
    }
    this.#procs.set(pid, proc);
    return proc;
  }

  /**
   * Whether the process ran execve since the last look (and the evidence renewed for the next),
   * from the kernel's events when there are any, else from its address space.
   */
  #execSinceLastLook(proc: Proc, execs: ReadonlySet<number> | null): boolean {
    if (execs) {
      if (!execs.has(proc.pid)) return false;
      this.#renewEvidence(proc);
      return true;
    }
    // an environment still readable: the same address space, no exec (the cheap test)
    if (proc.environFd >= 0 && pread1(proc.environFd) > 0) return false;
    if (proc.auxv) {
      const now = readAuxv(proc.pid);
      if (!now || now.equals(proc.auxv)) {
        // the same auxiliary vector: no exec, whatever the environment says (it may have been unmapped)
        if (proc.environFd >= 0) closeSync(proc.environFd);
        proc.environFd = -1;
        return false;
      }
      this.#renewEvidence(proc, now);
      return true;
    }
    const layout = layoutOf(proc.statFd >= 0 ? pread(proc.statFd) : readOnce(`/proc/${proc.pid}/stat`));
    const exec = layout !== null && proc.layout !== null && layout !== proc.layout;
    if (layout !== null) proc.layout = layout;
    return exec;
  }

  /** After an exec: the new address space's environment and auxiliary vector. */
  #renewEvidence(proc: Proc, auxv: Buffer | null = readAuxv(proc.pid)): void {
    if (proc.environFd >= 0) closeSync(proc.environFd);
    proc.environFd = tryOpen(`/proc/${proc.pid}/environ`);
    if (proc.environFd >= 0 && pread1(proc.environFd) === 0) {
      closeSync(proc.environFd);
      proc.environFd = -1;
    }
    proc.auxv = auxv;
  }

  /** The exec evidence of a process that ran execve: the file it runs now, when it can be read. */
  #execEvidence(pid: number): ExecEvidence {
    return { file: this.helpers.execFileOf?.(pid) ?? null };
  }

  /** Where a process's change of user namespace went: below the old one, elsewhere, or unknown. */
  #nsMove(pid: number, before: number | undefined, after: number | undefined): NamespaceMove {
    if (before === undefined || after === undefined || before === after) return "unknown";
    const chain = this.helpers.userNamespaceChain?.(pid);
    if (!chain || chain[0] !== after) return "unknown";
    return chain.slice(1).includes(before) ? "descendant" : "other";
  }

  /** A task whose credentials changed: what it was and what it is (BUFFER[0, n) holds its status). */
  #changed(proc: Proc, task: Task, n: number, exec: ExecEvidence | null): Change {
    const before = task.seen;
    // parse first: the reads below do not touch BUFFER, but nothing else may run in between
    const status = BUFFER.toString("latin1", 0, n);
    const exe = readlinkOr(`/proc/${proc.pid}/exe`);
    proc.exe = exe;
    const oldNs = proc.userns;
    proc.userns = usernsOf(proc.pid);
    const s = parseStatus(status);
    const after: Seen = {
      ...s,
      ...(proc.userns !== undefined && { userns: proc.userns }),
      pid: proc.pid,
      tid: task.tid,
      command: s.name,
      image: { exe, layout: proc.layout },
    };
    task.seen = after;
    return { before, after, exec, nsMove: this.#nsMove(proc.pid, oldNs, proc.userns), first: false };
  }

  /**
   * The creator of a task seen for the first time, as last seen: by the kernel's fork events
   * (through tasks that came and went between the looks), else a thread of its own process,
   * else its parent process's leader.
   */
  #creator(proc: Proc, task: Task, forks: ReadonlyMap<number, number> | null, isNewProcess: boolean): Seen | null {
    if (forks) {
      let c = forks.get(task.tid);
      for (let hops = 0; c !== undefined && hops < 64; hops++) {
        const seen = this.#lastSeen.get(c);
        if (seen) return seen;
        c = forks.get(c);
      }
      if (c !== undefined || forks.has(task.tid)) return null;
    }
    if (!isNewProcess) {
      const leader = this.#lastSeen.get(proc.pid);
      if (leader) return leader;
      for (const t of proc.tasks.values()) {
        const seen = t === task ? undefined : this.#lastSeen.get(t.tid);
        if (seen) return seen;
      }
      return null;
    }
    return this.#lastSeen.get(proc.ppid) ?? null;
  }

  /** One look: the credential changes since the last one, a new task's judged against its creator. */
  poll(): Change[] {
    this.#look++;
    const first = this.#look === 1;
    // the kernel's own account of the interval, when there is one and none of it was lost
    const drained = this.helpers.events?.drain();
    const exact = drained && !drained.lost ? drained : null;
    const execs = exact ? new Set(exact.events.filter((e) => e.kind === "exec").map((e) => e.pid)) : null;
    const forks = exact
      ? new Map(exact.events.flatMap((e) => (e.kind === "fork" ? [[e.tid, e.parentTid] as const] : [])))
      : null;
    // The changes held back at the last look, now with the exec events that have come since.
    const held = this.#held;
    this.#held = [];
    const ready: Change[] = held.map((c) =>
      !c.exec && execs?.has(c.after.pid) ? { ...c, exec: this.#execEvidence(c.after.pid) } : c,
    );
    const list =
      this.pids ??
      readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map(Number);
    const alive = new Set(list);
    for (const [pid, proc] of this.#procs) {
      if (alive.has(pid)) continue;
      this.#close(proc);
      this.#procs.delete(pid);
    }
    const changes: Change[] = [];
    const born: Array<{ proc: Proc; task: Task; newProcess: boolean }> = [];
    for (const pid of list) {
      const proc = this.#procs.get(pid);
      if (!proc) {
        const tracked = this.#track(pid);
        if (tracked && !first)
          for (const task of tracked.tasks.values()) born.push({ proc: tracked, task, newProcess: true });
        continue;
      }
      if (proc.quiet >= QUIET_LOOKS && !execs?.has(pid) && (this.#look + pid) % 2 === 1) continue;
      const before = changes.length;
      const execed = this.#execSinceLastLook(proc, execs);
      const exec = execed ? this.#execEvidence(pid) : null;
      if (execed) {
        proc.exe = null; // a new image: its exe is read when it matters
        // what the tasks were is now "before this exec": a later change is not the exec's
        for (const task of proc.tasks.values()) task.seen = { ...task.seen, image: { exe: null, layout: proc.layout } };
      }
      // The leader's status says how many threads there are: list them only when that changes.
      // Its credentials are judged from the same read (one read a look for a single-threaded process).
      const leader = proc.tasks.get(pid);
      const leaderN = leader ? this.#readTask(leader) : 0;
      if (leader && leaderN && credentialsChanged(leaderN, leader))
        changes.push(this.#changed(proc, leader, leaderN, exec));
      if ((leaderN ? threadsOf(leaderN) : -1) !== proc.threads || !leader) {
        for (const task of this.#syncTasks(proc)) born.push({ proc, task, newProcess: false });
        if (!proc.tasks.size) {
          // the process has exited (a pid given with --pid stays in the list: drop it here)
          this.#close(proc);
          this.#procs.delete(pid);
          continue;
        }
      }
      for (const task of proc.tasks.values()) {
        if (task === leader || born.some((b) => b.task === task)) continue;
        const n = this.#readTask(task);
        if (n && credentialsChanged(n, task)) changes.push(this.#changed(proc, task, n, exec));
      }
      proc.quiet = changes.length > before || execed ? 0 : proc.quiet + 1;
    }
    // New tasks: judged against their creators as last seen (nothing to say where nothing differs).
    for (const { proc, task, newProcess } of born) {
      const creator = this.#creator(proc, task, forks, newProcess);
      if (!creator) continue;
      const after = task.seen;
      // a new process ran execve when the kernel says so, or when it runs another image than its creator
      const execed = execs
        ? execs.has(proc.pid)
        : newProcess &&
          ((proc.auxv !== null && !proc.auxv.equals(this.#procs.get(creator.pid)?.auxv ?? proc.auxv)) ||
            (after.image.exe !== null && creator.image.exe !== null && after.image.exe !== creator.image.exe));
      const exec = execed ? this.#execEvidence(proc.pid) : null;
      const differs =
        diffCredentials(creator, after) || (creator.userns !== undefined && after.userns !== creator.userns);
      if (!differs) continue;
      changes.push({
        before: creator,
        after,
        exec,
        nsMove: this.#nsMove(proc.pid, creator.userns, after.userns),
        first: true,
      });
    }
    this.#lastSeen = new Map();
    for (const proc of this.#procs.values()) for (const t of proc.tasks.values()) this.#lastSeen.set(t.tid, t.seen);
    // The kernel reports an exec (proc_exec_connector) after it has committed the new
    // credentials: a look can read those before the event is sent. So with the kernel's events,
    // a change seen without an exec waits one look for it before it is judged.
    if (!exact) return [...ready, ...changes];
    for (const c of changes) (c.exec ? ready : this.#held).push(c);
    return ready;
  }

  /** Changes seen without an exec event, judged at the next look (see the end of poll). */
  #held: Change[] = [];

  /** The changes still held when watching ends, with the exec events that have come since. */
  flush(): Change[] {
    const drained = this.helpers.events?.drain();
    const execs =
      drained && !drained.lost ? new Set(drained.events.filter((e) => e.kind === "exec").map((e) => e.pid)) : null;
    const held = this.#held;
    this.#held = [];
    return held.map((c) => (!c.exec && execs?.has(c.after.pid) ? { ...c, exec: this.#execEvidence(c.after.pid) } : c));
  }

  /** Closes every descriptor. */
  close(): void {
    for (const proc of this.#procs.values()) this.#close(proc);
    this.#procs.clear();
  }
}

/** Whether two observations differ in any credential both show. */
function diffCredentials(a: Observed, b: Observed): boolean {
  return diffStates(a, b).length > 0;
}
