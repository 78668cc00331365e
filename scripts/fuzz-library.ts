// npm run fuzz:library [-- --inputs N --seed S]: the library fuzzer of fixtures/library-fuzz.ts
// over N inputs (default 100,000): every exported function of the pure entries, typed and
// untyped. Exit 1 when a call threw anything but capgate's own errors, or answered for a value
// outside its domain (a false "allowed"). npm test runs a seeded part of it.
import { parseArgs } from "node:util";
import { fuzzLibrary } from "../fixtures/library-fuzz.js";

const { values } = parseArgs({ options: { inputs: { type: "string" }, seed: { type: "string" } } });
const inputs = Number(values.inputs ?? 100_000);
const seed = Number(values.seed ?? Date.now() % 2 ** 31);
if (!Number.isInteger(inputs) || inputs < 1) {
  process.stderr.write("fuzz:library: --inputs must be a positive integer\n");
  process.exit(2);
}
const start = Date.now();
const r = fuzzLibrary(inputs, seed);
process.stdout.write(
  `${r.calls} calls over ${r.covered.length} functions, seed ${seed}, ${((Date.now() - start) / 1000).toFixed(1)} s: ` +
    `${r.foreign.length} threw something other than capgate's errors, ${r.falseAllowed.length} answered outside their domain\n`,
);
for (const line of [...r.foreign, ...r.falseAllowed]) process.stdout.write(`  ${line}\n`);
if (r.foreign.length || r.falseAllowed.length) process.exit(1);
