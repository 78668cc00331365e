// The engine's bytes, in Node: build/capgate.wasm (or the debug build with CAPGATE_WASM=debug).
// The playground's bundle replaces this module (playground/wasm-bytes.ts).
import { readFileSync } from "node:fs";

export function wasmBytes(): Uint8Array<ArrayBuffer> {
  const file = process.env["CAPGATE_WASM"] === "debug" ? "capgate.debug.wasm" : "capgate.wasm";
  const url = new URL(`../../../build/${file}`, import.meta.url);
  try {
    return new Uint8Array(readFileSync(url));
  } catch (cause) {
    throw new Error(`capgate: the engine ${url.pathname} is missing; run "npm run build"`, { cause });
  }
}
