// fast-check arbitraries for capability states and operations, for capgate's own property
// tests and for users' (import from "capgate/testing"; fast-check is a peer dependency).
import fc from "fast-check";
import { CapSet } from "../capabilities/set.js";
import { kernelProfile, knownSecurebits, prctlHandling, type KernelProfile } from "../kernel/profiles.js";
import { PRCTL_ROWS } from "../kernel/facts.js";
import { CAPABILITY_VERSION, PRCTL } from "../kernel/constants.js";
import { PID_MAX_LIMIT } from "../engine/contract.js";
import { DEFAULT_TID, requireState, threadState, type ThreadState } from "../state.js";
import { STATE_FORMS, stateLiteral, type StateFields } from "../state-fields.js";
import { argInteger, argObject, argProfile } from "../args.js";
import type { Op, UnshareOp } from "../ops.js";
import { childNamespace, mapDown, shownId, ID_UNMAPPED, type IdExtent, type UserNamespace } from "../userns.js";

/**
 * Any subset of the profile's full set (CAP_FULL_SET: its capabilities, and before 3.16 all 64
 * bits), biased toward small and full sets.
 */
export function capSetArb(profile: KernelProfile = kernelProfile()): fc.Arbitrary<CapSet> {
  return setArb(argProfile(profile, "capSetArb: the profile") ?? kernelProfile());
}

/** capSetArb of a profile already checked (what the other arbitraries use). */
function setArb(profile: KernelProfile): fc.Arbitrary<CapSet> {
  const all = profile.fullSet;
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
        .map(([lo, hi]) => new CapSet(lo, hi).intersect(all)),
    },
    {
      weight: 3,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: profile.lastCap }), { maxLength: 4 })
        .map((caps) => CapSet.of(...caps)),
    },
    {
      weight: 2,
      arbitrary: fc
        .uniqueArray(fc.integer({ min: 0, max: profile.lastCap }), { maxLength: 3 })
        .map((caps) => all.without(...caps)),
    },
    { weight: 1, arbitrary: fc.constant(CapSet.EMPTY) },
    { weight: 1, arbitrary: fc.constant(all) },
  );
}

/** A 64-bit mask with bits anywhere, including above CAP_LAST_CAP (what capset may be handed). */
export function rawMaskArb(profile: KernelProfile = kernelProfile()): fc.Arbitrary<CapSet> {
  return maskArb(argProfile(profile, "rawMaskArb: the profile") ?? kernelProfile());
}

function maskArb(profile: KernelProfile): fc.Arbitrary<CapSet> {
  return fc.oneof(
    setArb(profile),
    fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
      .map(([lo, hi]) => new CapSet(lo, hi)),
  );
}

const uidArb = fc.oneof(fc.constant(0), fc.constant(1000), fc.constant(1001), fc.integer({ min: 0, max: 65535 }));

/**
 * The maps of a user namespace as people have them: rootless containers (0 → the user, or a
 * subordinate range), a user mapped to itself, several extents, and none written.
 */
const MAPS: ReadonlyArray<readonly IdExtent[]> = [
  [[0, 1000, 1]],
  [[0, 100000, 65536]],
  [
    [0, 1000, 1],
    [1, 100000, 65536],
  ],
  [[1000, 1000, 1]],
  [
    [0, 0, 1],
    [1000, 1000, 2],
  ],
  [],
];

/** A user namespace one level down: the maps above, setgroups either way. */
export function usernsArb(): fc.Arbitrary<UserNamespace> {
  return fc
    .record({
      uidMap: fc.constantFrom(...MAPS),
      gidMap: fc.constantFrom(...MAPS),
      setgroups: fc.constantFrom("allow" as const, "deny" as const),
    })
    .map((r) => childNamespace({ ...r, owner: 1000 }));
}

/** An id of the map's inside (biased to its edges), or an unmapped one. */
function insideIdArb(map: readonly IdExtent[]): fc.Arbitrary<number> {
  const ids = map.flatMap(([inside, , count]) => [inside, inside + count - 1, inside + Math.min(count - 1, 5)]);
  return ids.length
    ? fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.constant(ID_UNMAPPED) })
    : fc.constant(ID_UNMAPPED);
}

