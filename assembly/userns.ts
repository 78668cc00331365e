// User namespaces: kernel/user_namespace.c (map_id_down/map_id_up, create_user_ns,
// userns_may_setgroups) and the unshare(CLONE_NEWUSER) path of kernel/fork.c. The state holds
// kernel ids (ids of the initial namespace), as struct cred does; the maps go from ids seen
// inside the thread's namespace to kernel ids. A syscall's id argument is mapped down
// (make_kuid: ID_UNMAPPED when it has no mapping); what the thread sees is mapped up (the
// kernel shows an id without a mapping as the overflow id, 65534). A file's owner, group and
// v3 rootid are kernel ids too (a file system of the initial namespace).
import { ST_NS, NS_LEVEL, NS_FLAGS, NS_OWNER, NS_UID_COUNT, NS_UID_MAP, NS_GID_COUNT, NS_GID_MAP, NS_ROOTS, NSF_SETGROUPS_DENY, NS_EXTENTS_MAX, NS_LEVELS_MAX, NS_LEVEL_LIMIT, ID_UNMAPPED, OP_C, OP_LIST, OPF_MULTITHREADED, OPF_SETGROUPS_DENY, OPF_UID_MAP, OPF_GID_MAP, ST_PERMITTED, ST_EFFECTIVE, ST_INHERITABLE, ST_BOUNDING, ST_AMBIENT, ST_SECUREBITS, ST_EUID, ST_EGID, USERNS_SIZE, FEAT_USERNS_EXEC_SECUREBITS, Rule, EINVAL, EPERM, EUSERS, NOTE_UNSHARE_MAP_REFUSED, NOTE_UNSHARE_NO_MAP } from "./contract";
import { fullSet, has } from "./profile";
import { UNPRIVILEGED_AND_LOCKS } from "./securebits";
import { succeed, fail, outside } from "./rules";

// One extent is three u32: first inside id, first initial-namespace id, count.
const EXTENT: usize = 12;

@inline export function nsLevel(st: usize): u32 {
  return load<u32>(st + ST_NS + NS_LEVEL);
}

// ns == &init_user_ns: checks made with capable() (against the initial namespace) pass only here.
@inline export function inInitialNs(st: usize): bool {
  return nsLevel(st) == 0;
}

// map_id_range_down over one map: the initial-namespace id of `inside`, or ID_UNMAPPED.
function down(map: usize, count: u32, inside: u32): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const e = map + <usize>i * EXTENT;
    const first = load<u32>(e), lower = load<u32>(e + 4), n = load<u32>(e + 8);
    if (inside - first < n) return lower + (inside - first);
  }
  return ID_UNMAPPED;
}

// map_id_up: the inside id of an initial-namespace id, or ID_UNMAPPED.
function up(map: usize, count: u32, kid: u32): u32 {
  for (let i: u32 = 0; i < count; i++) {
    const e = map + <usize>i * EXTENT;
    const first = load<u32>(e), lower = load<u32>(e + 4), n = load<u32>(e + 8);
    if (kid - lower < n) return first + (kid - lower);
  }
  return ID_UNMAPPED;
}

// Where the thread's uid or gid map is in the state record, and how many extents it has.
@inline function mapOf(st: usize, gid: bool): usize {
  return st + ST_NS + (gid ? NS_GID_MAP : NS_UID_MAP);
}
@inline function countOf(st: usize, gid: bool): u32 {
  return load<u32>(st + ST_NS + (gid ? NS_GID_COUNT : NS_UID_COUNT));
}

// make_kuid/make_kgid(current_user_ns(), id): the kernel id of an id given to a syscall.
export function idDown(st: usize, inside: u32, gid: bool): u32 {
  if (inInitialNs(st) || inside == ID_UNMAPPED) return inside;
  return down(mapOf(st, gid), countOf(st, gid), inside);
}
// from_kuid/from_kgid(): the id a kernel id has inside the thread's namespace (ID_UNMAPPED: none).
export function idUp(st: usize, kid: u32, gid: bool): u32 {
  if (inInitialNs(st) || kid == ID_UNMAPPED) return kid;
  return up(mapOf(st, gid), countOf(st, gid), kid);
}
@inline export function uidDown(st: usize, inside: u32): u32 { return idDown(st, inside, false); }
@inline export function gidDown(st: usize, inside: u32): u32 { return idDown(st, inside, true); }
@inline export function uidUp(st: usize, kuid: u32): u32 { return idUp(st, kuid, false); }
@inline export function gidUp(st: usize, kgid: u32): u32 { return idUp(st, kgid, true); }

