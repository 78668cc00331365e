// Every rule, in the order of their engine codes: the list shared by the engine (the codes of
// contract/engine.json), the explanations, the docs (docs/RULES.md is generated from it) and the
// tests. Each kernel concept keeps its rules in its own file, as assembly/ does.
import { RULE_CODES } from "../engine/contract.js";
import type { RuleInfo } from "./rule.js";
import { CAPGET_RULES } from "./capget.js";
import { CAPSET_RULES } from "./capset.js";
import { PRCTL_RULES } from "./prctl.js";
import { BOUNDING_RULES } from "./bounding.js";
import { AMBIENT_RULES } from "./ambient.js";
import { SECUREBITS_RULES } from "./securebits.js";
import { SETUID_RULES } from "./setuid.js";
import { SETGID_RULES } from "./setgid.js";
import { USERNS_RULES } from "./userns.js";
import { EXECVE_RULES } from "./execve.js";
import { ENGINE_RULES } from "./engine.js";

export { listNames, type RuleContext, type RuleInfo, type RuleId } from "./rule.js";

export const RULES: readonly RuleInfo[] = [
  ...CAPGET_RULES,
  ...CAPSET_RULES,
  ...PRCTL_RULES,
  ...BOUNDING_RULES,
  ...AMBIENT_RULES,
  ...SECUREBITS_RULES,
  ...SETUID_RULES,
  ...SETGID_RULES,
  ...USERNS_RULES,
  ...EXECVE_RULES,
  ...ENGINE_RULES,
].sort((a, b) => a.code - b.code);

const byCode: RuleInfo[] = [];
for (const rule of RULES) byCode[rule.code] = rule;
const byId = new Map<string, RuleInfo>(RULES.map((rule) => [rule.id, rule]));

export function ruleByCode(code: number): RuleInfo {
  const rule = byCode[code];
  if (!rule) throw new Error(`capgate: the engine returned unknown rule code ${code}`);
  return rule;
}
export function ruleById(id: string): RuleInfo | undefined {
  return byId.get(id);
}
/** Every rule id the contract declares has its text here (test/rules.test.ts checks the reverse). */
export const DECLARED_RULE_IDS = Object.keys(RULE_CODES);
