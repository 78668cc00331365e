// The engine itself (assembly/index.ts)
import { rule, type RuleInfo } from "./rule.js";

export const ENGINE_RULES: readonly RuleInfo[] = [
  rule("engine.op-unknown", {
    errno: "EINVAL",
    kernel: "(capgate)",
    summary: "An op kind the engine does not know (raw ABI only).",
    message: () => "unknown op kind",
    hint: () =>
      "encode ops with capgate's codec (encodeOp): the kinds are capget, capset, prctl, the set*uid calls and execve",
  }),
];
