// capgate/container: what a container's process really gets, from its spec. Pure: reading an
// image's files is the CLI's (or the caller's) job; give them as `entrypoint` and `accounts`.
export {
  enginePlan,
  engineCapabilities,
  ociNames,
  ENGINE_NAMES,
  RUNTIME_NAMES,
  OCI_CAP_LISTS,
  type EngineName,
  type RuntimeName,
  type EngineRequest,
  type EnginePlan,
  type OciProcess,
  type OciCapabilities,
  type Decision,
  type Entrypoint,
} from "./engines.js";
export {
  parseAccounts,
  lookupUser,
  lookupGroup,
  groupsOfUser,
  NO_ACCOUNTS,
  type Accounts,
  type PasswdEntry,
  type GroupEntry,
} from "./accounts.js";
export { runcSteps, runtimeStart, type RuntimeStep } from "./runtime.js";
export {
  predictContainer,
  containerJson,
  containerText,
  containerScenario,
  PLAIN_ENTRYPOINT,
  type ContainerInput,
  type ContainerSource,
  type ContainerPrediction,
  type ContainerStep,
  type MissingCapability,
} from "./predict.js";
export {
  containerDocuments,
  containerFileKind,
  dockerRunRequest,
  noNewPrivilegesOption,
  type ContainerDoc,
  type ContainerFileKind,
} from "./documents.js";
export { ContainerInputError } from "./errors.js";