// kuid_has_mapping(ns, kuid)
@inline export function uidHasMapping(st: usize, kuid: u32): bool {
  return uidUp(st, kuid) != ID_UNMAPPED;
}
@inline export function gidHasMapping(st: usize, kgid: u32): bool {
  return gidUp(st, kgid) != ID_UNMAPPED;
}

// make_kuid(ns, 0): the kernel id of the namespace's root; ID_UNMAPPED (equal to no id) when
// uid 0 has no mapping there.
@inline export function rootUid(st: usize): u32 {
  return uidDown(st, 0);
}

// rootid_owns_currentns (security/commoncap.c): file capabilities whose root id (a kernel
// uid) is uid 0 of the thread's namespace or of one of its ancestors apply; the initial
// namespace is every thread's ancestor, so kernel uid 0 always does.
export function rootOwnsNs(st: usize, rootKuid: u32): bool {
  if (rootKuid == 0) return true;
  const level = nsLevel(st);
  const levels = level < NS_LEVELS_MAX ? level : NS_LEVELS_MAX;
  for (let i: u32 = 0; i < levels; i++)
    if (load<u32>(st + ST_NS + NS_ROOTS + (<usize>i << 2)) == rootKuid) return true;
  return false;
}

// userns_may_setgroups: a gid map must have been written and setgroups not denied. The
// initial namespace always allows.
export function setgroupsAllowed(st: usize): bool {
  if (inInitialNs(st)) return true;
  return load<u32>(st + ST_NS + NS_GID_COUNT) != 0 && (load<u32>(st + ST_NS + NS_FLAGS) & NSF_SETGROUPS_DENY) == 0;
}

// The helper's write of a new map (map_write): every extent must lie inside one extent of the
// parent's map (map_id_range_down of the whole range), and no two extents may overlap inside
// or outside (mappings_overlap); otherwise the write fails and the map stays unwritten. On
// success `dst` receives the extents composed down to initial-namespace ids.
function writeMap(src: usize, parentMap: usize, parentCount: u32, initial: bool, dst: usize): u32 {
  const count = load<u32>(src);
  if (count == 0 || count > NS_EXTENTS_MAX) return 0;
  for (let i: u32 = 0; i < count; i++) {
    const e = src + 4 + <usize>i * EXTENT;
    const first = load<u32>(e), lower = load<u32>(e + 4), n = load<u32>(e + 8);
    // map_write: a zero count or a range that wraps is -EINVAL
    if (n == 0 || <u64>first + n > 0xffffffff || <u64>lower + n > 0xffffffff) return 0;
    for (let j: u32 = 0; j < i; j++) {
      const f = src + 4 + <usize>j * EXTENT;
      const f0 = load<u32>(f), l0 = load<u32>(f + 4), m = load<u32>(f + 8);
      if (first < f0 + m && f0 < first + n) return 0;
      if (lower < l0 + m && l0 < lower + n) return 0;
    }
    let kid = lower;
    if (!initial) {
      kid = down(parentMap, parentCount, lower);
      if (kid == ID_UNMAPPED || down(parentMap, parentCount, lower + n - 1) != kid + n - 1) return 0;
    }
    const d = dst + <usize>i * EXTENT;
    store<u32>(d, first);
    store<u32>(d + 4, kid);
    store<u32>(d + 8, n);
  }
  return count;
}

