// The engine's exported ABI. Pure: it reads and writes only the records the caller points
// at in linear memory (no imports, no allocation, no clock, no randomness).
import { ST_GROUPS, ST_NS, NS_LEVEL, USERNS_SIZE, GROUPS_MAX, SEQUENCE_SIZE, SQ_START, SQ_OPS, SQ_COUNT, SQ_RESULTS, SQ_STATES, ST_PERMITTED, ST_EFFECTIVE, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_TID, OP_A, OP_B, OP_C, OP_X0, OP_X1, OP_X2, OPF_DATA, RS_NOTES, STATE_SIZE, OP_SIZE, RESULT_SIZE, CHECK_SIZE, OP_KIND, OPK_CAPGET, OPK_CAPSET, OPK_PRCTL, OPK_SETUID, OPK_SETEUID, OPK_SETREUID, OPK_SETRESUID, OPK_SETFSUID, OPK_EXECVE, OPK_SETGID, OPK_SETEGID, OPK_SETREGID, OPK_SETRESGID, OPK_SETFSGID, OPK_SETGROUPS, OPK_UNSHARE, RS_OK, Rule, EINVAL } from "./contract";
import { fail, clearResult } from "./rules";
import { capget } from "./capget";
import { capset, capsetCheckRecord } from "./capset";
import { prctl } from "./prctl";
import { setxuid, setfsuid, setfsgid } from "./setuid";
import { setgroups } from "./groups";
import { unshare } from "./userns";
import { execve } from "./execve";
import { impossibleState, impossibleSets } from "./invariants";

// Scratch records for the single-call path: one state, one op, one result, one new state.
const scratch: usize = memory.data(<i32>(STATE_SIZE + OP_SIZE + RESULT_SIZE + STATE_SIZE), 16);
export function scratchState(): usize { return scratch; }
export function scratchOp(): usize { return scratch + STATE_SIZE; }
export function scratchResult(): usize { return scratch + STATE_SIZE + OP_SIZE; }
export function scratchOut(): usize { return scratch + STATE_SIZE + OP_SIZE + RESULT_SIZE; }
// First byte the caller may use for batches (it grows the memory itself as needed).
export function heapBase(): usize { return (__heap_base + 63) & ~63; }

// Evaluates one op on one state. `out` receives the state after the op (a copy of `st` when
// the op fails: a failed call never changes the thread). Returns the rule code.
// Copies a state record: what is in use of it (the groups up to their count, the namespace
// only outside the initial one, where nothing but its level is read).
@inline function copyState(out: usize, st: usize): void {
  memory.copy(out, st, ST_GROUPS + 4);
  const n = load<u32>(st + ST_GROUPS);
  memory.copy(out + ST_GROUPS + 4, st + ST_GROUPS + 4, <usize>(n < GROUPS_MAX ? n : GROUPS_MAX) << 2);
  if (load<u32>(st + ST_NS + NS_LEVEL) == 0) store<u32>(out + ST_NS + NS_LEVEL, 0);
  else memory.copy(out + ST_NS, st + ST_NS, USERNS_SIZE);
}

export function evaluate(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  if (out != st) copyState(out, st);
  clearResult(res);
  const impossible = impossibleState(profile, st);
  if (impossible != 0) return fail(res, EINVAL, Rule.StateImpossible, impossible);
  const kind = load<u32>(op + OP_KIND);
  switch (kind) {
    case OPK_CAPGET: return capget(profile, st, op, res);
    case OPK_CAPSET: return capset(profile, st, op, res, out);
    case OPK_PRCTL: return prctl(profile, st, op, res, out);
    case OPK_SETUID:
    case OPK_SETEUID:
    case OPK_SETREUID:
    case OPK_SETRESUID: return setxuid(profile, kind, st, op, res, out);
    case OPK_SETFSUID: return setfsuid(st, op, res, out);
    case OPK_SETGID:
    case OPK_SETEGID:
    case OPK_SETREGID:
    case OPK_SETRESGID: return setxuid(profile, kind, st, op, res, out);
    case OPK_SETFSGID: return setfsgid(st, op, res, out);
    case OPK_SETGROUPS: return setgroups(st, op, res, out);
    case OPK_UNSHARE: return unshare(profile, st, op, res, out);
    case OPK_EXECVE: return execve(profile, st, op, res, out);
  }
  return fail(res, EINVAL, Rule.OpUnknown, 0);
}

// The single-call path on the scratch records.
export function evaluateScratch(profile: u32): u32 {
  return evaluate(profile, scratch, scratch + STATE_SIZE, scratch + STATE_SIZE + OP_SIZE,
    scratch + STATE_SIZE + OP_SIZE + RESULT_SIZE);
}

