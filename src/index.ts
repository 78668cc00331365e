// capgate: a kernel-exact model of Linux thread capabilities.
export { CapSet, CAP_FS_SET } from "./capabilities/set.js";
export { CAPABILITIES, LAST_KNOWN_CAP, capabilityName, capabilityNumber, type CapabilityInfo } from "./capabilities/table.js";
export { kernelProfile, DEFAULT_KERNEL, OLDEST_KERNEL, PROFILE_MILESTONES, ProfileError, type KernelProfile, type KernelFeatures } from "./kernel/profiles.js";
export { CAPABILITY_VERSION, PRCTL, AMBIENT_SUBOP, SECUREBITS, securebitNames } from "./kernel/constants.js";
export { threadState, stateProblem, statesEqual, DEFAULT_TID, type ThreadState, type ThreadStateInit } from "./state.js";
export type { Op, OpName, CapgetOp, CapsetOp, PrctlOp, SetuidOp, SeteuidOp, SetreuidOp, SetresuidOp, SetfsuidOp, ExecveOp, ExecFile, FileCaps } from "./ops.js";
export { OP_NAMES } from "./ops.js";
export { simulate, preflightCapset, simulateBatch, simulateSequence, Verdict, type SimulateOptions, type CapsetRequest, type Note } from "./simulate.js";
export { CapsetCheckBatch } from "./check-batch.js";
export { RULES, ruleById, type RuleInfo } from "./rules/catalog.js";
export { NOTES } from "./rules/notes.js";
export { parseScenario, parseState, parseSecurebits, type Scenario, type ScenarioStep, type Expectation } from "./scenario/parse.js";
export { runScenario, scenarioResultJson, verdictJson, stateJson, type ScenarioResult, type StepResult } from "./scenario/run.js";
export { parseSetInput, parseCapability } from "./parse/sets.js";
export { InputError } from "./parse/errors.js";
export { referenceCapsetCheck } from "./reference.js";
