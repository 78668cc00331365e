// capgate/scenario: scenario documents (docs/SCENARIOS.md): parse, run on the engine, write back.
export {
  parseScenario,
  parseState,
  parseSecurebits,
  type Scenario,
  type ScenarioStep,
  type Expectation,
} from "./parse.js";
export {
  runScenario,
  scenarioResultJson,
  verdictJson,
  stateJson,
  type ScenarioResult,
  type StepResult,
} from "./run.js";
export { toScenario, stateToScenario, opToScenario } from "./emit.js";
