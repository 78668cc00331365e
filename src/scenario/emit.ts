// Writes engine inputs back as a scenario document (../shared/scenario-format.md), so that a
// state and ops found by a fuzzer can be replayed with `capgate simulate`.
import type { CapSet } from "../capabilities/set.js";
import { SET_NAMES, type SetName, type ThreadState } from "../state.js";
import type { Op } from "../ops.js";

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
    uid: { ruid: s.ruid, euid: s.euid, suid: s.suid, fsuid: s.fsuid },
    noNewPrivs: s.noNewPrivs,
    tid: s.tid,
  };
}

export function opToScenario(op: Op): Record<string, unknown> {
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
    case "setuid":
      return { op: "setuid", uid: id(op.uid) };
    case "seteuid":
      return { op: "seteuid", euid: id(op.euid) };
    case "setreuid":
      return { op: "setreuid", ruid: id(op.ruid), euid: id(op.euid) };
    case "setresuid":
      return { op: "setresuid", ruid: id(op.ruid), euid: id(op.euid), suid: id(op.suid) };
    case "setfsuid":
      return { op: "setfsuid", fsuid: id(op.fsuid) };
    case "execve": {
      const f = op.file;
      const file: Record<string, unknown> = { setuid: f.setuid ?? false, owner: f.owner ?? 0 };
      if (f.nosuid) file["nosuid"] = true;
      if (f.interpreter)
        file["interpreter"] = (opToScenario({ op: "execve", file: f.interpreter }) as { file: unknown }).file;
      if (f.caps)
        file["caps"] = {
          permitted: hex(f.caps.permitted),
          inheritable: hex(f.caps.inheritable),
          effective: f.caps.effective,
          version: f.caps.version ?? 2,
          rootid: f.caps.rootid ?? 0,
        };
      return { op: "execve", file };
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
