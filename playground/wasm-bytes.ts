// The browser's half of src/engine/wasm-bytes.ts: the engine built into the bundle (esbuild's
// binary loader), so the page needs no server to evaluate anything.
import bytes from "../build/capgate.wasm";

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
