import { CapSet } from "../capabilities/set.js";
import { LAST_KNOWN_CAP } from "../capabilities/table.js";
import { PRCTL, AMBIENT_SUBOP, CAPABILITY_VERSION } from "../kernel/constants.js";
import { capabilityName } from "../capabilities/table.js";
import type { Op } from "../ops.js";
import type { ThreadState } from "../state.js";

const ALL = CapSet.upTo(LAST_KNOWN_CAP);
const names = (s: CapSet) => {
  if (s.isEmpty) return "{}";
  const short = (x: CapSet) => x.names().map((n) => n.replace(/^CAP_/, "").toLowerCase()).join(",");
  if (s.size <= 8) return short(s);
  const missing = ALL.difference(s);
  return missing.isEmpty ? "all" : missing.size <= 4 ? `all-${short(missing)}` : `${s.size} caps`;
};
const uid = (u: number) => (u === 0xffffffff ? "-1" : String(u));
const versionLabel = (v: number | undefined) =>
  v === undefined || v === CAPABILITY_VERSION.v3 ? "" : v === CAPABILITY_VERSION.v1 ? " v1" : v === CAPABILITY_VERSION.v2 ? " v2" : ` version=0x${v.toString(16)}`;

/** A short human form of an op, e.g. "capset e={} p=net_raw i={}". */
export function describeOp(op: Op): string {
  switch (op.op) {
    case "capget":
      return `capget${versionLabel(op.version)}${op.pid ? ` pid=${op.pid}` : ""}${op.data === false ? " data=NULL" : ""}`;
    case "capset": {
      const parts = [`capset${versionLabel(op.version)}`];
      if (op.pid) parts.push(`pid=${op.pid}`);
      if (op.data === false) parts.push("data=NULL");
      if (op.effective) parts.push(`e=${names(op.effective)}`);
      if (op.permitted) parts.push(`p=${names(op.permitted)}`);
      if (op.inheritable) parts.push(`i=${names(op.inheritable)}`);
      return parts.join(" ");
    }
    case "prctl": {
      const name = Object.entries(PRCTL).find(([, v]) => v === op.option)?.[0] ?? String(op.option);
      const a2 = BigInt(op.arg2 ?? 0), a3 = BigInt(op.arg3 ?? 0);
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
    case "setuid": return `setuid ${uid(op.uid)}`;
    case "seteuid": return `seteuid ${uid(op.euid)}`;
    case "setreuid": return `setreuid ${uid(op.ruid)} ${uid(op.euid)}`;
    case "setresuid": return `setresuid ${uid(op.ruid)} ${uid(op.euid)} ${uid(op.suid)}`;
    case "setfsuid": return `setfsuid ${uid(op.fsuid)}`;
    case "execve": {
      const f = op.file;
      const parts = ["execve"];
      if (f.setuid) parts.push(`setuid(owner ${f.owner ?? 0})`);
      if (f.caps) parts.push(`${names(f.caps.permitted)}${f.caps.inheritable.isEmpty ? "" : `/i=${names(f.caps.inheritable)}`}${f.caps.effective ? "+ep" : "+p"}${f.caps.version && f.caps.version !== 2 ? ` v${f.caps.version}` : ""}`);
      if (!f.setuid && !f.caps) parts.push("(plain file)");
      return parts.join(" ");
    }
  }
}

/** Which parts of the state changed, named: "P -net_raw, A cleared, euid 0→1000". */
export function describeChange(before: ThreadState, after: ThreadState): string {
  const parts: string[] = [];
  const sets = [["P", "permitted"], ["E", "effective"], ["I", "inheritable"], ["B", "bounding"], ["A", "ambient"]] as const;
  for (const [label, key] of sets) {
    const gained = after[key].difference(before[key]);
    const lost = before[key].difference(after[key]);
    if (gained.isEmpty && lost.isEmpty) continue;
    if (after[key].isEmpty && lost.size > 3) { parts.push(`${label} cleared`); continue; }
    const bits: string[] = [];
    if (!gained.isEmpty) bits.push(gained.size > 8 ? `+${gained.size} caps` : `+${names(gained)}`);
    if (!lost.isEmpty) bits.push(lost.size > 8 ? `-${lost.size} caps` : `-${names(lost)}`);
    parts.push(`${label} ${bits.join(" ")}`);
  }
  for (const id of ["ruid", "euid", "suid", "fsuid"] as const) {
    if (before[id] !== after[id]) parts.push(`${id} ${before[id]}→${after[id]}`);
  }
  if (before.securebits !== after.securebits) parts.push(`securebits 0x${before.securebits.toString(16)}→0x${after.securebits.toString(16)}`);
  if (before.noNewPrivs !== after.noNewPrivs) parts.push("no_new_privs set");
  return parts.join(", ");
}
