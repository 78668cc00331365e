// Compiles native/capfuzz.c (the kernel side of the differential tests) with the system C
// compiler. Without one the build goes on, and the kernel tests say why they cannot run
// (under CI=true they fail instead).
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
mkdirSync(`${root}build`, { recursive: true });
const cc = process.env["CC"] ?? "cc";
const r = spawnSync(
  cc,
  ["-O2", "-Wall", "-Wextra", "-pthread", "-o", `${root}build/capfuzz`, `${root}native/capfuzz.c`],
  { stdio: "inherit" },
);
if (r.error || r.status !== 0) {
  console.warn(
    `capgate: could not compile native/capfuzz.c with ${cc} (${r.error?.message ?? `exit ${r.status}`}); kernel tests will not run`,
  );
  if (process.env["CI"] === "true") process.exitCode = 1;
}
