// Ops and state changes as people read them in a table: "capset =ep cap_net_raw+i",
// "prctl PR_CAPBSET_DROP CAP_SYS_ADMIN", "P -net_raw, euid 0→1000".
import type { CapSet } from "../capabilities/set.js";
import { capabilityName } from "../capabilities/table.js";
import { abbreviateSet } from "../capabilities/list.js";
import { PRCTL, AMBIENT_SUBOP, CAPABILITY_VERSION } from "../kernel/constants.js";
import { idCallArgs, isIdCall, requireOp, type Op } from "../ops.js";
import { shownId } from "../userns.js";
import { diffStates, requireSets, SET_NAMES, type ComparableState, type SetName } from "../state.js";
import { formatCapText } from "./libcap-text.js";
import type { KernelProfile } from "../kernel/profiles.js";

const names = (s: CapSet) => abbreviateSet(s);
const uid = (u: number) => (u === 0xffffffff ? "-1" : String(u));
const versionLabel = (v: number | undefined) =>
  v === undefined || v === CAPABILITY_VERSION.v3
    ? ""
    : v === CAPABILITY_VERSION.v1
      ? " v1"
      : v === CAPABILITY_VERSION.v2
        ? " v2"
        : ` version=0x${v.toString(16)}`;

/** A short human form of an op; a capset of all three sets is libcap text, as capsh --caps takes it. */
/** A verdict's outcome in a word: "ok" (with the return value when it is not 0), the errno name, or "not modelled". */
export function outcomeText(v: {
  readonly ok: boolean;
  readonly modelled: boolean;
  readonly ret: number;
  readonly errno: string | null;
}): string {
  return !v.modelled ? "not modelled" : v.ok ? (v.ret ? `ok → ${v.ret}` : "ok") : (v.errno ?? "failed");
}

export function describeOp(op: Op): string {
  requireOp(op, "describeOp");
  if (isIdCall(op)) return [op.op, ...idCallArgs(op).map(uid)].join(" ");
  switch (op.op) {
    case "capget":
      return `capget${versionLabel(op.version)}${op.pid ? ` pid=${op.pid}` : ""}${op.data === false ? " data=NULL" : ""}`;
    case "capset": {
      const parts = [`capset${versionLabel(op.version)}`];
      if (op.pid) parts.push(`pid=${op.pid}`);
      if (op.data === false) parts.push("data=NULL");
      if (op.effective && op.permitted && op.inheritable)
        parts.push(formatCapText({ effective: op.effective, permitted: op.permitted, inheritable: op.inheritable }));
      else {
        if (op.effective) parts.push(`e=${names(op.effective)}`);
        if (op.permitted) parts.push(`p=${names(op.permitted)}`);
        if (op.inheritable) parts.push(`i=${names(op.inheritable)}`);
      }
      return parts.join(" ");
    }
    case "prctl": {
      const name = Object.entries(PRCTL).find(([, v]) => v === op.option)?.[0] ?? String(op.option);
      const a2 = BigInt(op.arg2 ?? 0),
        a3 = BigInt(op.arg3 ?? 0);
      const cap = (n: bigint) => (n >= 0n && n <= 63n ? capabilityName(Number(n)) : String(n));
      switch (op.option) {
        case PRCTL.PR_CAP_AMBIENT: {
          const sub = Object.entries(AMBIENT_SUBOP).find(([, v]) => BigInt(v) === a2)?.[0] ?? String(a2);
          return sub === "PR_CAP_AMBIENT_CLEAR_ALL" ? `prctl ${sub}` : `prctl ${sub} ${cap(a3)}`;
        }
        case PRCTL.PR_CAPBSET_DROP:
        case PRCTL.PR_CAPBSET_READ:
          return `prctl ${name} ${cap(a2)}`;
        case PRCTL.PR_SET_SECUREBITS:
          return `prctl ${name} 0x${a2.toString(16)}`;
        case PRCTL.PR_SET_KEEPCAPS:
        case PRCTL.PR_SET_NO_NEW_PRIVS:
          return `prctl ${name} ${a2}`;
        default:
          return `prctl ${name}`;
      }
    }
    case "setgroups":
      return `setgroups ${op.groups.join(",") || "(none)"}`;
    case "unshare": {
      const map = (m: readonly (readonly number[])[] | undefined) =>
        m ? m.map((e) => e.join(" ")).join(", ") : "none";
      return `unshare user (uid_map ${map(op.uidMap)}; gid_map ${map(op.gidMap)}${op.setgroups === "deny" ? "; setgroups deny" : ""})`;
    }
    case "execve": {
      if (op.file.interpreter)
        return `execve #! script, interpreter: ${describeOp({ op: "execve", file: op.file.interpreter }).replace(/^execve /, "")}`;
      const f = op.file;
      const parts = ["execve"];
      if (f.setuid) parts.push(`setuid(owner ${f.owner ?? 0})`);
      if (f.setgid) parts.push(`setgid(group ${f.group ?? 0})`);
      if (f.caps)
        parts.push(
          `${names(f.caps.permitted)}${f.caps.inheritable.isEmpty ? "" : `/i=${names(f.caps.inheritable)}`}${f.caps.effective ? "+ep" : "+p"}${f.caps.version && f.caps.version !== 2 ? ` v${f.caps.version}` : ""}`,
        );
      if (!f.setuid && !f.setgid && !f.caps) parts.push("(plain file)");
      if (f.nosuid) parts.push("on a nosuid mount");
      if (op.ptraced) parts.push("under a tracer without CAP_SYS_PTRACE");
      return parts.join(" ");
    }
  }
}

