// capgate/plan: the shortest sequence of calls after which execve gives a program exactly a target state.
export { plan, type Plan, type PlanStep } from "./planner.js";
export { unmet, type PlanTarget, type SetGoal } from "./target.js";