// Many independent (state, op) records: input records are STATE_SIZE + OP_SIZE bytes,
// output records RESULT_SIZE + STATE_SIZE bytes. Returns how many ops succeeded.
export function evaluateBatch(profile: u32, input: usize, output: usize, count: u32): u32 {
  let ok: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const rec = input + <usize>i * (STATE_SIZE + OP_SIZE);
    const res = output + <usize>i * (RESULT_SIZE + STATE_SIZE);
    evaluate(profile, rec, rec + STATE_SIZE, res, res + RESULT_SIZE);
    ok += load<u32>(res + RS_OK);
  }
  return ok;
}

// A sequence of ops on one thread: state i+1 is the state after op i. `states` receives
// count records (the state after each op), `results` count result records.
export function evaluateSequence(profile: u32, start: usize, ops: usize, count: u32, results: usize, states: usize): u32 {
  let ok: u32 = 0;
  let st = start;
  for (let i: u32 = 0; i < count; i++) {
    const out = states + <usize>i * STATE_SIZE;
    const res = results + <usize>i * RESULT_SIZE;
    evaluate(profile, st, ops + <usize>i * OP_SIZE, res, out);
    ok += load<u32>(res + RS_OK);
    st = out;
  }
  return ok;
}

// The four capset checks over compact records (CHECK_SIZE bytes each); one rule byte out
// per record (0 = allowed). Returns how many were allowed.
export function capsetCheckBatch(input: usize, output: usize, count: u32): u32 {
  let allowed: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const rule = capsetCheckRecord(input + <usize>i * CHECK_SIZE);
    store<u8>(output + i, <u8>rule);
    allowed += u32(rule == 0);
  }
  return allowed;
}

export const ABI_STATE_SIZE = STATE_SIZE;
export const ABI_OP_SIZE = OP_SIZE;
export const ABI_RESULT_SIZE = RESULT_SIZE;
export const ABI_CHECK_SIZE = CHECK_SIZE;

// The pre-flight fast path: the thread's sets and the request arrive as u32 halves in call
// arguments (no record for JS to write), the answer leaves in the scratch result and state.
export function preflightCapset(
  profile: u32, tid: u32, version: u32, pid: i32,
  pLo: u32, pHi: u32, eLo: u32, eHi: u32, iLo: u32, iHi: u32, bLo: u32, bHi: u32, aLo: u32, aHi: u32,
  nELo: u32, nEHi: u32, nPLo: u32, nPHi: u32, nILo: u32, nIHi: u32,
): u32 {
  const st = scratch, op = scratch + STATE_SIZE, res = op + OP_SIZE, out = res + RESULT_SIZE;
  store<u64>(st + ST_PERMITTED, (<u64>pHi << 32) | pLo);
  store<u64>(st + ST_EFFECTIVE, (<u64>eHi << 32) | eLo);
  store<u64>(st + ST_INHERITABLE, (<u64>iHi << 32) | iLo);
  store<u64>(st + ST_BOUNDING, (<u64>bHi << 32) | bLo);
  store<u64>(st + ST_AMBIENT, (<u64>aHi << 32) | aLo);
  store<u32>(st + ST_TID, tid);
  store<u32>(op + OP_A, version);
  store<i32>(op + OP_B, pid);
  store<u32>(op + OP_C, OPF_DATA);
  store<u64>(op + OP_X0, (<u64>nEHi << 32) | nELo);
  store<u64>(op + OP_X1, (<u64>nPHi << 32) | nPLo);
  store<u64>(op + OP_X2, (<u64>nIHi << 32) | nILo);
  clearResult(res);
  // the sets are all a pre-flight reads of the state (its ids and securebits stay as the scratch has them)
  const impossible = impossibleSets(profile, st);
  if (impossible != 0) return fail(res, EINVAL, Rule.StateImpossible, impossible);
  // capset writes only P, E, I and A of `out`, and only on success. The notes ride in bits
  // 8.. of the answer: when they are 0 the new sets are exactly the request (nothing masked,
  // ambient untouched), and JS need not read the state back.
  const rule = capset(profile, st, op, res, out);
  return rule | (load<u32>(res + RS_NOTES) << 8);
}

// Many independent sequences in one call: `table` holds n descriptors (the sequence record:
// start state, ops, op count, results, states), each evaluated like evaluateSequence.
// The planner expands a search node with it: every candidate move's calls, in one crossing.
export function evaluateSequences(profile: u32, table: usize, n: u32): u32 {
  let ok: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const d = table + <usize>i * SEQUENCE_SIZE;
    ok += evaluateSequence(profile, load<u32>(d + SQ_START), load<u32>(d + SQ_OPS), load<u32>(d + SQ_COUNT), load<u32>(d + SQ_RESULTS), load<u32>(d + SQ_STATES));
  }
  return ok;
}