/** A state in a child user namespace: ids and groups seen through its maps. */
function namespacedStateArb(profile: KernelProfile, base: fc.Arbitrary<ThreadState>): fc.Arbitrary<ThreadState> {
  return fc.tuple(base, usernsArb()).chain(([s, ns]) => {
    const uid = insideIdArb(ns.uidMap),
      gid = insideIdArb(ns.gidMap);
    return fc
      .record({
        ruid: uid,
        euid: uid,
        suid: uid,
        fsuid: uid,
        rgid: gid,
        egid: gid,
        sgid: gid,
        fsgid: gid,
        groups: fc.array(gid, { maxLength: 3 }),
      })
      .map((ids) => ({
        ...s,
        ...ids,
        // the kernel keeps groups sorted by kernel gid (unmapped ones are some gid outside the map)
        groups: [...ids.groups].sort((a, b) => mapDown(ns.gidMap, a) - mapDown(ns.gidMap, b)),
        ns,
        securebits: s.securebits & knownSecurebits(profile),
      }));
  });
}

/**
 * A state the kernel can be in: E ⊆ P, A ⊆ P ∩ I, sets within the profile; one in ten in a
 * child user namespace (pass `userns: false` for the initial namespace only).
 */
export function threadStateArb(
  profile: KernelProfile = kernelProfile(),
  options: { userns?: boolean } = {},
): fc.Arbitrary<ThreadState> {
  argProfile(profile, "threadStateArb: the profile");
  argObject(options, "threadStateArb: the options");
  const initial = initialStateArb(profile);
  if (options.userns === false) return initial;
  return fc.oneof({ weight: 9, arbitrary: initial }, { weight: 1, arbitrary: namespacedStateArb(profile, initial) });
}

function initialStateArb(profile: KernelProfile): fc.Arbitrary<ThreadState> {
  const sb = knownSecurebits(profile);
  return fc
    .record({
      permitted: setArb(profile),
      effective: setArb(profile),
      inheritable: setArb(profile),
      bounding: setArb(profile),
      ambient: setArb(profile),
      securebits: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: sb }).map((b) => b & sb) },
      ),
      ruid: uidArb,
      euid: uidArb,
      suid: uidArb,
      fsuid: uidArb,
      rgid: uidArb,
      egid: uidArb,
      sgid: uidArb,
      fsgid: uidArb,
      groups: groupsArb,
      // the flags, from the state table: a new one is fuzzed the day it is declared
      flags: fc.record(Object.fromEntries(FLAG_FIELDS.map((f) => [f, fc.boolean()]))),
    })
    .map(({ flags, ...s }) =>
      stateLiteral({
        ...s,
        ...flags,
        effective: s.effective.intersect(s.permitted),
        ambient: profile.features.ambient ? s.ambient.intersect(s.permitted).intersect(s.inheritable) : CapSet.EMPTY,
        tid: DEFAULT_TID,
        ns: null,
        kernelIds: null,
      } as unknown as StateFields),
    );
}

/** The prctl options the model answers with EINVAL on the profile's kernel (contract/kernel.json). */
function einvalOptions(profile: KernelProfile): number[] {
  const highest = Math.max(...PRCTL_ROWS.filter((r) => r.number < 0x10000).map((r) => r.number));
  const out: number[] = [];
  for (let n = 1; n <= highest + 3; n++) {
    const h = prctlHandling(profile, n);
    if (h === "unknown" || h === "refused") out.push(n);
  }
  return out;
}

/** The state's flags (true or false, each a bit of the record's flags word). */
const FLAG_FIELDS: readonly string[] = STATE_FORMS.filter((f) => f.form === "flag").map((f) => f.field);

/** Supplementary groups as the kernel keeps them: sorted, duplicates allowed, often none. */
const groupsArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant([] as number[]) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.oneof(fc.constant(0), fc.constant(1000), fc.constant(1001), fc.integer({ min: 0, max: 65535 })), {
        maxLength: 4,
      })
      .map((g) => [...g].sort((a, b) => a - b)),
  },
);

const versionArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant(CAPABILITY_VERSION.v3) },
  { weight: 2, arbitrary: fc.constant(CAPABILITY_VERSION.v2) },
  { weight: 2, arbitrary: fc.constant(CAPABILITY_VERSION.v1) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
);
const pidArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constant(1000) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 5000 }) },
);
/**
 * capget's pid: the thread itself (0 or its tid), a negative one, or one no kernel can have;
 * never another task that could exist, which is outside the model (and would make the
 * differential compare with whatever process has that pid on the test machine).
 */
const capgetPidArb = (state: ThreadState) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constant(state.tid) },
    { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }) },
    { weight: 1, arbitrary: fc.integer({ min: PID_MAX_LIMIT + 1, max: 0x7fffffff }) },
  );

