// Comparing the engine's verdict for one call with what the kernel did: the one judgement both
// the effects (shim/apply.ts, which reads the kernel back after each call) and the proof
// (verify/, the differential campaigns) make. Pure: it reads two answers and lists what differs.
import type { Verdict } from "./simulate.js";
import type { KernelStep } from "./engine/codec.js";
import { ERRNO_NUMBERS, ERRNO_NAMES } from "./kernel/constants.js";
import { diffStates, shownIds, type ThreadState } from "./state.js";
import { CapSet } from "./capabilities/set.js";

/** What the kernel side reports for one call: always its return, errno and the state read back; the runner also the header version, capget's data and AT_SECURE. */
export type KernelAnswer = Pick<KernelStep, "ret" | "errno" | "state"> &
  Partial<Pick<KernelStep, "version" | "data" | "secure">>;

/**
 * What differs between the engine's verdict and the kernel's answer for one step, one line
 * each. The header version and capget data are compared when the kernel side supplies them.
 * `engine` names the engine's side in the lines ("engine", or "predicted" for a pre-flight).
 */
export function compareStep(v: Verdict, k: KernelAnswer, engine = "engine"): string[] {
  const d: string[] = [];
  if (v.ret !== k.ret) d.push(`return value: ${engine} ${v.ret}, kernel ${k.ret}`);
  const errno = v.errno === null ? 0 : ERRNO_NUMBERS[v.errno]!;
  if (errno !== k.errno)
    d.push(
      `errno: ${engine} ${v.errno ?? "none"}, kernel ${k.errno === 0 ? "none" : (ERRNO_NAMES[k.errno] ?? k.errno)}`,
    );
  if ((v.op.op === "capget" || v.op.op === "capset") && k.version !== undefined && v.version !== k.version) {
    d.push(`header version: ${engine} 0x${v.version?.toString(16)}, kernel 0x${k.version.toString(16)}`);
  }
  if ("data" in k) {
    if (v.data && k.data) {
      for (const f of ["effective", "permitted", "inheritable"] as const) {
        if (!v.data[f].equals(k.data[f]))
          d.push(`capget data.${f}: ${engine} ${v.data[f].toHex()}, kernel ${k.data[f].toHex()}`);
      }
    } else if (Boolean(v.data) !== Boolean(k.data))
      d.push(`capget data: ${engine} ${v.data ? "copied" : "none"}, kernel ${k.data ? "copied" : "none"}`);
  }
  if (v.op.op === "execve" && v.ok && k.secure !== undefined && v.secureExec !== k.secure)
    d.push(`AT_SECURE: ${engine} ${v.secureExec}, kernel ${k.secure}`);
  for (const c of diffStates(asShown(v.state), asShown(k.state))) {
    const show = (x: unknown) => (x instanceof CapSet ? x.toHex() : Array.isArray(x) ? `[${x.join(",")}]` : String(x));
    d.push(`${c.field}: ${engine} ${show(c.before)}, kernel ${show(c.after)}`);
  }
  return d;
}

/**
 * A state as the thread itself sees it, which is what the kernel can be asked: unmapped ids as
 * the overflow id. The user namespace is compared through its effects (these ids, the errors of
 * set*id calls, the capabilities of a new namespace), not as a record.
 */
function asShown(s: ThreadState): ThreadState {
  return { ...s, ...shownIds(s), ns: null };
}
