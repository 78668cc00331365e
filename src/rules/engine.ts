// The engine itself (assembly/index.ts)
import { rule, listNames, type RuleInfo } from "./rule.js";

export const ENGINE_RULES: readonly RuleInfo[] = [
  rule("engine.state-impossible", {
    errno: null,
    kernel: "(capgate)",
    summary:
      "The start state breaks an invariant every thread keeps (effective within permitted, ambient within permitted and inheritable, sets within CAP_LAST_CAP, known securebits): no thread can make the call from it, so the engine does not answer (the API throws StateError).",
    message: (ctx) => `no thread can be in this state (${listNames(ctx.fault)})`,
    hint: () => "give a state the kernel can hold (see stateProblem)",
  }),
  rule("engine.op-unknown", {
    errno: "EINVAL",
    kernel: "(capgate)",
    summary: "An op kind the engine does not know (raw ABI only).",
    message: () => "unknown op kind",
    hint: () =>
      "encode ops with capgate's codec (encodeOp): the kinds are capget, capset, prctl, the set*uid calls and execve",
  }),
];
