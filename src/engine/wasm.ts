// Loads the engine (build/capgate.wasm, or the debug build with CAPGATE_WASM=debug) and
// keeps typed views on its memory. The only JS that knows the wasm exports.
import { readFileSync } from "node:fs";

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
  preflightCapset(profile: number, tid: number, version: number, pid: number,
    pLo: number, pHi: number, eLo: number, eHi: number, iLo: number, iHi: number, bLo: number, bHi: number, aLo: number, aHi: number,
    nELo: number, nEHi: number, nPLo: number, nPHi: number, nILo: number, nIHi: number): number;
  readonly ABI_STATE_SIZE: WebAssembly.Global;
  readonly ABI_OP_SIZE: WebAssembly.Global;
  readonly ABI_RESULT_SIZE: WebAssembly.Global;
  readonly ABI_CHECK_SIZE: WebAssembly.Global;
}

const file = process.env["CAPGATE_WASM"] === "debug" ? "capgate.debug.wasm" : "capgate.wasm";
const wasmUrl = new URL(`../../../build/${file}`, import.meta.url);

let bytes: Buffer;
try {
  bytes = readFileSync(wasmUrl);
} catch (cause) {
  throw new Error(`capgate: the engine ${wasmUrl.pathname} is missing; run "npm run build"`, { cause });
}

export const engine = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), {}).exports as unknown as EngineExports;

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

/** Makes sure `bytes` bytes from the heap base are addressable; returns the base byte offset. */
export function reserve(bytes: number): number {
  const base = engine.heapBase();
  const need = base + bytes;
  const have = engine.memory.buffer.byteLength;
  if (need > have) {
    engine.memory.grow(Math.ceil((need - have) / 65536));
    u32 = new Uint32Array(engine.memory.buffer);
  }
  return base;
}
