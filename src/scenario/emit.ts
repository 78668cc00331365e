// Writes engine inputs back as a scenario document (../shared/scenario-format.md), so that a
// state and ops found by a fuzzer can be replayed with `capgate simulate`.
import type { CapSet } from "../capabilities/set.js";
import { requireState } from "../state.js";
import { STATE_FORMS } from "../state-fields.js";
import { CapgateInputError } from "../errors.js";
import { isList } from "../args.js";
import { SET_NAMES, type SetName, type ThreadState } from "../state.js";
import { ID_CALL_ARGS, idArg, isIdCall, requireOp, type FileCaps, type Op, type TaskSets } from "../ops.js";
import { shownId, mapDown, ID_UNMAPPED, OVERFLOW_ID, type IdExtent, type UserNamespace } from "../userns.js";

const hex = (s: CapSet) => s.toHex();
const id = (u: number) => (u === 0xffffffff ? -1 : u);
const arg = (v: number | bigint | undefined) =>
  typeof v === "bigint" ? (v > BigInt(Number.MAX_SAFE_INTEGER) ? `0x${v.toString(16)}` : Number(v)) : (v ?? 0);

/** The five sets as lowercase hex, keyed by their names (scenario documents and JSON output). */
export function setsHex(s: ThreadState): Record<SetName, string> {
  return Object.fromEntries(SET_NAMES.map((k) => [k, hex(s[k])])) as Record<SetName, string>;
}

/**
 * An id as a scenario gives it: as the thread sees it (65534 for one its namespace does not map),
 * or -1 for an unmapped one where 65534 is itself a mapped id (which 65534 would mean).
 */
function scenarioId(id: number, map: readonly IdExtent[] | undefined): number {
  if (id !== ID_UNMAPPED) return id;
  return map && mapDown(map, OVERFLOW_ID) !== ID_UNMAPPED ? -1 : shownId(id);
}

export function stateToScenario(s: ThreadState): Record<string, unknown> {
  requireState(s, "stateToScenario");
  const state = s as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of STATE_FORMS) {
    const v = state[f.field];
    switch (f.form) {
      case "set":
        out[f.key] = hex(v as CapSet);
        break;
      case "id": {
        // the four ids of a group as one object, as the thread sees them (-1: unmapped)
        const group = (out[f.group ?? f.key] ??= {}) as Record<string, number>;
        group[f.key] = scenarioId(v as number, f.group === "gid" ? s.ns?.gidMap : s.ns?.uidMap);
        break;
      }
      case "ids":
        out[f.key] = (v as readonly number[]).map((g) => scenarioId(g, s.ns?.gidMap));
        break;
      case "userns":
        if (v) out[f.key] = usernsToScenario(v as UserNamespace);
        break;
      default:
        out[f.key] = v;
    }
  }
  return out;
}

/** A user namespace as a scenario's (and the JSON output's) `userns`. */
export function usernsToScenario(ns: UserNamespace): Record<string, unknown> {
  return {
    uidMap: ns.uidMap.map((e) => [...e]),
    gidMap: ns.gidMap.map((e) => [...e]),
    setgroups: ns.setgroups,
    owner: ns.owner,
    ...(ns.level > 1 && { level: ns.level, roots: ns.roots.map((r) => (r === ID_UNMAPPED ? -1 : r)) }),
  };
}