// unshare(CLONE_NEWUSER): ksys_unshare -> check_unshare_flags -> unshare_userns ->
// create_user_ns -> set_cred_user_ns; then, as the scenario says, a privileged helper writes
// setgroups, uid_map and gid_map from the parent namespace.
export function unshare(profile: u32, st: usize, op: usize, res: usize, out: usize): u32 {
  const flags = load<u32>(op + OP_C);
  // CLONE_NEWUSER implies CLONE_THREAD: a process with other threads cannot do it.
  if ((flags & OPF_MULTITHREADED) != 0) return fail(res, EINVAL, Rule.UnshareMultithreaded, 0);
  const level = nsLevel(st);
  // create_user_ns: "if (parent_ns->level > 32) return -EUSERS" (the initial namespace is 0).
  if (level > NS_LEVEL_LIMIT) return fail(res, EUSERS, Rule.UnshareTooDeep, 0);
  // The creator's euid and egid must map into the parent namespace (they become its owner).
  const euid = load<u32>(st + ST_EUID), egid = load<u32>(st + ST_EGID);
  if (!uidHasMapping(st, euid) || !gidHasMapping(st, egid)) return fail(res, EPERM, Rule.UnshareUnmappedCreator, 0);
  // Deeper than the state record can remember the chain of root ids: honest, not a guess.
  if (level + 1 > NS_LEVELS_MAX) return outside(res, Rule.UnshareNotModelled);

  // The new namespace: level + 1, owner = the creator's euid, setgroups inherited from the
  // parent (a child of a "deny" namespace cannot allow: proc_setgroups_write -> EPERM).
  const ns = out + ST_NS;
  const parentInitial = level == 0;
  const parentDeny = !parentInitial && (load<u32>(st + ST_NS + NS_FLAGS) & NSF_SETGROUPS_DENY) != 0;
  // `st` keeps the parent's namespace (evaluate never passes the same record as both).
  const parent = st + ST_NS;
  memory.fill(ns, 0, USERNS_SIZE);
  store<u32>(ns + NS_LEVEL, level + 1);
  store<u32>(ns + NS_OWNER, euid);
  let notes: u32 = 0;
  if (parentDeny || (flags & OPF_SETGROUPS_DENY) != 0) store<u32>(ns + NS_FLAGS, NSF_SETGROUPS_DENY);
  const list = op + OP_LIST;
  const gidSrc = list + 4 + <usize>NS_EXTENTS_MAX * EXTENT;
  let uidCount: u32 = 0, gidCount: u32 = 0;
  if ((flags & OPF_UID_MAP) != 0) {
    uidCount = writeMap(list, parent + NS_UID_MAP, load<u32>(parent + NS_UID_COUNT), parentInitial, ns + NS_UID_MAP);
    if (uidCount == 0) notes |= NOTE_UNSHARE_MAP_REFUSED;
  }
  if ((flags & OPF_GID_MAP) != 0) {
    gidCount = writeMap(gidSrc, parent + NS_GID_MAP, load<u32>(parent + NS_GID_COUNT), parentInitial, ns + NS_GID_MAP);
    if (gidCount == 0) notes |= NOTE_UNSHARE_MAP_REFUSED;
  }
  if ((flags & (OPF_UID_MAP | OPF_GID_MAP)) != (OPF_UID_MAP | OPF_GID_MAP)) notes |= NOTE_UNSHARE_NO_MAP;
  store<u32>(ns + NS_UID_COUNT, uidCount);
  store<u32>(ns + NS_GID_COUNT, gidCount);
  // The root chain: uid 0 of the new namespace, then the parent's chain.
  store<u32>(ns + NS_ROOTS, down(ns + NS_UID_MAP, uidCount, 0));
  for (let i: u32 = 1; i < NS_LEVELS_MAX; i++)
    store<u32>(ns + NS_ROOTS + (<usize>i << 2), i - 1 < level ? load<u32>(parent + NS_ROOTS + (<usize>(i - 1) << 2)) : ID_UNMAPPED);

  // The ids stay the same kernel ids (the state holds those): the thread now sees them
  // through the new maps.

  // set_cred_user_ns: the creator gets every capability in the new namespace, and nothing
  // to inherit; securebits are reset to SECUREBITS_DEFAULT, except (7.3) the exec securebits
  // and their locks (SECURE_ALL_UNPRIVILEGED): they grant nothing, they are restrictions the
  // task placed on itself.
  const all = fullSet(profile); // CAP_FULL_SET
  store<u64>(out + ST_PERMITTED, all);
  store<u64>(out + ST_EFFECTIVE, all);
  store<u64>(out + ST_BOUNDING, all);
  store<u64>(out + ST_INHERITABLE, 0);
  store<u64>(out + ST_AMBIENT, 0);
  const kept = has(profile, FEAT_USERNS_EXEC_SECUREBITS) ? load<u32>(st + ST_SECUREBITS) & UNPRIVILEGED_AND_LOCKS : 0;
  store<u32>(out + ST_SECUREBITS, kept);
  return succeed(res, 0, Rule.UnshareOk, notes);
}