/** capset requests: mostly derived from the state (so that many succeed), sometimes anything. */
export function capsetOpArb(state?: ThreadState, profile: KernelProfile = kernelProfile()): fc.Arbitrary<Op> {
  [state, profile] = args("capsetOpArb", state, profile);
  const near = (base: CapSet) =>
    fc.oneof(
      fc.constant(base),
      setArb(profile).map((s) => base.intersect(s)),
      setArb(profile).map((s) => base.union(s)),
      maskArb(profile),
    );
  return fc
    .record({
      version: versionArb,
      pid: pidArb,
      data: fc.oneof({ weight: 20, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      effective: near(state.effective),
      permitted: near(state.permitted),
      inheritable: near(state.inheritable),
    })
    .map((r) => ({ op: "capset" as const, ...r }));
}

const capArgArb = (profile: KernelProfile) =>
  fc.oneof(
    { weight: 10, arbitrary: fc.integer({ min: 0, max: profile.lastCap }) },
    { weight: 1, arbitrary: fc.integer({ min: profile.lastCap + 1, max: 70 }) },
    { weight: 1, arbitrary: fc.constant(-1) },
  );
const smallArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
);

const SCRIPT_CAPS = { permitted: new CapSet(0xffffffff, 0xffffffff), inheritable: CapSet.EMPTY, effective: true };

/** Every modelled prctl, with valid and invalid arguments. */
export function prctlOpArb(state?: ThreadState, profile: KernelProfile = kernelProfile()): fc.Arbitrary<Op> {
  [state, profile] = args("prctlOpArb", state, profile);
  const sbMask = profile.features.execSecurebits ? 0xfff : 0xff;
  return fc
    .oneof(
      fc.record({ option: fc.constant(PRCTL.PR_CAPBSET_READ), arg2: capArgArb(profile) }),
      fc.record({ option: fc.constant(PRCTL.PR_CAPBSET_DROP), arg2: capArgArb(profile) }),
      fc
        .record({
          option: fc.constant(PRCTL.PR_CAP_AMBIENT),
          arg2: fc.oneof(
            { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
            { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }) },
          ),
          arg3: capArgArb(profile),
          arg4: smallArb,
          arg5: smallArb,
        })
        .map((r) => (r.arg2 === 4 ? { ...r, arg3: r.arg3 > 0 && r.arg3 % 5 === 0 ? r.arg3 : 0 } : r)),
      fc.record({ option: fc.constant(PRCTL.PR_GET_SECUREBITS) }),
      fc.record({
        option: fc.constant(PRCTL.PR_SET_SECUREBITS),
        arg2: fc.oneof(
          fc.constant(state.securebits),
          fc.integer({ min: 0, max: sbMask }).map((b) => (state.securebits | b) & sbMask),
          fc.integer({ min: 0, max: sbMask }),
          fc.integer({ min: 0, max: 0xffff }),
        ),
      }),
      fc.record({ option: fc.constant(PRCTL.PR_GET_KEEPCAPS) }),
      fc.record({
        option: fc.constant(PRCTL.PR_SET_KEEPCAPS),
        arg2: fc.oneof(
          { weight: 5, arbitrary: fc.integer({ min: 0, max: 1 }) },
          { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) },
        ),
      }),
      fc.record({ option: fc.constant(PRCTL.PR_GET_NO_NEW_PRIVS), arg2: smallArb }),
      // the options the model answers with EINVAL on this kernel: numbers it does not know
      // (between options, above the highest, or brought by a later kernel) and other
      // architectures' options, with any small arguments
      fc.record({ option: fc.constantFrom(...einvalOptions(profile)), arg2: smallArb, arg3: smallArb }),
      fc.record({
        option: fc.constant(PRCTL.PR_SET_NO_NEW_PRIVS),
        arg2: fc.oneof(
          { weight: 5, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) },
        ),
        arg3: smallArb,
      }),
    )
    .map((r) => ({ op: "prctl" as const, ...r }));
}

/** The setuid family, choosing among the current ids, root, another user and -1. */
export function uidOpArb(state?: ThreadState): fc.Arbitrary<Op> {
  [state] = args("uidOpArb", state);
  // an unmapped id is passed as the program reads it (65534), never as -1
  const id = fc.oneof(
    fc.constant(shownId(state.ruid)),
    fc.constant(shownId(state.euid)),
    fc.constant(shownId(state.suid)),
    fc.constant(shownId(state.fsuid)),
    fc.constant(0),
    fc.constant(1000),
    fc.constant(1001),
  );
  const idOrKeep = fc.oneof({ weight: 4, arbitrary: id }, { weight: 1, arbitrary: fc.constant(-1) });
  return fc.oneof(
    id.map((uid) => ({ op: "setuid" as const, uid })),
    id.map((euid) => ({ op: "seteuid" as const, euid })),
    fc
      .tuple(idOrKeep, idOrKeep)
      .map(([ruid, euid]) => ({ op: "setreuid" as const, ruid: ruid >>> 0, euid: euid >>> 0 })),
    fc.tuple(idOrKeep, idOrKeep, idOrKeep).map(([ruid, euid, suid]) => ({
      op: "setresuid" as const,
      ruid: ruid >>> 0,
      euid: euid >>> 0,
      suid: suid >>> 0,
    })),
    idOrKeep.map((fsuid) => ({ op: "setfsuid" as const, fsuid: fsuid >>> 0 })),
  );
}