export function opToScenario(op: Op): Record<string, unknown> {
  requireOp(op, "opToScenario");
  if (isIdCall(op)) {
    return { op: op.op, ...Object.fromEntries(ID_CALL_ARGS[op.op].map((field) => [field, id(idArg(op, field))])) };
  }
  switch (op.op) {
    case "capget":
      return { op: "capget", version: op.version, pid: op.pid ?? 0, data: op.data ?? true };
    case "capset": {
      const out: Record<string, unknown> = {
        op: "capset",
        version: op.version,
        pid: op.pid ?? 0,
        data: op.data ?? true,
      };
      if (op.effective) out["effective"] = hex(op.effective);
      if (op.permitted) out["permitted"] = hex(op.permitted);
      if (op.inheritable) out["inheritable"] = hex(op.inheritable);
      return out;
    }
    case "prctl":
      return {
        op: "prctl",
        option: op.option,
        arg2: arg(op.arg2),
        arg3: arg(op.arg3),
        arg4: arg(op.arg4),
        arg5: arg(op.arg5),
      };
    case "setgroups":
      return { op: "setgroups", groups: [...op.groups] };
    case "unshare":
      return {
        op: "unshare",
        user: true,
        ...(op.uidMap && { uidMap: op.uidMap.map((e) => [...e]) }),
        ...(op.gidMap && { gidMap: op.gidMap.map((e) => [...e]) }),
        ...(op.setgroups && { setgroups: op.setgroups }),
        ...(op.multithreaded !== undefined && { multithreaded: op.multithreaded }),
      };
    case "execve": {
      const f = op.file;
      const file: Record<string, unknown> = { setuid: f.setuid ?? false, owner: f.owner ?? 0 };
      if (f.setgid) file["setgid"] = true;
      if (f.group) file["group"] = f.group;
      if (f.nosuid) file["nosuid"] = true;
      if (f.interpreter)
        file["interpreter"] = (opToScenario({ op: "execve", file: f.interpreter }) as { file: unknown }).file;
      if (f.caps)
        file["caps"] = {
          permitted: hex(f.caps.permitted),
          inheritable: hex(f.caps.inheritable),
          effective: f.caps.effective,
          version: capsVersion(f.caps),
          // only version 3 has a root id (a version-2 value read from disk reports 0, which is no field of it)
          ...(capsVersion(f.caps) === 3 && { rootid: f.caps.rootid ?? 0 }),
        };
      return { op: "execve", file, ...(op.ptraced && { ptraced: true }) };
    }
  }
}

/** A file capabilities' revision: the one it names, else 3 when it carries a root id, else 2. */
function capsVersion(caps: FileCaps): 1 | 2 | 3 {
  return caps.version ?? (caps.rootid !== undefined ? 3 : 2);
}

/**
 * The document's `tasks` for the other tasks capget ops read (op.target): one task per pid and
 * set of sets; a pid that two ops read with different sets gets a pid of its own for the second.
 * null when no op says what the pid namespace holds (then no `tasks`, and such a capget is
 * outside the model, as it was).
 */
function tasksOf(state: ThreadState, ops: readonly Op[]): { tasks: Record<string, unknown>[]; ops: Op[] } | null {
  if (!ops.some((op) => op.op === "capget" && op.target !== undefined)) return null;
  const tasks = new Map<number, TaskSets>();
  const taken = new Set<number>([state.tid]);
  for (const op of ops) if (op.op === "capget" && op.target && op.pid !== undefined) taken.add(op.pid);
  let spare = Math.max(...taken) + 1;
  const same = (a: TaskSets, b: TaskSets) =>
    a.effective.equals(b.effective) &&
    a.permitted.equals(b.permitted) &&
    a.inheritable.equals(b.inheritable) &&
    Boolean(a.thread) === Boolean(b.thread);
  const out = ops.map((op): Op => {
    if (op.op !== "capget" || !op.target || op.pid === undefined || op.pid === state.tid || op.pid <= 0) return op;
    const known = tasks.get(op.pid);
    if (!known) {
      tasks.set(op.pid, op.target);
      return op;
    }
    if (same(known, op.target)) return op;
    while (taken.has(spare)) spare++;
    taken.add(spare);
    tasks.set(spare, op.target);
    return { ...op, pid: spare };
  });
  return {
    tasks: [...tasks.entries()].map(([tid, t]) => ({
      tid,
      ...(t.thread && { thread: true }),
      permitted: hex(t.permitted),
      effective: hex(t.effective),
      inheritable: hex(t.inheritable),
    })),
    ops: out,
  };
}

/**
 * A scenario document that replays `ops` from `state` with `capgate simulate` (and `verify`):
 * everything the engine was given, the other tasks capget reads and whether an unshare happens
 * in a multithreaded process included, so that it means what the ops meant.
 */
export function toScenario(
  kernel: string,
  state: ThreadState,
  ops: readonly Op[],
  description?: string,
): Record<string, unknown> {
  requireState(state, "toScenario");
  if (!isList(ops)) throw new CapgateInputError("toScenario: ops must be a list of ops");
  const t = tasksOf(state, ops);
  const steps = (t?.ops ?? ops).map((op) => {
    const step = opToScenario(op);
    // with thread tasks listed, an unshare is multithreaded unless the step says otherwise
    if (op.op === "unshare" && t && step["multithreaded"] === undefined) step["multithreaded"] = false;
    return step;
  });
  return {
    ...(description && { description }),
    kernel,
    state: stateToScenario(state),
    ...(t && { tasks: t.tasks }),
    steps,
  };
}
