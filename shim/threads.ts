// Capabilities are per thread. These read every thread of this process, so a caller can see
// which threads still hold what the calling thread gave up.
import { readdirSync, readFileSync } from "node:fs";
import { parseStatus, type StatusFields } from "../src/formats/proc-status.js";
import { gettid } from "./libc.js";
import { diffStates } from "../src/state.js";

export interface ThreadDifference {
  readonly tid: number;
  /** The thread's name (e.g. "node", "libuv-worker", a Worker's name). */
  readonly name: string;
  /** Which sets or ids differ from the calling thread's. */
  readonly differs: readonly string[];
}

/** Every other thread of this process whose capabilities or uids differ from the caller's. */
export function threadsDifferingFromCaller(): ThreadDifference[] {
  const self = gettid();
  const mine = parseStatus(readFileSync(`/proc/self/task/${self}/status`, "utf8"));
  const out: ThreadDifference[] = [];
  for (const entry of readdirSync("/proc/self/task")) {
    const tid = Number(entry);
    if (tid === self) continue;
    let status: StatusFields;
    try {
      status = parseStatus(readFileSync(`/proc/self/task/${entry}/status`, "utf8"));
    } catch {
      continue; // the thread ended meanwhile
    }
    const d = diffStates(mine, status).map((c) => c.field);
    if (d.length) out.push({ tid, name: status.name, differs: d });
  }
  return out;
}
