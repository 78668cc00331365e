// Writing the result record. The rule codes, note bits and errno numbers are declared once in
// contract/engine.json (assembly/contract.ts is generated from it); the stable ids, messages and
// hints live in src/rules/, keyed by the same ids.

import { OUTCOME_SUCCEEDED, OUTCOME_FAILED, OUTCOME_NOT_MODELLED, RS_OK, RS_RET, RS_ERRNO, RS_RULE, RS_FAULT, RS_NOTES, RS_AUX, RS_VERSION, RS_DATA_EFFECTIVE, RS_DATA_PERMITTED, RS_DATA_INHERITABLE, Rule } from "./contract";

@inline export function succeed(res: usize, ret: i32, rule: Rule, notes: u32): u32 {
  store<u32>(res + RS_OK, OUTCOME_SUCCEEDED);
  store<i32>(res + RS_RET, ret);
  store<u32>(res + RS_ERRNO, 0);
  store<u32>(res + RS_RULE, rule);
  store<u32>(res + RS_NOTES, notes);
  return rule;
}

// A call the engine cannot decide: never answered with a kernel errno it did not derive. ret
// and errno are 0 and mean nothing; the state after it is unknown, so a sequence stops here.
@inline export function outside(res: usize, rule: Rule): u32 {
  store<u32>(res + RS_OK, OUTCOME_NOT_MODELLED);
  store<i32>(res + RS_RET, 0);
  store<u32>(res + RS_ERRNO, 0);
  store<u32>(res + RS_RULE, rule);
  store<u64>(res + RS_FAULT, 0);
  return rule;
}

@inline export function fail(res: usize, errno: u32, rule: Rule, fault: u64): u32 {
  store<u32>(res + RS_OK, OUTCOME_FAILED);
  store<i32>(res + RS_RET, -1);
  store<u32>(res + RS_ERRNO, errno);
  store<u32>(res + RS_RULE, rule);
  store<u64>(res + RS_FAULT, fault);
  return rule;
}

// Clears the parts of a result that not every op writes, so that records never carry stale data.
@inline export function clearResult(res: usize): void {
  store<u64>(res + RS_FAULT, 0);
  store<u64>(res + RS_DATA_EFFECTIVE, 0);
  store<u64>(res + RS_DATA_PERMITTED, 0);
  store<u64>(res + RS_DATA_INHERITABLE, 0);
  store<u32>(res + RS_VERSION, 0);
  store<u32>(res + RS_NOTES, 0);
  store<u64>(res + RS_AUX, 0);
}
