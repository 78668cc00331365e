// Supplementary groups: sys_setgroups, groups_sort and in_group_p in kernel/groups.c. The
// state keeps them as the kernel does: kernel gids, sorted, duplicates included.
import { OP_A, OP_LIST, ST_EFFECTIVE, ST_FSGID, ST_GROUPS, GROUPS_MAX, NGROUPS_LIMIT, ID_UNMAPPED, Rule, EPERM, EINVAL } from "./contract";
import { bit } from "./profile";
import { CAP_SETGID } from "./capabilities";
import { gidDown, setgroupsAllowed } from "./userns";
import { succeed, fail, outside } from "./rules";

// in_group_p(grp): the thread's fsgid, or one of its supplementary groups.
export function inGroup(st: usize, gid: u32): bool {
  if (gid == load<u32>(st + ST_FSGID)) return true;
  const n = load<u32>(st + ST_GROUPS);
  for (let i: u32 = 0; i < n; i++) if (load<u32>(st + ST_GROUPS + 4 + (<usize>i << 2)) == gid) return true;
  return false;
}

export function setgroups(st: usize, op: usize, res: usize, out: usize): u32 {
  const count = load<u32>(op + OP_A);
  // may_setgroups: CAP_SETGID in the thread's namespace, and that namespace allows it
  // (a gid map written, setgroups not "deny"); both EPERM, before the list is read.
  if ((load<u64>(st + ST_EFFECTIVE) & bit(CAP_SETGID)) == 0) return fail(res, EPERM, Rule.SetgroupsNeedsCapSetgid, bit(CAP_SETGID));
  if (!setgroupsAllowed(st)) return fail(res, EPERM, Rule.SetgroupsDenied, 0);
  if (count > NGROUPS_LIMIT) return fail(res, EINVAL, Rule.SetgroupsTooMany, 0);
  // A valid call with more groups than the state record holds: the engine cannot say.
  if (count > GROUPS_MAX) return outside(res, Rule.SetgroupsNotModelled);
  // groups_from_user: every gid must map into the namespace (make_kgid).
  const list = op + OP_LIST;
  for (let i: u32 = 0; i < count; i++)
    if (gidDown(st, load<u32>(list + (<usize>i << 2))) == ID_UNMAPPED) return fail(res, EINVAL, Rule.SetgroupsUnmappedId, 0);
  // groups_sort (an insertion sort: at most GROUPS_MAX entries).
  const dst = out + ST_GROUPS + 4;
  for (let i: u32 = 0; i < count; i++) {
    const g = gidDown(st, load<u32>(list + (<usize>i << 2)));
    let j = i;
    while (j > 0 && load<u32>(dst + (<usize>(j - 1) << 2)) > g) {
      store<u32>(dst + (<usize>j << 2), load<u32>(dst + (<usize>(j - 1) << 2)));
      j--;
    }
    store<u32>(dst + (<usize>j << 2), g);
  }
  for (let i = count; i < GROUPS_MAX; i++) store<u32>(dst + (<usize>i << 2), 0);
  store<u32>(out + ST_GROUPS, count);
  return succeed(res, 0, Rule.SetgroupsOk, 0);
}
