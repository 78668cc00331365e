// capgate's proof, for programs: runs trials or a scenario on a real kernel (this machine's, or
// another booted under qemu) beside the engine and compares every step, as `capgate verify`
// and `npm run verify:kernels` do. It needs Linux, a C compiler for the runner, and (for
// --fuzz) fast-check; nothing here changes the caller's own credentials: every trial runs in
// a throwaway user namespace.
export {
  runFuzzCampaign,
  verifyScenario,
  runningKernel,
  confirmDivergences,
  compareTrials,
  describeDivergence,
  describeHarnessFault,
  differingOps,
  reproducerScenario,
  scenarioProblem,
  setupStageText,
  batchSeed,
  campaignOutcome,
  scenarioOutcome,
  campaignJson,
  scenarioReportJson,
  LOCAL_BATCH,
  type VerifyOutcome,
  type KernelSide,
  type Divergence,
  type HarnessFault,
  type Comparison,
  type FuzzCampaignOptions,
  type FuzzCampaignResult,
  type ScenarioReport,
  type ScenarioStepReport,
} from "./campaign.js";
export {
  bootedKernel,
  openKernelImage,
  imageRelease,
  bootUnavailable,
  bootTimeoutMs,
  abandonBoots,
  BootFailure,
  EXIT_BOOT_FAILED,
  type KernelImage,
  type BootOptions,
} from "./boot.js";
export {
  runnerUnavailable,
  setCompiler,
  abandonRuns,
  KernelRunnerError,
  type Trial,
  type KernelTrial,
  type KernelStep,
} from "./runner.js";
export { trialArb, trialGroupArb, runnerMapsAllIds, runnerGroups, type TrialOptions } from "./trials.js";