/** The setgid family and setgroups, choosing among the current gids, the groups, root, another group and -1. */
export function gidOpArb(state?: ThreadState): fc.Arbitrary<Op> {
  [state] = args("gidOpArb", state);
  const id = fc.oneof(
    fc.constant(shownId(state.rgid)),
    fc.constant(shownId(state.egid)),
    fc.constant(shownId(state.sgid)),
    fc.constant(shownId(state.fsgid)),
    fc.constant(0),
    fc.constant(1000),
    fc.constant(1001),
  );
  const idOrKeep = fc.oneof({ weight: 4, arbitrary: id }, { weight: 1, arbitrary: fc.constant(-1) });
  return fc.oneof(
    id.map((gid) => ({ op: "setgid" as const, gid })),
    id.map((egid) => ({ op: "setegid" as const, egid })),
    fc
      .tuple(idOrKeep, idOrKeep)
      .map(([rgid, egid]) => ({ op: "setregid" as const, rgid: rgid >>> 0, egid: egid >>> 0 })),
    fc.tuple(idOrKeep, idOrKeep, idOrKeep).map(([rgid, egid, sgid]) => ({
      op: "setresgid" as const,
      rgid: rgid >>> 0,
      egid: egid >>> 0,
      sgid: sgid >>> 0,
    })),
    idOrKeep.map((fsgid) => ({ op: "setfsgid" as const, fsgid: fsgid >>> 0 })),
    fc
      .array(fc.oneof(id, fc.integer({ min: 0, max: 65535 })), { maxLength: 5 })
      .map((groups) => ({ op: "setgroups" as const, groups })),
  );
}

