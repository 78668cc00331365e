// capgate: a kernel-exact model of Linux thread capabilities. The root holds the values, the
// engine's answers and the profiles; the rest is in subpaths: capgate/formats (libcap text, IAB,
// masks, names, /proc status, xattrs), capgate/scenario, capgate/plan, capgate/lint,
// capgate/testing (fast-check arbitraries) and capgate/shim (the real kernel).
export { CapSet, CAP_FS_SET } from "./capabilities/set.js";
export {
  CAP,
  CAPABILITIES,
  LAST_KNOWN_CAP,
  capabilityName,
  capabilityNumber,
  type CapabilityInfo,
} from "./capabilities/table.js";
export {
  kernelProfile,
  DEFAULT_KERNEL,
  OLDEST_KERNEL,
  PROFILE_MILESTONES,
  ProfileError,
  type KernelProfile,
  type KernelFeatures,
} from "./kernel/profiles.js";
export { CAPABILITY_VERSION, PRCTL, AMBIENT_SUBOP, SECUREBITS, securebitNames } from "./kernel/constants.js";
export {
  threadState,
  stateProblem,
  StateError,
  statesEqual,
  diffStates,
  SET_NAMES,
  UID_NAMES,
  GID_NAMES,
  DEFAULT_TID,
  type ThreadState,
  type ThreadStateInit,
  type StateChange,
  type SetName,
} from "./state.js";
export type {
  Op,
  OpName,
  CapgetOp,
  CapsetOp,
  PrctlOp,
  SetuidOp,
  SeteuidOp,
  SetreuidOp,
  SetresuidOp,
  SetfsuidOp,
  SetgidOp,
  SetegidOp,
  SetregidOp,
  SetresgidOp,
  SetfsgidOp,
  SetgroupsOp,
  UnshareOp,
  TaskSets,
  ExecveOp,
  ExecFile,
  FileCaps,
} from "./ops.js";
export {
  childNamespace,
  mapUp,
  mapDown,
  shownId,
  ID_UNMAPPED,
  OVERFLOW_ID,
  type UserNamespace,
  type IdExtent,
} from "./userns.js";
export { OP_NAMES } from "./ops.js";
export {
  simulate,
  preflightCapset,
  simulateBatch,
  simulateSequence,
  simulateSequences,
  Verdict,
  type SimulateOptions,
  type CapsetRequest,
  type Note,
} from "./simulate.js";
export { CapsetCheckBatch } from "./check-batch.js";
export { RULES, ruleById, type RuleInfo, type RuleId } from "./rules/catalog.js";
export { NOTES } from "./rules/notes.js";
export { CapgateInputError, CapgateSystemError } from "./errors.js";
export {
  explain,
  changeOps,
  explanationJson,
  type ChangeRequest,
  type Explanation,
  type CapsetSets,
} from "./explain/explain.js";
