// Follows the credentials of every thread (of every process, or of given pids) through /proc,
// cheaply enough to run all the time: one descriptor per task is kept open and re-read from
// offset 0 (no open/close per look), only the credential lines are compared (as bytes), and a
// status file is parsed only when they changed. The kernel's formatting of the status file is
// most of the cost (~8 µs a task); see npm run bench.
//
// Exec evidence, exact and cheap: a descriptor to /proc/PID/environ holds the address space it
// was opened on, and reads nothing (0 bytes) once that is gone, which an execve does (its old
// mm loses its last user). A 1-byte read each look says whether the process ran execve since
// the last one, for any program, ASLR or not. A process with an empty environment has nothing
// to read there: for it, the code and stack addresses of /proc/PID/stat stand in.
import { closeSync, openSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { parseStatus } from "../formats/proc-status.js";
import type { Observed } from "./classify.js";

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
  /** The process ran execve between the two looks. */
  readonly exec: boolean;
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
    const c = BUFFER[i]!;
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
  /** /proc/PID/environ on the address space of the last look (-1: use the stat layout). */
  environFd: number;
  statFd: number;
  layout: string | null;
  /** The exe link as of the last exec seen (null: read it at the next change). */
  exe: string | null;
  userns: number | undefined;
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

export class Poller {
  #procs = new Map<number, Proc>();
  #look = 0;

  constructor(private readonly pids: readonly number[] | null) {}

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

  #syncTasks(proc: Proc): void {
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
      proc.tasks.set(tid, task);
    }
    proc.threads = proc.tasks.size;
  }

  #close(proc: Proc): void {
    if (proc.environFd >= 0) closeSync(proc.environFd);
    if (proc.statFd >= 0) closeSync(proc.statFd);
    for (const t of proc.tasks.values()) if (t.fd >= 0) closeSync(t.fd);
  }

  /** Starts following a process: its tasks, its exe, and its exec evidence. */
  #track(pid: number): void {
    const exe = readlinkOr(`/proc/${pid}/exe`);
    // Watching everything, a process with no program (a kernel thread, a zombie) is left out:
    // kernel threads hold init's credentials and no user space call reaches them.
    if (exe === null && this.pids === null) return;
    let environFd = tryOpen(`/proc/${pid}/environ`);
    if (environFd >= 0 && pread1(environFd) === 0) {
      closeSync(environFd); // an empty environment (or no address space): the stat layout stands in
      environFd = -1;
    }
    const statFd = environFd >= 0 ? -1 : tryOpen(`/proc/${pid}/stat`);
    const proc: Proc = {
      pid,
      environFd,
      statFd,
      layout: null,
      exe,
      userns: usernsOf(pid),
      threads: 0,
      tasks: new Map(),
      quiet: 0,
    };
    if (environFd < 0) proc.layout = layoutOf(statFd >= 0 ? pread(statFd) : readOnce(`/proc/${pid}/stat`));
    this.#syncTasks(proc);
    if (!proc.tasks.size) {
      this.#close(proc); // gone meanwhile, or a kernel thread without tasks to read
      return;
    }
    this.#procs.set(pid, proc);
  }

  /** Whether the process ran execve since the last look (and the evidence renewed for the next). */
  #execSinceLastLook(proc: Proc): boolean {
    if (proc.environFd >= 0) {
      if (pread1(proc.environFd) > 0) return false;
      // its address space is gone: an exec (or the process ended, which its tasks will show)
      closeSync(proc.environFd);
      proc.environFd = tryOpen(`/proc/${proc.pid}/environ`);
      if (proc.environFd >= 0 && pread1(proc.environFd) === 0) {
        closeSync(proc.environFd);
        proc.environFd = -1;
        proc.statFd = tryOpen(`/proc/${proc.pid}/stat`);
        proc.layout = layoutOf(proc.statFd >= 0 ? pread(proc.statFd) : 0);
      }
      return true;
    }
    const layout = layoutOf(proc.statFd >= 0 ? pread(proc.statFd) : readOnce(`/proc/${proc.pid}/stat`));
    const exec = layout !== null && proc.layout !== null && layout !== proc.layout;
    if (layout !== null) proc.layout = layout;
    return exec;
  }

  /** A task whose credentials changed: what it was and what it is (BUFFER[0, n) holds its status). */
  #changed(proc: Proc, task: Task, n: number, execByEvidence: boolean): Change {
    const before = task.seen;
    // parse first: the reads below do not touch BUFFER, but nothing else may run in between
    const status = BUFFER.toString("latin1", 0, n);
    const exe = readlinkOr(`/proc/${proc.pid}/exe`);
    const exec = execByEvidence || (before.image.exe !== null && exe !== null && exe !== before.image.exe);
    proc.exe = exe;
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
    return { before, after, exec };
  }

  /** One look: the credential changes since the last one (new tasks are only noted). */
  poll(): Change[] {
    this.#look++;
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
    for (const pid of list) {
      const proc = this.#procs.get(pid);
      if (!proc) {
        this.#track(pid);
        continue;
      }
      if (proc.quiet >= QUIET_LOOKS && (this.#look + pid) % 2 === 1) continue;
      const before = changes.length;
      const exec = this.#execSinceLastLook(proc);
      if (exec) {
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
        this.#syncTasks(proc);
        if (!proc.tasks.size) {
          // the process has exited (a pid given with --pid stays in the list: drop it here)
          this.#close(proc);
          this.#procs.delete(pid);
          continue;
        }
      }
      for (const task of proc.tasks.values()) {
        if (task === leader) continue;
        const n = this.#readTask(task);
        if (n && credentialsChanged(n, task)) changes.push(this.#changed(proc, task, n, exec));
      }
      proc.quiet = changes.length > before || exec ? 0 : proc.quiet + 1;
    }
    return changes;
  }

  /** Closes every descriptor. */
  close(): void {
    for (const proc of this.#procs.values()) this.#close(proc);
    this.#procs.clear();
  }
}
