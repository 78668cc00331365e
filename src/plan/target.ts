// What a program should hold after execve: the planner's goal.
import { CapSet } from "../capabilities/set.js";
import type { ExecFile } from "../ops.js";
import { SET_NAMES, requireState, type ThreadState } from "../state.js";
import { ArgumentError, argCapSet, argInteger, argObject } from "../args.js";
import { securebitNames } from "../kernel/constants.js";
import { listNames } from "../capabilities/list.js";

export interface SetGoal {
  /** The set must be exactly this. */
  readonly exactly?: CapSet;
  /** The set must hold at least these. */
  readonly include?: CapSet;
  /** The set must hold none of these. */
  readonly exclude?: CapSet;
}

export interface PlanTarget {
  /** The program's uid (real, effective, saved and fs); default: unchanged. */
  readonly uid?: number;
  readonly permitted?: SetGoal;
  readonly effective?: SetGoal;
  readonly inheritable?: SetGoal;
  readonly bounding?: SetGoal;
  readonly ambient?: SetGoal;
  /** Securebits that must be set / clear in the program. */
  readonly securebits?: { readonly set?: number; readonly clear?: number };
  readonly noNewPrivs?: boolean;
  /**
   * No later exec from the program can grant a capability it does not already hold:
   * no_new_privs, or bounding ∪ inheritable ⊆ permitted (the most any exec can give is
   * B ∪ I, plus ambient, which is within permitted).
   */
  readonly cannotRegain?: boolean;
  /** The file the program is exec'd from (default: a plain file, no setuid bit, no file caps). */
  readonly file?: ExecFile;
}

/**
 * Checks a target's shape before the planner reads it: every field absent or of its type (a
 * CapgateInputError naming the field otherwise). The exec file is checked where its op is
 * encoded, as every execve op is.
 */
export function requireTarget(target: unknown, where: string): asserts target is PlanTarget {
  const t = argObject<Record<string, unknown>>(target, `${where}: the target`);
  const optional = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (t[key] !== undefined && !ok(t[key])) throw new ArgumentError(`${where}: target.${key} must be ${what}`);
  };
  optional(
    "uid",
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= ID_MAX,
    `an id from 0 to ${ID_MAX}`,
  );
  for (const name of SET_NAMES) {
    const goal = t[name];
    if (goal === undefined) continue;
    const g = argObject<Record<string, unknown>>(goal, `${where}: target.${name}`);
    for (const k of ["exactly", "include", "exclude"])
      if (g[k] !== undefined) argCapSet(g[k], `${where}: target.${name}.${k}`);
  }
  if (t["securebits"] !== undefined) {
    const b = argObject<Record<string, unknown>>(t["securebits"], `${where}: target.securebits`);
    for (const k of ["set", "clear"])
      if (b[k] !== undefined) argInteger(b[k], `${where}: target.securebits.${k}`, 0, 0xffffffff);
  }
  optional("noNewPrivs", (v) => typeof v === "boolean", "true or false");
  optional("cannotRegain", (v) => typeof v === "boolean", "true or false");
  if (t["file"] !== undefined) argObject(t["file"], `${where}: target.file`);
}
const ID_MAX = 0xfffffffe; // (uid_t)-1 is "no change", never an id

/** What the program's state misses of the target, one sentence each (empty: met). */
export function unmet(target: PlanTarget, s: ThreadState): string[] {
  requireTarget(target, "unmet");
  requireState(s, "unmet");
  const out: string[] = [];
  if (
    target.uid !== undefined &&
    (s.ruid !== target.uid || s.euid !== target.uid || s.suid !== target.uid || s.fsuid !== target.uid)
  ) {
    out.push(`the uids are ${s.ruid}/${s.euid}/${s.suid}/${s.fsuid}, not ${target.uid}`);
  }
  for (const name of SET_NAMES) {
    const goal = target[name];
    if (!goal) continue;
    const have = s[name];
    if (goal.exactly && !have.equals(goal.exactly)) {
      const extra = have.difference(goal.exactly),
        missing = goal.exactly.difference(have);
      out.push(
        `${name} ${missing.isEmpty ? "" : `lacks ${listNames(missing)}`}${!missing.isEmpty && !extra.isEmpty ? " and " : ""}${extra.isEmpty ? "" : `also holds ${listNames(extra)}`}`,
      );
    }
    if (goal.include && !goal.include.isSubsetOf(have))
      out.push(`${name} lacks ${listNames(goal.include.difference(have))}`);
    if (goal.exclude && !goal.exclude.intersect(have).isEmpty)
      out.push(`${name} holds ${listNames(goal.exclude.intersect(have))}`);
  }
  if (target.securebits?.set && (s.securebits & target.securebits.set) !== target.securebits.set)
    out.push(`securebits lack ${securebitNames(target.securebits.set & ~s.securebits).join(", ")}`);
  if (target.securebits?.clear && (s.securebits & target.securebits.clear) !== 0)
    out.push(`securebits hold ${securebitNames(target.securebits.clear & s.securebits).join(", ")}`);
  if (target.noNewPrivs !== undefined && s.noNewPrivs !== target.noNewPrivs)
    out.push(`no_new_privs is ${s.noNewPrivs ? "set" : "not set"}`);
  if (target.cannotRegain && !s.noNewPrivs && !s.bounding.union(s.inheritable).isSubsetOf(s.permitted)) {
    out.push(
      `a later exec could still grant ${listNames(s.bounding.union(s.inheritable).difference(s.permitted))} (in the bounding or inheritable set)`,
    );
  }
  return out;
}

/** Everything the program should end up holding in permitted, effective or ambient. */
export function wanted(target: PlanTarget): CapSet {
  let w = CapSet.EMPTY;
  for (const name of ["permitted", "effective", "ambient"] as const) {
    const g = target[name];
    if (g?.exactly) w = w.union(g.exactly);
    if (g?.include) w = w.union(g.include);
  }
  return w;
}
