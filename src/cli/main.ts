#!/usr/bin/env node
// The capgate command (bin/capgate runs this): the program is in program.ts, so that it can be
// run in-process by the CLI fuzzer too.
import { main } from "./program.js";

process.exitCode = await main(process.argv.slice(2));
