// Instantiates the engine and keeps typed views on its memory. The only JS that knows the wasm
// exports. The bytes come from wasm-bytes.ts (the file, in Node); the browser playground's
// bundle swaps that module for the bytes built in, and shares everything else.
import { wasmBytes } from "./wasm-bytes.js";

export interface EngineExports {
  readonly memory: WebAssembly.Memory;
  scratchState(): number;
  scratchOp(): number;
  scratchResult(): number;
  scratchOut(): number;
  heapBase(): number;
  evaluate(profile: number, state: number, op: number, result: number, out: number): number;
  evaluateScratch(profile: number): number;
  evaluateBatch(profile: number, input: number, output: number, count: number): number;
  evaluateSequence(profile: number, start: number, ops: number, count: number, results: number, states: number): number;
  evaluateSequences(profile: number, table: number, count: number): number;
  capsetCheckBatch(input: number, output: number, count: number): number;
  preflightCapset(
    profile: number,
    tid: number,
    version: number,
    pid: number,
    pLo: number,
    pHi: number,
    eLo: number,
    eHi: number,
    iLo: number,
    iHi: number,
    bLo: number,
    bHi: number,
    aLo: number,
    aHi: number,
    nELo: number,
    nEHi: number,
    nPLo: number,
    nPHi: number,
    nILo: number,
    nIHi: number,
  ): number;
  readonly ABI_STATE_SIZE: WebAssembly.Global;
  readonly ABI_OP_SIZE: WebAssembly.Global;
  readonly ABI_RESULT_SIZE: WebAssembly.Global;
  readonly ABI_CHECK_SIZE: WebAssembly.Global;
}

export const engine = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes()), {})
  .exports as unknown as EngineExports;

/** Word offsets (index into u32) of the scratch records of the single-call path. */
export const SCRATCH = {
  state: engine.scratchState() >>> 2,
  op: engine.scratchOp() >>> 2,
  result: engine.scratchResult() >>> 2,
  out: engine.scratchOut() >>> 2,
};

let u32 = new Uint32Array(engine.memory.buffer);

/** A view on the engine's memory, renewed after the memory grows (which detaches the old one). */
export function words(): Uint32Array {
  if (u32.length === 0) u32 = new Uint32Array(engine.memory.buffer);
  return u32;
}

// Linear memory above the heap base is handed out in regions, so that every batch owns its
// records: a CapsetCheckBatch filled by one caller is never overwritten by another batch or by
// simulateBatch (a pre-flight must never answer from someone else's records). First fit over a
// free list, 64-byte aligned, neighbours merged on release; the memory grows as needed.
const ALIGN = 64;
const free: Array<{ at: number; bytes: number }> = [];
let top = engine.heapBase();
/** Region start → its size, for every region handed out and not yet released. */
const sizes = new Map<number, number>();

function grow(to: number): void {
  const have = engine.memory.buffer.byteLength;
  if (to > have) {
    engine.memory.grow(Math.ceil((to - have) / 65536));
    u32 = new Uint32Array(engine.memory.buffer);
  }
}

/** A region of `bytes` bytes of engine memory that nothing else uses until release(at). */
export function allocate(bytes: number): number {
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const i = free.findIndex((f) => f.bytes >= size);
  if (i >= 0) {
    const f = free[i]!; // (found by findIndex)
    const at = f.at;
    if (f.bytes === size) free.splice(i, 1);
    else {
      f.at += size;
      f.bytes -= size;
    }
    sizes.set(at, size);
    return at;
  }
  const at = top;
  grow(at + size);
  top += size;
  sizes.set(at, size);
  return at;
}
/** Gives a region back (a second release of the same region is ignored). */
export function release(at: number): void {
  const size = sizes.get(at);
  if (size === undefined) return;
  sizes.delete(at);
  let i = free.findIndex((f) => f.at > at);
  if (i < 0) i = free.length;
  free.splice(i, 0, { at, bytes: size });
  // merge with the following and the preceding free region
  const next = free[i + 1];
  if (next && at + size === next.at) {
    free[i]!.bytes += next.bytes; // (the entry just inserted at i)
    free.splice(i + 1, 1);
  }
  const prev = free[i - 1];
  if (prev && prev.at + prev.bytes === at) {
    prev.bytes += free[i]!.bytes; // (as above)
    free.splice(i, 1);
    i--;
  }
  // a free region at the top goes back to the bump pointer
  const last = free[free.length - 1];
  if (last && last.at + last.bytes === top) {
    top = last.at;
    free.pop();
  }
}

/** Runs fn with a region of `bytes` bytes that is released afterwards (for one-call batches). */
export function withRegion<T>(bytes: number, fn: (at: number) => T): T {
  const at = allocate(bytes);
  try {
    return fn(at);
  } finally {
    release(at);
  }
}

/** Bytes of engine memory in regions now (for tests: every region is released). */
export function regionBytesInUse(): number {
  let n = 0;
  for (const s of sizes.values()) n += s;
  return n;
}
