// Compiles native/capfuzz.c (the kernel side of the differential tests) into build/ with the
// system C compiler. Without one the build goes on, and the kernel tests say why they cannot
// run (under CI=true they fail instead). An installed package builds it on first use instead.
import { fileURLToPath } from "node:url";
import { compileRunner } from "../verify/runner.js";

const why = compileRunner(fileURLToPath(new URL("../../build/capfuzz", import.meta.url)));
if (why) {
  console.warn(`capgate: ${why}; kernel tests will not run`);
  if (process.env["CI"] === "true") process.exitCode = 1;
}