const SET_LABELS: Record<SetName, string> = {
  permitted: "P",
  effective: "E",
  inheritable: "I",
  bounding: "B",
  ambient: "A",
};

/** Which parts of the state changed, named: "P -net_raw, A cleared, euid 0→1000". */
export function describeChange(before: ComparableState, after: ComparableState): string {
  requireSets(before, SET_NAMES, "describeChange");
  requireSets(after, SET_NAMES, "describeChange");
  return diffStates(before, after)
    .map((c) => {
      if (c.field in SET_LABELS) {
        const b = c.before as CapSet,
          a = c.after as CapSet,
          label = SET_LABELS[c.field as SetName];
        const gained = a.difference(b),
          lost = b.difference(a);
        if (a.isEmpty && lost.size > 3) return `${label} cleared`;
        const bits: string[] = [];
        if (!gained.isEmpty) bits.push(gained.size > 8 ? `+${gained.size} caps` : `+${names(gained)}`);
        if (!lost.isEmpty) bits.push(lost.size > 8 ? `-${lost.size} caps` : `-${names(lost)}`);
        return `${label} ${bits.join(" ")}`;
      }
      if (c.field === "securebits")
        return `securebits 0x${(c.before as number).toString(16)}→0x${(c.after as number).toString(16)}`;
      if (c.field === "noNewPrivs") return "no_new_privs set";
      if (c.field === "groups") return `groups [${c.before.join(",")}]→[${c.after.join(",")}]`;
      if (c.field === "ns") return `user namespace level ${c.before?.level ?? 0}→${c.after?.level ?? 0}`;
      if (typeof c.before === "number" && typeof c.after === "number" && /id$/.test(c.field))
        return `${c.field} ${shownId(c.before)}→${shownId(c.after)}`;
      return `${c.field} ${String(c.before)}→${String(c.after)}`;
    })
    .join(", ");
}

/** A thread's capabilities in one phrase: libcap text, then the ambient set when it has one. */
export function describeCaps(state: ComparableState, profile?: KernelProfile): string {
  requireSets(state, SET_NAMES, "describeCaps");
  const ambient = state.ambient.isEmpty ? "" : `, ambient ${abbreviateSet(state.ambient, { prefix: true, max: 64 })}`;
  return `${formatCapText(state, profile)}${ambient}`;
}
