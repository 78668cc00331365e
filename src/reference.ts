import type { CapSet } from "./capabilities/set.js";
import { CAP } from "./capabilities/table.js";

/**
 * A plain-TypeScript statement of the four cap_capset checks, kept apart from the engine on
 * purpose: the benchmark's baseline, and an independent oracle the tests compare the wasm
 * engine with. Returns the failing rule id, or "capset.ok".
 */
export function referenceCapsetCheck(
  state: { permitted: CapSet; effective: CapSet; inheritable: CapSet; bounding: CapSet },
  request: { effective: CapSet; permitted: CapSet; inheritable: CapSet },
): string {
  const { permitted, effective, inheritable, bounding } = state;
  if (!effective.has(CAP.SETPCAP) && !request.inheritable.isSubsetOf(inheritable.union(permitted)))
    return "capset.inheritable-not-permitted";
  if (!request.inheritable.isSubsetOf(inheritable.union(bounding))) return "capset.inheritable-outside-bounding";
  if (!request.permitted.isSubsetOf(permitted)) return "capset.permitted-grows";
  if (!request.effective.isSubsetOf(request.permitted)) return "capset.effective-not-permitted";
  return "capset.ok";
}

/** The same four checks on raw u32 halves, the way a hand-tuned TypeScript version would be written. */
export function referenceCapsetCheckWords(w: Uint32Array, at: number): number {
  // (w[at + k]!: the caller's buffer holds the 14 words of a state and request pair at `at`)
  const pLo = w[at]!,
    pHi = w[at + 1]!,
    eLo = w[at + 2]!,
    iLo = w[at + 4]!,
    iHi = w[at + 5]!; // (as above)
  // (as above)
  const bLo = w[at + 6]!,
    bHi = w[at + 7]!,
    nELo = w[at + 8]!,
    nEHi = w[at + 9]!;
  // (as above)
  const nPLo = w[at + 10]!,
    nPHi = w[at + 11]!,
    nILo = w[at + 12]!,
    nIHi = w[at + 13]!;
  if ((eLo & 0x100) === 0 && ((nILo & ~(iLo | pLo)) | (nIHi & ~(iHi | pHi))) !== 0) return 14;
  if (((nILo & ~(iLo | bLo)) | (nIHi & ~(iHi | bHi))) !== 0) return 15;
  if (((nPLo & ~pLo) | (nPHi & ~pHi)) !== 0) return 16;
  if (((nELo & ~nPLo) | (nEHi & ~nPHi)) !== 0) return 17;
  return 0;
}
