// capgate's kernel shim: the only code that makes capability system calls. Everything the
// engine can answer is answered by the engine (import "capgate"); this applies a change to the
// real kernel after pre-flighting it, and proves the model right by reading the kernel back.
//
// Capabilities are per thread: every function here acts on, or reads, the calling thread.
// Load the shim (loadShim) on the main thread before starting any Worker.
export { apply, RefusedByModel, ModelDivergence, type ApplyOptions, type Applied } from "./apply.js";
export { readThreadState, currentProfile, parseStatus, type StatusFields } from "./thread-state.js";
export { threadsDifferingFromCaller, type ThreadDifference } from "./threads.js";
export {
  syscall,
  prctl,
  gettid,
  setresgid,
  setgroups,
  readGids,
  loadShim,
  setSyscaller,
  errnoText,
  ShimUnavailable,
  type SyscallResult,
  type Syscaller,
  type Gids,
} from "./libc.js";
export {
  getFileCaps,
  inspectFileCaps,
  writeFileCaps,
  setFileCaps,
  removeFileCaps,
  FileCapsError,
  type FileCapsEntry,
  type FileKind,
} from "./files.js";
export { execProgram, ExecError, type ExecSetup } from "./launch.js";
export { openProgram, resolveProgram, shebang, ProgramError, type OpenedProgram } from "./program.js";
export {
  Launcher,
  LaunchRefused,
  LaunchInputError,
  applyCalls,
  type LaunchRequest,
  type LaunchPlan,
  type LaunchCall,
  type LaunchStep,
} from "./launcher.js";
export { lookupUser, lookupGroup, userGroups, UserLookupError, type UserEntry } from "./users.js";
export { directoryTrustProblem, openTrustedProgram, type OpenedProgram as TrustedProgram } from "./trust.js";
export { Rings, RingError, type Ring, type RingsOptions } from "./rings.js";
export { ProcEvents, type ProcEvent } from "./proc-events.js";
export { execFileOf, userNamespaceChain } from "./processes.js";
