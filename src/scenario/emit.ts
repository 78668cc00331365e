// Writes engine inputs back as a scenario document (../shared/scenario-format.md), so that a
// state and ops found by a fuzzer can be replayed with `capgate simulate`.
import type { CapSet } from "../capabilities/set.js";
import { SET_NAMES, type SetName, type ThreadState } from "../state.js";
import { ID_CALL_ARGS, idCallArgs, isIdCall, type Op } from "../ops.js";
import { shownId, ID_UNMAPPED, type UserNamespace } from "../userns.js";

const hex = (s: CapSet) => s.toHex();
const id = (u: number) => (u === 0xffffffff ? -1 : u);
const arg = (v: number | bigint | undefined) =>
  typeof v === "bigint" ? (v > BigInt(Number.MAX_SAFE_INTEGER) ? `0x${v.toString(16)}` : Number(v)) : (v ?? 0);

/** The five sets as lowercase hex, keyed by their names (scenario documents and JSON output). */
export function setsHex(s: ThreadState): Record<SetName, string> {
  return Object.fromEntries(SET_NAMES.map((k) => [k, hex(s[k])])) as Record<SetName, string>;
}

export function stateToScenario(s: ThreadState): Record<string, unknown> {
  return {
    ...setsHex(s),
    securebits: s.securebits,
    uid: { ruid: shownId(s.ruid), euid: shownId(s.euid), suid: shownId(s.suid), fsuid: shownId(s.fsuid) },
    gid: { rgid: shownId(s.rgid), egid: shownId(s.egid), sgid: shownId(s.sgid), fsgid: shownId(s.fsgid) },
    groups: s.groups.map(shownId),
    ...(s.ns && { userns: usernsToScenario(s.ns) }),
    noNewPrivs: s.noNewPrivs,
    tid: s.tid,
  };
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
  if (isIdCall(op)) {
    const args = idCallArgs(op);
    return { op: op.op, ...Object.fromEntries(ID_CALL_ARGS[op.op].map((field, i) => [field, id(args[i]!)])) };
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
          version: f.caps.version ?? (f.caps.rootid !== undefined ? 3 : 2),
          ...((f.caps.version === 3 || f.caps.rootid !== undefined) && { rootid: f.caps.rootid ?? 0 }),
        };
      return { op: "execve", file, ...(op.ptraced && { ptraced: true }) };
    }
  }
}

export function toScenario(
  kernel: string,
  state: ThreadState,
  ops: readonly Op[],
  description?: string,
): Record<string, unknown> {
  return { ...(description && { description }), kernel, state: stateToScenario(state), steps: ops.map(opToScenario) };
}
