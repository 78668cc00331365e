// capgate/testing: fast-check arbitraries that generate only states and calls the kernel can
// be in, for property tests of capability logic. The generators live in src/fuzz/ (the
// differential campaign of `capgate verify --fuzz` uses them too); this is their public entry.
export * from "../fuzz/arbitraries.js";
// fast-check itself, the very copy these arbitraries are made with: a CommonJS project's own
// `import fc from "fast-check"` gets fast-check's CommonJS build, whose types are another
// package's to TypeScript; `import { fc } from "capgate/testing"` is the same copy everywhere.
export { default as fc } from "fast-check";