/** execve of a file: plain, setuid (to root or another user), with file capabilities of any version. */
export function execveOpArb(profile: KernelProfile = kernelProfile()): fc.Arbitrary<Op> {
  argProfile(profile, "execveOpArb: the profile");
  const caps = fc.record({
    permitted: setArb(profile),
    inheritable: setArb(profile),
    effective: fc.boolean(),
    version: fc.constantFrom<1 | 2 | 3>(2, 2, 2, 3, 1),
    rootid: fc.oneof(
      { weight: 6, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.constant(1000) },
      { weight: 1, arbitrary: fc.constant(100000) },
    ),
  });
  return fc
    .record({
      setuid: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      owner: fc.constantFrom(0, 0, 1000, 1001, 100000),
      setgid: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      group: fc.constantFrom(0, 0, 1000, 1001, 100005),
      ptraced: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      caps: fc.option(caps, { nil: undefined, freq: 2 }),
      nosuid: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      script: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map(({ nosuid, script, ptraced, ...file }) => {
      const spec = {
        ...(file.caps ? file : { setuid: file.setuid, owner: file.owner, setgid: file.setgid, group: file.group }),
        ...(nosuid && { nosuid }),
      };
      // a #! script run by that file: the script itself is as tempting as it gets (setuid root,
      // every capability), which must not matter
      return {
        op: "execve" as const,
        file: script ? { setuid: true, owner: 0, caps: SCRIPT_CAPS, interpreter: spec } : spec,
        ...(ptraced && { ptraced }),
      };
    });
}

/**
 * unshare(CLONE_NEWUSER) with the maps a helper might write: within the caller's namespace
 * mostly, sometimes refused (outside it, overlapping), sometimes none; now and then from a
 * process with other threads.
 */
export function unshareOpArb(state?: ThreadState): fc.Arbitrary<Op> {
  [state] = args("unshareOpArb", state);
  // ids of the caller's namespace the new maps may use: what its own maps cover
  const parent = (map: readonly IdExtent[] | undefined): IdExtent[] =>
    map ? map.map(([inside, , count]) => [inside, inside, count] as const) : [[0, 0, 4294967295]];
  const mapArb = (map: readonly IdExtent[] | undefined) => {
    const own = parent(map);
    if (own.length === 0) own.push([0, 0, 1]); // no map: whatever is written is refused
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...own)
          .map(([, lower, count]) => [[0, lower, Math.min(count, 65536)]] as IdExtent[]),
      },
      { weight: 2, arbitrary: fc.constantFrom(...own).map(([, lower]) => [[0, lower, 1]] as IdExtent[]) },
      { weight: 1, arbitrary: fc.constant([[0, 4000000000, 10]] as IdExtent[]) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(...own).map(
          ([, lower]) =>
            [
              [0, lower, 1],
              [0, lower, 1],
            ] as IdExtent[],
        ),
      },
    );
  };
  return fc
    .record({
      uidMap: fc.option(mapArb(state.ns?.uidMap), { nil: undefined, freq: 5 }),
      gidMap: fc.option(mapArb(state.ns?.gidMap), { nil: undefined, freq: 5 }),
      setgroups: fc.option(fc.constantFrom("allow" as const, "deny" as const), { nil: undefined }),
      multithreaded: fc.oneof(
        { weight: 8, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    })
    .map((r): UnshareOp => {
      const op: { -readonly [K in keyof UnshareOp]: UnshareOp[K] } = { op: "unshare" };
      if (r.uidMap) op.uidMap = r.uidMap;
      if (r.gidMap) op.gidMap = r.gidMap;
      if (r.setgroups) op.setgroups = r.setgroups;
      if (r.multithreaded) op.multithreaded = true;
      return op;
    });
}

/** capget of another task of a `tasks` list: a process or thread with sets of its own, or none there. */
export function taskCapgetOpArb(profile: KernelProfile = kernelProfile()): fc.Arbitrary<Op> {
  argProfile(profile, "taskCapgetOpArb: the profile");
  const sets = fc
    .record({
      permitted: setArb(profile),
      effective: setArb(profile),
      inheritable: setArb(profile),
      thread: fc.boolean(),
    })
    .map((t) => ({ ...t, effective: t.effective.intersect(t.permitted) }));
  return fc
    .record({
      version: versionArb,
      pid: fc.integer({ min: 2, max: 999 }),
      target: fc.oneof({ weight: 3, arbitrary: sets }, { weight: 1, arbitrary: fc.constant(null) }),
    })
    .map((r) => ({ op: "capget" as const, ...r }));
}

/** Any modelled op, chosen with regard to the state it starts from. */
export function opArb(state?: ThreadState, profile: KernelProfile = kernelProfile()): fc.Arbitrary<Op> {
  [state, profile] = args("opArb", state, profile);
  // unshare and capget of another task are rarer: each costs the kernel side a process (or thread)
  return fc.oneof(
    { weight: 12, arbitrary: capsetOpArb(state, profile) },
    {
      weight: 4,
      arbitrary: fc
        .record({ version: versionArb, pid: capgetPidArb(state), data: fc.boolean() })
        .map((r) => ({ op: "capget" as const, ...r })),
    },
    { weight: 12, arbitrary: prctlOpArb(state, profile) },
    { weight: 8, arbitrary: uidOpArb(state) },
    { weight: 8, arbitrary: gidOpArb(state) },
    { weight: 4, arbitrary: execveOpArb(profile) },
    { weight: 1, arbitrary: unshareOpArb(state) },
    { weight: 1, arbitrary: taskCapgetOpArb(profile) },
  );
}

/**
 * A scenario: a start state and a sequence of ops (each op drawn for a state like the start),
 * in the shape runScenario takes (`profile`, `state`, `steps`), with the ops also as a plain
 * list (`ops`, for simulateSequence).
 */
export function scenarioArb(
  profile: KernelProfile = kernelProfile(),
  maxSteps = 8,
): fc.Arbitrary<{ profile: KernelProfile; state: ThreadState; steps: Array<{ op: Op }>; ops: Op[] }> {
  argProfile(profile, "scenarioArb: the profile");
  argInteger(maxSteps, "scenarioArb: maxSteps", 1, 1000);
  return threadStateArb(profile).chain((state) =>
    fc
      .array(opArb(state, profile), { minLength: 1, maxLength: maxSteps })
      .map((ops) => ({ profile, state, steps: ops.map((op) => ({ op })), ops })),
  );
}

/** The arguments of an op arbitrary: a state (default: a root shell of the profile) and a profile, checked. */
function args(
  where: string,
  state?: ThreadState,
  profile: KernelProfile = kernelProfile(),
): [ThreadState, KernelProfile] {
  argProfile(profile, `${where}: the profile`);
  if (state === undefined) return [threadState({}, profile), profile];
  requireState(state, where);
  return [state, profile];
}
