#!/usr/bin/env node
// The capgate command (bin/capgate runs this): the program is in program.ts, so that it can be
// run in-process by the CLI fuzzer too. bin/capgate passes the signals its caller ignored as the
// first argument (see there); it is taken off here, never read from the environment.
import { main } from "./program.js";
import { setCallerIgnoredSignals } from "./exec.js";

// A reader that stops early (capgate exec --help | head) closes the pipe: end quietly, as
// other tools do, never with a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });

const args = process.argv.slice(2);
const noted = /^--caller-sigign=([0-9a-fA-F]{0,16})$/.exec(args[0] ?? "");
if (noted) {
  args.shift();
  setCallerIgnoredSignals(noted[1] ?? "");
}
process.exitCode = await main(args);
