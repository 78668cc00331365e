// capfuzz: the kernel side of capgate's differential tests. Test-only; not part of the API.
//
// Reads trials from stdin and runs each on a thread made for its start state (a new thread
// copies the creator's credentials, and the main and worker threads never change theirs), or
// in a process of its own where it needs one, so every trial starts from full capabilities in a
// user namespace whose uid map covers every id. Records use the engine's
// own layout (assembly/layout.ts): a trial is a state record and op records; for each op the
// runner writes what the kernel returned and the thread's state read back from the kernel.
//
// Syscalls are made raw: glibc's set*id wrappers broadcast to every thread of the process.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <sys/ptrace.h>
#include <termios.h>
#include <stdatomic.h>
#include <signal.h>
#include <unistd.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* Record layouts, op kinds and flags: generated from contract/engine.json. */
#include "contract.h"

_Static_assert(SP_STATE + STATE_SIZE <= STEP_SIZE, "a step record ends with the state read back");

static int last_cap;
static const char *exec_dir;      /* where execve trials put their files (--dir) */
static char nosuid_dir[4096];     /* exec_dir/nosuid, bind-mounted onto itself with MS_NOSUID */
static uint8_t *exe_bytes;        /* this program, copied into every exec'd file */
static size_t exe_len;
static atomic_uint file_counter;
/* Held while an exec file is open for writing and across every fork() or clone(): otherwise a
   child made by the other worker's thread could inherit the write fd and the exec would fail
   with ETXTBSY. */
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

/* PR_SET_PDEATHSIG, and a check that the parent was not already gone before it took effect. */
static void die_with_parent(pid_t parent) {
  if (syscall(SYS_prctl, PR_SET_PDEATHSIG, (unsigned long)SIGKILL, 0UL, 0UL, 0UL) || getppid() != parent) _exit(FAIL_HANDSHAKE);
}

static long raw_capget(uint32_t version, int pid, struct __user_cap_data_struct *data, uint32_t *version_out) {
  struct __user_cap_header_struct h = { version, pid };
  long r = syscall(SYS_capget, &h, data);
  *version_out = h.version;
  return r;
}
static long raw_capset(uint32_t version, int pid, struct __user_cap_data_struct *data, uint32_t *version_out) {
  struct __user_cap_header_struct h = { version, pid };
  long r = syscall(SYS_capset, &h, data);
  *version_out = h.version;
  return r;
}

/* The calling thread's state, from the kernel, by the calls that report it: capget (E, P, I),
   PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET, PR_GET_NO_NEW_PRIVS, PR_GET_SECUREBITS, getres[ug]id,
   setfs[ug]id(-1) (which changes nothing and returns the current one) and getgroups. Ids come
   as the thread's own namespace shows them, as /proc/thread-self/status shows them to the
   thread. Formatting that status file cost more: 6.3 µs a read against about 4 µs here, and an
   open per thread. Two kernel invariants keep the capability reads short, each read in full
   where it could break:
   - the bounding set only shrinks (PR_CAPBSET_DROP; no call adds to it but a new user
     namespace, after which do_unshare starts the next read over from every capability), so
     only the bits `*known` still had at the last read are asked about;
   - the ambient set is a subset of permitted and inheritable (cap_ambient_invariant_ok; capset,
     the uid fix-ups and execve keep it so), so only those bits are asked about.
   `known` is the caller's: a thread-local one (thread_known), or a local one in an exec child
   that runs on its parent's memory. */
static __thread uint64_t thread_known = ~0ULL;

static void read_state_calls(state_t *s, uint32_t model_tid, uint64_t *known) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d)) { fprintf(stderr, "capfuzz: capget: %s\n", strerror(errno)); exit(FAIL_READ_CAPS); }
  s->effective = d[0].effective | (uint64_t)d[1].effective << 32;
  s->permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
  s->inheritable = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
  uint64_t bounding = 0, ambient = 0;
  for (int c = 0; c <= last_cap; c++)
    if (((*known >> c) & 1) && syscall(SYS_prctl, PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) == 1) bounding |= 1ULL << c;
  *known = bounding;
  const uint64_t may = s->permitted & s->inheritable;
  for (int c = 0; c <= last_cap; c++)
    if (((may >> c) & 1) && syscall(SYS_prctl, PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_IS_SET, (unsigned long)c, 0UL, 0UL) == 1)
      ambient |= 1ULL << c;
  s->bounding = bounding;
  s->ambient = ambient;
  s->flags = syscall(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1 ? FLAG_NO_NEW_PRIVS : 0;
  uid_t r, e, sv;
  gid_t gr, ge, gs;
  if (syscall(SYS_getresuid, &r, &e, &sv) || syscall(SYS_getresgid, &gr, &ge, &gs)) exit(FAIL_READ_IDS);
  s->ruid = r; s->euid = e; s->suid = sv;
  s->rgid = gr; s->egid = ge; s->sgid = gs;
  s->fsuid = (uint32_t)syscall(SYS_setfsuid, (uid_t)-1);
  s->fsgid = (uint32_t)syscall(SYS_setfsgid, (gid_t)-1);
  /* Groups: in the kernel's order (sorted by kernel gid), as the thread's namespace shows them */
  memset(s->groups, 0, sizeof s->groups);
  gid_t list[GROUPS_MAX];
  long n = syscall(SYS_getgroups, (long)GROUPS_MAX, list);
  if (n < 0) n = syscall(SYS_getgroups, 0L, NULL); /* more than the record holds: their count */
  if (n < 0) exit(FAIL_READ_IDS);
  s->groups[0] = (uint32_t)n;
  for (long i = 0; i < n && i < GROUPS_MAX; i++) s->groups[1 + i] = list[i];
  /* the namespace itself is proven through what it does (ids as seen, EINVAL for unmapped ids,
     the capabilities a new one gives); the record's ns part stays empty */
  memset(s->ns, 0, sizeof s->ns);
  s->securebits = (uint32_t)syscall(SYS_prctl, PR_GET_SECUREBITS, 0UL, 0UL, 0UL, 0UL);
  s->tid = model_tid;
}

static void read_state(state_t *s, uint32_t model_tid) {
  read_state_calls(s, model_tid, &thread_known);
}

static int set_sets(uint64_t e, uint64_t p, uint64_t i) {
  struct __user_cap_data_struct d[2] = {
    { (uint32_t)e, (uint32_t)p, (uint32_t)i }, { (uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(i >> 32) } };
  uint32_t v;
  return (int)raw_capset(_LINUX_CAPABILITY_VERSION_3, 0, d, &v);
}

/* How a kernel id of the state shows inside the state's namespace (the overflow id when it
   has no mapping there): what getresuid and the like return to the thread. */
static uint32_t seen(const state_t *s, uint32_t id, int gid) {
  const uint32_t *w = s->ns;
  if (w[NS_LEVEL / 4] == 0) return id;
  const uint32_t count = w[(gid ? NS_GID_COUNT : NS_UID_COUNT) / 4];
  const uint32_t *map = w + (gid ? NS_GID_MAP : NS_UID_MAP) / 4;
  for (uint32_t i = 0; i < count && i < NS_EXTENTS_MAX; i++)
    if (id - map[3 * i + 1] < map[3 * i + 2]) return map[3 * i] + (id - map[3 * i + 1]);
  return OVERFLOW_ID;
}

/* The ids and groups of a start state (kernel ids, as the record holds them), from full root
   in the runner's namespace, which stands for the initial one. No fix-up while the ids move,
   so the sets stay as they are. 0 on success. */
static int setup_ids(const state_t *s) {
  uint32_t n = s->groups[0] < GROUPS_MAX ? s->groups[0] : GROUPS_MAX;
  /* Only when they differ: a runner that is not root cannot change them (setgroups is denied
     in its namespace), and its trials start with the groups it has. */
  gid_t now[GROUPS_MAX];
  long have = syscall(SYS_getgroups, (long)GROUPS_MAX, now);
  int same = have == (long)n;
  for (uint32_t i = 0; same && i < n; i++) same = now[i] == seen(s, s->groups[1 + i], 1);
  if (!same && syscall(SYS_setgroups, (long)n, s->groups + 1)) return SETUP_GROUPS;
  if (syscall(SYS_setresgid, s->rgid, s->egid, s->sgid)) return SETUP_GIDS;
  syscall(SYS_setfsgid, s->fsgid);
  if (syscall(SYS_prctl, PR_SET_SECUREBITS, (unsigned long)SECBIT_NO_SETUID_FIXUP, 0UL, 0UL, 0UL)) return SETUP_NO_FIXUP;
  if (syscall(SYS_setresuid, s->ruid, s->euid, s->suid)) return SETUP_UIDS;
  syscall(SYS_setfsuid, s->fsuid);
  return 0;
}

/* From full root (ids already set) to the start state's sets, securebits and flags, then a
   check that the kernel holds exactly the state. 0 on success. */
static int setup_sets(const state_t *s) {
  uint64_t full = last_cap >= 63 ? ~0ULL : ((1ULL << (last_cap + 1)) - 1);
  if (set_sets(full, full, s->inheritable)) return SETUP_RAISE_ALL;
  for (int c = 0; c <= last_cap; c++)
    if ((s->ambient >> c) & 1)
      if (syscall(SYS_prctl, PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0UL, 0UL)) return SETUP_AMBIENT;
  for (int c = 0; c <= last_cap; c++)
    if (!((s->bounding >> c) & 1))
      if (syscall(SYS_prctl, PR_CAPBSET_DROP, (unsigned long)c, 0UL, 0UL, 0UL)) return SETUP_BOUNDING;
  if (syscall(SYS_prctl, PR_SET_SECUREBITS, (unsigned long)s->securebits, 0UL, 0UL, 0UL)) return SETUP_SECUREBITS;
  if ((s->flags & FLAG_NO_NEW_PRIVS) && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL)) return SETUP_NO_NEW_PRIVS;
  if (set_sets(s->effective, s->permitted, s->inheritable)) return SETUP_SETS;
  state_t check;
  read_state(&check, s->tid);
  int groups_ok = check.groups[0] == s->groups[0];
  for (uint32_t i = 0; groups_ok && i < s->groups[0] && i < GROUPS_MAX; i++) groups_ok = check.groups[1 + i] == seen(s, s->groups[1 + i], 1);
  if (check.permitted != s->permitted || check.effective != s->effective || check.inheritable != s->inheritable ||
      check.bounding != s->bounding || check.ambient != s->ambient || check.securebits != s->securebits ||
      check.ruid != seen(s, s->ruid, 0) || check.euid != seen(s, s->euid, 0) || check.suid != seen(s, s->suid, 0) ||
      check.fsuid != seen(s, s->fsuid, 0) || check.rgid != seen(s, s->rgid, 1) || check.egid != seen(s, s->egid, 1) ||
      check.sgid != seen(s, s->sgid, 1) || check.fsgid != seen(s, s->fsgid, 1) ||
      !groups_ok || check.flags != (s->flags & FLAG_NO_NEW_PRIVS))
    return SETUP_CHECK;
  return 0;
}

/* From full root in the namespace to the trial's start state; 0 on success. */
static int setup(const state_t *s) {
  int r = setup_ids(s);
  return r ? r : setup_sets(s);
}

/* The map writer: a privileged helper in the parent namespace (as newuidmap is) that writes a
   new namespace's setgroups, uid_map and gid_map right after unshare. A helper must have
   CAP_SETUID over the namespace it writes into the parent of, so each level has its own: the
   template thread forks one while it still has every capability, and a process that unshares
   forks the next at once (the creator of a namespace has every capability in it). Each trial
   thread or process talks to its own (thread-local: a forked child inherits its thread's). */
typedef struct { int req, resp; pid_t pid; } mapper_t;
/* A zygote (see zygote_serve): its request pipe's write end and its response pipe's read end. */
typedef struct zygote { int req, resp; pid_t pid; } zygote_t;
static __thread mapper_t mapper = { -1, -1, 0 };
typedef struct { int32_t pid; uint32_t flags; uint32_t list[OP_SIZE / 4]; } map_request_t;

static int write_proc(pid_t pid, const char *file, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}
/* A map as the list of an unshare op holds it (count, then extents of three u32), as text. */
static void map_text(const uint32_t *m, char *out, size_t room) {
  size_t len = 0;
  out[0] = 0;
  for (uint32_t i = 0; i < m[0] && i < NS_EXTENTS_MAX; i++)
    len += (size_t)snprintf(out + len, room - len, "%u %u %u\n", m[1 + 3 * i], m[2 + 3 * i], m[3 + 3 * i]);
}
static void mapper_serve(void) {
  map_request_t rq;
  for (;;) {
    size_t got = 0;
    while (got < sizeof rq) { ssize_t r = read(0, (uint8_t *)&rq + got, sizeof rq - got); if (r <= 0) _exit(0); got += (size_t)r; }
    uint32_t status = 0;
    char text[512];
    if ((rq.flags & OPF_SETGROUPS_DENY) && write_proc(rq.pid, "setgroups", "deny") == 0) status |= 1;
    if (rq.flags & OPF_UID_MAP) { map_text(rq.list, text, sizeof text); if (write_proc(rq.pid, "uid_map", text) == 0) status |= 2; }
    if (rq.flags & OPF_GID_MAP) { map_text(rq.list + 1 + 3 * NS_EXTENTS_MAX, text, sizeof text); if (write_proc(rq.pid, "gid_map", text) == 0) status |= 4; }
    if (write(1, &status, 4) != 4) _exit(0);
  }
}
static void mapper_stop(void) {
  if (mapper.req < 0) return;
  close(mapper.req);
  close(mapper.resp);
  if (mapper.pid > 0) waitpid(mapper.pid, NULL, 0);
  mapper = (mapper_t){ -1, -1, 0 };
}
/* Forks a helper with this process's credentials, replacing the current one. */
static void mapper_start(void) {
  int rq[2], rs[2];
  pthread_mutex_lock(&fd_lock); /* no exec file open for writing while this forks */
  if (pipe2(rq, O_CLOEXEC) || pipe2(rs, O_CLOEXEC)) exit(FAIL_MAPPER);
  pid_t p = fork();
  if (p > 0) pthread_mutex_unlock(&fd_lock);
  if (p < 0) exit(FAIL_MAPPER);
  if (p == 0) {
    if (dup2(rq[0], 0) < 0 || dup2(rs[1], 1) < 0) _exit(1);
    syscall(SYS_close_range, 3U, ~0U, 0U); /* hold no end of anybody else's pipe */
    mapper_serve();
  }
  close(rq[0]);
  close(rs[1]);
  mapper_stop();
  mapper = (mapper_t){ rq[1], rs[0], p };
}
/* Asks the helper to write the maps of process `pid`; the status bits of what was written. */
static uint32_t mapper_write(pid_t pid, uint32_t flags, const uint8_t *list) {
  if (mapper.req < 0) { fprintf(stderr, "capfuzz: no map writer\n"); exit(FAIL_NO_MAPPER); }
  map_request_t rq = { pid, flags, { 0 } };
  memcpy(rq.list, list, 32 * 4);
  uint32_t status = 0;
  if (write(mapper.req, &rq, sizeof rq) != (ssize_t)sizeof rq || read(mapper.resp, &status, 4) != 4) exit(FAIL_MAPPER_IO);
  return status;
}

/* The end of a trial's own process (or a reporter): its map writer stops when its pipe closes,
   and the process reaps it and anything else it started, leaving no zombie behind. */
static void reap_and_exit(void) {
  mapper_stop();
  while (waitpid(-1, NULL, 0) > 0) {}
  _exit(0);
}

/* unshare(CLONE_NEWUSER) as the op says: in a process with other threads when it says so (a
   parked thread stands for them), then the maps written by the helper, then a helper for the
   new level. */
static void *parked(void *arg) { char c; return (void *)(intptr_t)read(*(int *)arg, &c, 1); }
/* The threads of this process, from /proc/self/stat (field 20), or -1. */
static long thread_count(void) {
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  for (int field = 2; p && field < 20; field++) p = strchr(p + 1, ' ');
  return p ? strtol(p + 1, NULL, 10) : -1;
}
/* pthread_join returns once the thread has left its function and the kernel has cleared its tid
   (mm_release, in exit_mm), which is before the thread leaves the thread group (exit_notify,
   release_task): an unshare(CLONE_NEWUSER) right after it can still see two threads and fail
   with EINVAL. A later unshare step must find this process single-threaded, as the model
   says, so wait for the kernel to finish the thread. */
static void wait_single_threaded(void) {
  for (int i = 0; i < 1000000; i++) {
    long n = thread_count();
    if (n == 1 || n < 0) return;
    sched_yield();
  }
  fprintf(stderr, "capfuzz: a parked thread did not end\n");
  exit(FAIL_THREADED);
}
/* Whether an unshare op comes later in this process's sequence (set by run_ops): only then is a
   map writer for the next level needed. */
static __thread int unshare_follows;

static long do_unshare(uint32_t flags, const uint8_t *list) {
  if (flags & OPF_MULTITHREADED) {
    int p[2];
    pthread_t th;
    if (pipe2(p, O_CLOEXEC) || pthread_create(&th, NULL, parked, &p[0])) exit(FAIL_PARKED);
    long r = syscall(SYS_unshare, CLONE_NEWUSER);
    int e = errno;
    close(p[1]);
    pthread_join(th, NULL);
    close(p[0]);
    wait_single_threaded();
    errno = e;
    if (r == 0) { fprintf(stderr, "capfuzz: unshare succeeded with two threads\n"); exit(FAIL_THREADED); }
    return r;
  }
  /* An id change makes a process non-dumpable, and /proc/PID of a non-dumpable process belongs
     to root of the namespace it was exec'd in, which a helper one level down cannot open: the
     helper (like newuidmap) needs the process dumpable. Dumpability is no capability state. */
  syscall(SYS_prctl, PR_SET_DUMPABLE, 1UL, 0UL, 0UL, 0UL);
  long r = syscall(SYS_unshare, CLONE_NEWUSER);
  if (r) return r;
  thread_known = ~0ULL; /* a new namespace, a full bounding set */
  if (flags & (OPF_SETGROUPS_DENY | OPF_UID_MAP | OPF_GID_MAP)) mapper_write(getpid(), flags, list);
  if (unshare_follows) mapper_start(); /* now, while this process has every capability in the new namespace */
  return 0;
}

typedef struct {
  const uint8_t *state;
  const uint8_t *ops;
  uint32_t nops;
  uint8_t *out; /* 8-byte trial header + nops * STEP_SIZE */
  char **paths; /* per op: the file of an execve op, else NULL */
  char **interpreters; /* per op: a script's interpreter file (removed with it), else NULL */
  uint8_t *shared;      /* per op: the file is a shared one (prepare_file), not removed after the trial */
  int process;  /* runs in a process of its own (unshare, or a start state in a child namespace) */
  const struct zygote *zygote; /* which forks that process */
} trial_t;

static uint64_t u64at(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t u32at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void run_op(const uint8_t *op, uint32_t model_tid, uint8_t *out) {
  uint32_t kind = u32at(op + OP_KIND), a = u32at(op + OP_A), b = u32at(op + OP_B), c = u32at(op + OP_C);
  uint64_t x0 = u64at(op + OP_X0), x1 = u64at(op + OP_X1), x2 = u64at(op + OP_X2), x3 = u64at(op + OP_X3);
  long ret = -1;
  int err = 0;
  uint32_t version = 0, flags = 0;
  uint64_t de = 0, dp = 0, di = 0;
  int self = (int)syscall(SYS_gettid);
  int pid = (int)b == (int)model_tid ? self : (int)b; /* the model's tid stands for the thread's own */
  errno = 0;
  switch (kind) {
    case OPK_CAPGET: {
      struct __user_cap_data_struct d[2];
      memset(d, 0xa5, sizeof d);
      ret = raw_capget(a, pid, (c & OPF_DATA) ? d : NULL, &version);
      if (ret == 0 && (c & OPF_DATA)) {
        int words = a == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
        de = d[0].effective; dp = d[0].permitted; di = d[0].inheritable;
        if (words == 2) { de |= (uint64_t)d[1].effective << 32; dp |= (uint64_t)d[1].permitted << 32; di |= (uint64_t)d[1].inheritable << 32; }
        flags = words == 1 && d[1].effective == 0xa5a5a5a5 ? STEPF_V1_DATA_UNTOUCHED : 0;
      }
      break;
    }
    case OPK_CAPSET: {
      struct __user_cap_data_struct d[2] = {
        { (uint32_t)x0, (uint32_t)x1, (uint32_t)x2 }, { (uint32_t)(x0 >> 32), (uint32_t)(x1 >> 32), (uint32_t)(x2 >> 32) } };
      ret = raw_capset(a, pid, (c & OPF_DATA) ? d : NULL, &version);
      break;
    }
    case OPK_PRCTL: ret = syscall(SYS_prctl, (int)a, (unsigned long)x0, (unsigned long)x1, (unsigned long)x2, (unsigned long)x3); break;
    case OPK_SETUID: ret = syscall(SYS_setuid, a); break;
    case OPK_SETEUID: /* glibc: seteuid(-1) is EINVAL, else setresuid(-1, euid, -1) */
      if (a == (uint32_t)-1) { ret = -1; errno = EINVAL; } else ret = syscall(SYS_setresuid, (uid_t)-1, a, (uid_t)-1);
      break;
    case OPK_SETREUID: ret = syscall(SYS_setreuid, a, b); break;
    case OPK_SETRESUID: ret = syscall(SYS_setresuid, a, b, c); break;
    case OPK_SETFSUID: ret = syscall(SYS_setfsuid, a); break;
    case OPK_SETGID: ret = syscall(SYS_setgid, a); break;
    case OPK_SETEGID: /* glibc: setegid(-1) is EINVAL, else setresgid(-1, egid, -1) */
      if (a == (uint32_t)-1) { ret = -1; errno = EINVAL; } else ret = syscall(SYS_setresgid, (gid_t)-1, a, (gid_t)-1);
      break;
    case OPK_SETREGID: ret = syscall(SYS_setregid, a, b); break;
    case OPK_SETRESGID: ret = syscall(SYS_setresgid, a, b, c); break;
    case OPK_SETFSGID: ret = syscall(SYS_setfsgid, a); break;
    case OPK_SETGROUPS: {
      uint32_t list[GROUPS_MAX];
      memcpy(list, op + OP_LIST, sizeof list);
      ret = syscall(SYS_setgroups, (long)a, list); /* above GROUPS_MAX only the size checks run */
      break;
    }
    case OPK_UNSHARE: ret = do_unshare(c, op + OP_LIST); break;
    default: ret = -1; errno = ENOSYS;
  }
  if (ret == -1) err = errno;
  int32_t r32 = (int32_t)ret;
  memset(out, 0, STEP_SIZE);
  memcpy(out + SP_RET, &r32, 4); memcpy(out + SP_ERRNO, &err, 4); memcpy(out + SP_VERSION, &version, 4); memcpy(out + SP_FLAGS, &flags, 4);
  memcpy(out + SP_DATA_EFFECTIVE, &de, 8); memcpy(out + SP_DATA_PERMITTED, &dp, 8); memcpy(out + SP_DATA_INHERITABLE, &di, 8);
  state_t s;
  read_state(&s, model_tid);
  encode_state(out + SP_STATE, &s);
}

/* Where step records go: the trial's buffer, or (in an exec'd reporter) fd 3. */
typedef struct { uint8_t *mem; int fd; } sink_t;

static void write_fd(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) { ssize_t r = write(fd, p, n); if (r <= 0) _exit(FAIL_OUTPUT); p += r; n -= (size_t)r; }
}
/* The continuation may find its reader gone (the exec failed and the child exited): not an error. */
static void write_soft(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) { ssize_t r = write(fd, p, n); if (r <= 0) return; p += r; n -= (size_t)r; }
}
static void sink_put(sink_t *sk, const uint8_t *rec) {
  if (sk->mem) { memcpy(sk->mem, rec, STEP_SIZE); sk->mem += STEP_SIZE; }
  else write_fd(sk->fd, rec, STEP_SIZE);
}

/* The record of an execve step as the new program sees itself (or, ret -1, as the exec failed). */
static void exec_record(uint8_t *rec, int32_t ret, int32_t err, uint32_t secure, const state_t *s) {
  memset(rec, 0, STEP_SIZE);
  uint32_t flags = secure ? STEPF_SECURE : 0;
  memcpy(rec + SP_RET, &ret, 4); memcpy(rec + SP_ERRNO, &err, 4); memcpy(rec + SP_FLAGS, &flags, 4);
  encode_state(rec + SP_STATE, s);
}

/* What the child of an execve step needs. */
typedef struct { int out, cont, map_req, map_resp, ptraced; uint32_t model_tid; char *path; } exec_child_t;

/* The child of an execve step. It runs in the parent's memory on a stack of its own
   (CLONE_VM | CLONE_VFORK, as posix_spawn does): copying the runner's page tables for a fork,
   and tearing the copy down again at exec, cost more than the exec itself. The parent thread
   waits until the child has exec'd or exited, so the child may use only its own stack: no
   malloc, no thread-local variable written (they are the parent thread's). */
static int exec_child(void *arg) {
  const exec_child_t *x = arg;
  /* fd 3: step records, 4: the continuation, 5 and 6: the map writer (when there is one) */
  int f3 = fcntl(x->out, F_DUPFD_CLOEXEC, 10), f4 = fcntl(x->cont, F_DUPFD_CLOEXEC, 10);
  int f5 = x->map_req >= 0 ? fcntl(x->map_req, F_DUPFD_CLOEXEC, 10) : -1;
  int f6 = x->map_resp >= 0 ? fcntl(x->map_resp, F_DUPFD_CLOEXEC, 10) : -1;
  if (f3 < 0 || f4 < 0 || dup2(f3, 3) < 0 || dup2(f4, 4) < 0) _exit(126);
  if (f5 >= 0 && f6 >= 0) { if (dup2(f5, 5) < 0 || dup2(f6, 6) < 0) _exit(126); }
  else { close(5); close(6); }
  if (x->ptraced) {
    /* Traced by a tracer without CAP_SYS_PTRACE: PTRACE_TRACEME records this process's own
       credentials as the tracer's (ptracer_cred), so it asks without CAP_SYS_PTRACE in
       effective and puts it back (capset changes nothing else). The parent detaches at the
       exec stop. */
    struct __user_cap_data_struct d[2];
    uint32_t v;
    raw_capget(_LINUX_CAPABILITY_VERSION_3, 0, d, &v);
    const uint32_t sys_ptrace = 1u << CAP_SYS_PTRACE;
    const int had = (d[0].effective & sys_ptrace) != 0;
    if (had) { d[0].effective &= ~sys_ptrace; if (raw_capset(_LINUX_CAPABILITY_VERSION_3, 0, d, &v)) _exit(126); }
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) _exit(126);
    if (had) { d[0].effective |= sys_ptrace; if (raw_capset(_LINUX_CAPABILITY_VERSION_3, 0, d, &v)) _exit(126); }
  }
  char *argv[] = { x->path, "--report", NULL };
  char *envp[] = { NULL };
  execve(x->path, argv, envp);
  int e = errno;
  /* a failed exec leaves the state as it was: read without writing the parent thread's known bounding bits */
  state_t s;
  uint64_t known = ~0ULL;
  read_state_calls(&s, x->model_tid, &known);
  uint8_t rec[STEP_SIZE];
  exec_record(rec, -1, e, 0, &s);
  write_fd(3, rec, STEP_SIZE);
  _exit(127);
}

/* Runs ops in order. An execve runs in a child process (exec_child); the new program (this runner, in its
   --report mode) reports the exec step and runs the remaining ops itself, so a sequence can go
   on after an exec, through further execs. If the exec fails, the child reports the failure
   and this process goes on with the remaining ops. */
static void run_ops(const uint8_t *ops, uint32_t n, uint32_t model_tid, char **paths, sink_t *sk) {
  /* the stack of an execve step's child (exec_child), which runs while this thread waits:
     part of this thread's own stack, never touched unless there is an exec */
  uint8_t exec_stack[1 << 16] __attribute__((aligned(16)));
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *op = ops + (size_t)i * OP_SIZE;
    uint8_t rec[STEP_SIZE];
    unshare_follows = 0;
    for (uint32_t k = i + 1; k < n; k++) if (u32at(ops + (size_t)k * OP_SIZE + OP_KIND) == OPK_UNSHARE) unshare_follows = 1;
    if (u32at(op + OP_KIND) != OPK_EXECVE) { run_op(op, model_tid, rec); sink_put(sk, rec); continue; }
    if (!paths || !paths[i]) { memset(rec, 0, STEP_SIZE); int32_t r = -1, e = ENOSYS; memcpy(rec + SP_RET, &r, 4); memcpy(rec + SP_ERRNO, &e, 4); sink_put(sk, rec); continue; }
    int res[2] = { -1, -1 }, cont[2];
    const int ptraced = (u32at(op + OP_C) & FILE_PTRACED) != 0;
    pthread_mutex_lock(&fd_lock);
    if (pipe2(cont, O_CLOEXEC) || (sk->mem && pipe2(res, O_CLOEXEC))) exit(FAIL_EXEC_PIPE);
    exec_child_t x = { sk->mem ? res[1] : sk->fd, cont[0], mapper.req, mapper.resp, ptraced, model_tid, paths[i] };
    pid_t child = clone(exec_child, exec_stack + sizeof exec_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &x);
    pthread_mutex_unlock(&fd_lock);
    if (child < 0) exit(FAIL_EXEC_CLONE);
    int status = 0, reaped = 0;
    if (ptraced && waitpid(child, &status, 0) == child) {
      if (WIFSTOPPED(status)) ptrace(PTRACE_DETACH, child, NULL, NULL); /* the exec stop: let it run */
      else reaped = 1;                                                  /* the exec failed: it exited */
    }
    close(cont[0]);
    /* The continuation: the model's tid, the remaining ops, the paths of their exec files. */
    uint32_t rest = n - i - 1;
    write_soft(cont[1], &model_tid, 4);
    write_soft(cont[1], &rest, 4);
    write_soft(cont[1], ops + (size_t)(i + 1) * OP_SIZE, (size_t)rest * OP_SIZE);
    for (uint32_t k = i + 1; k < n; k++) {
      uint32_t len = paths[k] ? (uint32_t)strlen(paths[k]) : 0;
      write_soft(cont[1], &len, 4);
      if (len) write_soft(cont[1], paths[k], len);
    }
    close(cont[1]);
    if (sk->mem) {
      close(res[1]);
      uint8_t *start = sk->mem;
      size_t room = (size_t)(n - i) * STEP_SIZE, got = 0;
      ssize_t r;
      while (got < room && (r = read(res[0], start + got, room - got)) > 0) got += (size_t)r;
      close(res[0]);
      if (!reaped) waitpid(child, &status, 0);
      if (got < STEP_SIZE) exit(FAIL_EXEC_REPORT);
      int32_t first;
      memcpy(&first, start, 4);
      sk->mem = start + got;
      if (first != -1) {
        if (got != room) exit(FAIL_EXEC_SHORT); /* the descendants ran every remaining op */
        return;
      }
    } else {
      if (!reaped) waitpid(child, &status, 0);
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127)) return;
    }
    /* the exec failed: its record is written; go on here */
  }
}

/* The file an execve op runs: a copy of this program with the op's owner, setuid bit and
   security.capability xattr. Made while the trial thread still has every capability; chown
   first, as it clears file capabilities and the setuid bit. Returns a malloc'd path. */
/* Files without capabilities differ only in owner, group and mode bits, so the few kinds there
   are are made once and shared by every trial that runs one (never written after they are
   made, so never ETXTBSY); files with capabilities are made per trial and removed after it. */
typedef struct { uint32_t owner, group, flags; char *path, *interpreter; } shared_file_t;
static shared_file_t shared_files[256];
static uint32_t nshared;

static char *make_file(const uint8_t *op, char **interpreter);

/* The file for an execve op; *shared tells whether it belongs to the cache (not to be removed). */
static char *prepare_file(const uint8_t *op, char **interpreter, int *shared) {
  uint32_t flags = u32at(op + OP_C) & (FILE_SETUID | FILE_SETGID | FILE_NOSUID | FILE_SCRIPT | FILE_HAS_CAPS);
  uint32_t owner = u32at(op + OP_A), group = u32at(op + OP_E);
  *shared = 0;
  if (flags & FILE_HAS_CAPS) return make_file(op, interpreter);
  pthread_mutex_lock(&fd_lock);
  for (uint32_t k = 0; k < nshared; k++) {
    shared_file_t *f = &shared_files[k];
    if (f->owner == owner && f->group == group && f->flags == flags) {
      pthread_mutex_unlock(&fd_lock);
      *shared = 1;
      return f->path;
    }
  }
  pthread_mutex_unlock(&fd_lock);
  char *path = make_file(op, interpreter);
  pthread_mutex_lock(&fd_lock);
  if (nshared < sizeof shared_files / sizeof shared_files[0]) {
    shared_files[nshared++] = (shared_file_t){ owner, group, flags, path, *interpreter };
    *interpreter = NULL;
    *shared = 1;
  }
  pthread_mutex_unlock(&fd_lock);
  return path;
}

static char *make_file(const uint8_t *op, char **interpreter) {
  uint32_t owner = u32at(op + OP_A), xver = u32at(op + OP_B), flags = u32at(op + OP_C), rootid = u32at(op + OP_D);
  uint32_t group = u32at(op + OP_E);
  uint64_t fp = u64at(op + OP_X0), fi = u64at(op + OP_X1);
  /* a file "on a nosuid mount" is made on one: the runner's own bind of exec_dir/nosuid */
  const char *dir = (flags & FILE_NOSUID) ? nosuid_dir : exec_dir;
  if (!dir[0]) { fprintf(stderr, "capfuzz: no nosuid mount (it needs --userns)\n"); exit(FAIL_EXEC_FILE); }
  char *path = malloc(strlen(dir) + 32);
  sprintf(path, "%s/x%u", dir, atomic_fetch_add(&file_counter, 1));
  pthread_mutex_lock(&fd_lock);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  ssize_t wrote = fd < 0 ? -1 : write(fd, exe_bytes, exe_len);
  if (wrote != (ssize_t)exe_len) {
    fprintf(stderr, "capfuzz: exec file %s: %s\n", path, wrote < 0 ? strerror(errno) : "short write (file system full?)");
    exit(FAIL_EXEC_FILE);
  }
  /* a set-gid file is S_ISGID with S_IXGRP (0755 has it) */
  mode_t mode = 0755 | ((flags & FILE_SETUID) ? S_ISUID : 0) | ((flags & FILE_SETGID) ? S_ISGID : 0);
  if (fchown(fd, owner, group) || fchmod(fd, mode)) { perror("capfuzz: chown/chmod"); exit(FAIL_EXEC_FILE); }
  if (flags & FILE_HAS_CAPS) {
    uint32_t v[6];
    uint32_t magic = (xver == 3 ? 0x03000000u : 0x02000000u) | ((flags & FILE_EFFECTIVE) ? 1u : 0u);
    v[0] = magic; v[1] = (uint32_t)fp; v[2] = (uint32_t)fi; v[3] = (uint32_t)(fp >> 32); v[4] = (uint32_t)(fi >> 32); v[5] = rootid;
    if (fsetxattr(fd, "security.capability", v, xver == 3 ? 24 : 20, 0)) { perror("capfuzz: setxattr security.capability"); exit(FAIL_XATTR); }
  }
  close(fd);
  if (flags & FILE_SCRIPT) {
    /* The op describes the interpreter (made above); the script beside it gets everything
       that could tempt the kernel, setuid root and every capability with the effective bit,
       which must all do nothing: the strongest test of the rule. */
    char *script = malloc(strlen(exec_dir) + 32);
    sprintf(script, "%s/s%u", exec_dir, atomic_fetch_add(&file_counter, 1));
    int sfd = open(script, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    char line[4200];
    int len = snprintf(line, sizeof line, "#!%s\n", path);
    if (sfd < 0 || write(sfd, line, (size_t)len) != len) { perror("capfuzz: script file"); exit(FAIL_EXEC_FILE); }
    if (fchown(sfd, 0, 0) || fchmod(sfd, 04755)) { perror("capfuzz: script chown/chmod"); exit(FAIL_EXEC_FILE); }
    uint32_t v[5] = { 0x02000001u, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu };
    if (fsetxattr(sfd, "security.capability", v, 20, 0)) { perror("capfuzz: script security.capability"); exit(FAIL_XATTR); }
    close(sfd);
    *interpreter = path;
    path = script;
  }
  pthread_mutex_unlock(&fd_lock);
  return path;
}

/* A start state inside a child user namespace: its ids (kernel ids) are set before the
   unshare; then the helper writes the maps, and the sets are set up inside. */
static int ns_setup(const state_t *s) {
  const uint32_t *w = s->ns;
  if (w[NS_LEVEL / 4] != 1) return SETUP_NS_DEPTH; /* the runner starts one level down; deeper ones come from unshare ops */
  int r = setup_ids(s);
  if (r) return r;
  if (syscall(SYS_unshare, CLONE_NEWUSER)) return SETUP_NS_UNSHARE;
  uint32_t list[32] = { 0 };
  const uint32_t uc = w[NS_UID_COUNT / 4], gc = w[NS_GID_COUNT / 4];
  list[0] = uc;
  memcpy(list + 1, w + NS_UID_MAP / 4, 3 * NS_EXTENTS_MAX * 4);
  list[1 + 3 * NS_EXTENTS_MAX] = gc;
  memcpy(list + 2 + 3 * NS_EXTENTS_MAX, w + NS_GID_MAP / 4, 3 * NS_EXTENTS_MAX * 4);
  const uint32_t flags = (uc ? OPF_UID_MAP : 0) | (gc ? OPF_GID_MAP : 0) | ((w[NS_FLAGS / 4] & NSF_SETGROUPS_DENY) ? OPF_SETGROUPS_DENY : 0);
  const uint32_t want = ((flags & OPF_SETGROUPS_DENY) ? 1u : 0u) | (uc ? 2u : 0u) | (gc ? 4u : 0u);
  if (flags && mapper_write(getpid(), flags, (const uint8_t *)list) != want) return SETUP_NS_MAPS;
  if (unshare_follows) mapper_start(); /* while this process has every capability in its namespace */
  return setup_sets(s);
}

/* Another task for capget to read: a process (or a thread of this runner) holding the op's
   E, P, I, made while the template thread still has every capability. It waits until its pipe
   closes. */
typedef struct { uint64_t e, p, i; int fd; int ready[2]; pid_t tid; } task_t;
static void *task_thread(void *arg) {
  task_t *t = arg;
  if (set_sets(t->e, t->p, t->i)) t->tid = -1;
  else t->tid = (pid_t)syscall(SYS_gettid);
  if (write(t->ready[1], "r", 1) != 1) return NULL;
  char c;
  ssize_t r = read(t->fd, &c, 1);
  close(t->fd); /* its end of the pipe: the parent closes only the other */
  return (void *)(intptr_t)r;
}
typedef struct { pid_t pid; int hold; pthread_t th; int thread; task_t *task; } live_task_t;
static int spawn_task(const uint8_t *op, live_task_t *lt) {
  int hold[2];
  task_t *t = calloc(1, sizeof *t);
  t->e = u64at(op + OP_X0); t->p = u64at(op + OP_X1); t->i = u64at(op + OP_X2);
  if (pipe2(hold, O_CLOEXEC) || pipe2(t->ready, O_CLOEXEC)) return -1;
  t->fd = hold[0];
  lt->thread = (u32at(op + OP_C) & OPF_TASK_THREAD) != 0;
  lt->hold = hold[1];
  lt->task = t;
  char c;
  if (lt->thread) {
    if (pthread_create(&lt->th, NULL, task_thread, t) || read(t->ready[0], &c, 1) != 1 || t->tid <= 0) return -1;
    lt->pid = t->tid;
  } else {
    pthread_mutex_lock(&fd_lock);
    pid_t p = fork();
    if (p == 0) {
      /* its own end of the hold pipe on 0, the ready pipe's write end on 1, nothing else */
      if (dup2(hold[0], 0) < 0 || dup2(t->ready[1], 1) < 0) _exit(1);
      syscall(SYS_close_range, 3U, ~0U, 0U);
      if (set_sets(t->e, t->p, t->i)) _exit(1);
      if (write(1, "r", 1) != 1) _exit(1);
      if (read(0, &c, 1) < 0) _exit(1);
      _exit(0);
    }
    pthread_mutex_unlock(&fd_lock);
    if (p < 0) return -1;
    lt->pid = p;
    /* it holds the sets once it says so */
    if (read(t->ready[0], &c, 1) != 1) return -1;
  }
  if (!lt->thread) close(hold[0]); /* a thread task closes it itself, when its wait ends */
  close(t->ready[0]);
  close(t->ready[1]);
  return 0;
}
static void end_task(live_task_t *lt) {
  close(lt->hold);
  if (lt->thread) pthread_join(lt->th, NULL);
  else waitpid(lt->pid, NULL, 0);
  free(lt->task);
}

static int read_exact(int fd, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n) { ssize_t r = read(fd, p, n); if (r <= 0) return -1; p += r; n -= (size_t)r; }
  return 0;
}
static void zygote_send(int fd, const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) { ssize_t r = write(fd, p, n); if (r <= 0) exit(FAIL_ZYGOTE); p += r; n -= (size_t)r; }
}

/* A zygote: a small process, forked before the trials are read, that forks the process of each
   trial needing one (an unshare step, or a start state in a child namespace). Forking the
   runner itself copied the page tables of every trial's buffers, and tearing them down again
   at exit cost as much: most of such a trial's time. A zygote has every capability of the
   runner's namespace, as the main thread does, and forks that namespace's map writer at once.
   It serves one trial at a time. Requests on fd 0: u32 op count, the state, the ops, then per
   op a u32 length and the path of its exec file. The trial's process writes its setup status
   and its step records to a pipe; the zygote answers on fd 1 with their length and them, once
   the process and everything it started are gone (a process that dies early answers short). */
/* A trial's own process: from the zygote's full root to the start state (one namespace down
   when it says so), then its ops, reported on `out`. */
typedef struct { const uint8_t *buf; uint32_t nops; char **paths; mapper_t m0; int in, out, unshares; } trial_process_t;
enum { ZYGOTE_STACK = 1 << 20 };
static uint8_t *zygote_stack;
static int trial_process(void *arg) {
  const trial_process_t *tp = arg;
  close(tp->in);
  state_t s;
  decode_state(tp->buf, &s);
  mapper = tp->m0;
  unshare_follows = tp->unshares; /* for ns_setup: a map writer for the next level */
  uint32_t st = ((const uint32_t *)s.ns)[NS_LEVEL / 4] ? (uint32_t)ns_setup(&s) : (uint32_t)setup(&s);
  write_fd(tp->out, &st, 4);
  if (st == 0) {
    sink_t sk = { NULL, tp->out };
    run_ops(tp->buf + STATE_SIZE, tp->nops, s.tid, tp->paths, &sk);
  }
  reap_and_exit();
  return 0;
}

static void zygote_serve(void) {
  zygote_stack = malloc(ZYGOTE_STACK);
  if (!zygote_stack) _exit(FAIL_ZYGOTE);
  mapper_start(); /* now, while this process has every capability */
  const mapper_t m0 = mapper;
  uint32_t nops;
  while (read_exact(0, &nops, 4) == 0) {
    const size_t in = STATE_SIZE + (size_t)nops * OP_SIZE;
    uint8_t *buf = malloc(in);
    char **paths = calloc(nops ? nops : 1, sizeof *paths);
    if (!buf || !paths || read_exact(0, buf, in)) _exit(FAIL_ZYGOTE);
    for (uint32_t k = 0; k < nops; k++) {
      uint32_t len;
      if (read_exact(0, &len, 4)) _exit(FAIL_ZYGOTE);
      if (!len) continue;
      paths[k] = malloc(len + 1);
      if (!paths[k] || read_exact(0, paths[k], len)) _exit(FAIL_ZYGOTE);
      paths[k][len] = 0;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC)) _exit(FAIL_ZYGOTE);
    const size_t room = 4 + (size_t)nops * STEP_SIZE;
    int unshares = 0;
    for (uint32_t k = 0; k < nops; k++) if (u32at(buf + STATE_SIZE + (size_t)k * OP_SIZE + OP_KIND) == OPK_UNSHARE) unshares = 1;
    trial_process_t tp = { buf, nops, paths, m0, p[0], p[1], unshares };
    pid_t child;
    if (!unshares && fcntl(p[1], F_GETPIPE_SZ) >= (long)room) {
      /* Nothing in it forks or makes a thread (only an unshare op does, for its map writer or
         a parked thread), so it runs in this process's memory, as an exec child does: no page
         tables copied, none torn down. This process waits meanwhile (CLONE_VFORK), so the
         whole answer must fit in the pipe; then it puts back its thread-local variables, which
         the child shared. */
      child = clone(trial_process, zygote_stack + ZYGOTE_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &tp);
      mapper = m0;
      unshare_follows = 0;
      thread_known = ~0ULL;
    } else if ((child = fork()) == 0) trial_process(&tp);
    if (child < 0) _exit(FAIL_ZYGOTE);
    close(p[1]);
    size_t got = 0;
    uint8_t *out = malloc(room);
    ssize_t r;
    while (got < room && (r = read(p[0], out + got, room - got)) > 0) got += (size_t)r;
    close(p[0]);
    waitpid(child, NULL, 0);
    uint32_t len = (uint32_t)got;
    write_fd(1, &len, 4);
    write_fd(1, out, got);
    free(out);
    for (uint32_t k = 0; k < nops; k++) free(paths[k]);
    free(paths);
    free(buf);
  }
  mapper_stop();
  _exit(0);
}
static void zygote_start(zygote_t *z) {
  int rq[2], rs[2];
  if (pipe2(rq, O_CLOEXEC) || pipe2(rs, O_CLOEXEC)) exit(FAIL_ZYGOTE);
  const pid_t runner = getpid();
  pid_t p = fork();
  if (p < 0) exit(FAIL_ZYGOTE);
  if (p == 0) {
    die_with_parent(runner);
    if (dup2(rq[0], 0) < 0 || dup2(rs[1], 1) < 0) _exit(1);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    zygote_serve();
  }
  close(rq[0]);
  close(rs[1]);
  *z = (zygote_t){ rq[1], rs[0], p };
}
static void zygote_stop(zygote_t *z) {
  close(z->req);
  close(z->resp);
  waitpid(z->pid, NULL, 0);
}

/* A trial thread starts where its creator, the group's template thread, stands: a new thread
   copies its creator's credentials, so the start state is set up once per group. */
static void *trial_thread(void *arg) {
  trial_t *t = arg;
  state_t s;
  decode_state(t->state, &s);
  if (!t->process) {
    sink_t sk = { t->out + 8, -1 };
    run_ops(t->ops, t->nops, s.tid, t->paths, &sk);
    return NULL;
  }
  /* A process of its own, forked by the group's zygote (see zygote_serve): it reports its
     setup status, then its steps. */
  const zygote_t *z = t->zygote;
  zygote_send(z->req, &t->nops, 4);
  zygote_send(z->req, t->state, STATE_SIZE);
  zygote_send(z->req, t->ops, (size_t)t->nops * OP_SIZE);
  for (uint32_t k = 0; k < t->nops; k++) {
    uint32_t len = t->paths[k] ? (uint32_t)strlen(t->paths[k]) : 0;
    zygote_send(z->req, &len, 4);
    if (len) zygote_send(z->req, t->paths[k], len);
  }
  uint32_t len, st = SETUP_PROCESS_ENDED; /* a process that said nothing failed its setup */
  if (read_exact(z->resp, &len, 4)) exit(FAIL_ZYGOTE);
  uint8_t *got = malloc(len ? len : 1);
  if (!got || read_exact(z->resp, got, len)) exit(FAIL_ZYGOTE);
  if (len >= 4) memcpy(&st, got, 4);
  const size_t room = (size_t)t->nops * STEP_SIZE;
  if (st) memcpy(t->out, &st, 4);
  else if (len - 4 != room) exit(FAIL_EXEC_SHORT);
  else memcpy(t->out + 8, got + 4, room);
  free(got);
  return NULL;
}

/* A trial that needs a process of its own: an unshare op, or a start state in a child namespace. */
static int needs_process(const trial_t *t) {
  state_t s;
  decode_state(t->state, &s);
  if (((const uint32_t *)s.ns)[NS_LEVEL / 4]) return 1;
  for (uint32_t i = 0; i < t->nops; i++)
    if (u32at(t->ops + (size_t)i * OP_SIZE + OP_KIND) == OPK_UNSHARE) return 1;
  return 0;
}

/* Template and trial threads are made by the thousand, on stacks their worker owns (thread_on):
   glibc gives each thread of its own a stack it madvise()s away at exit, and on two cores the
   TLB shootdowns that follow cost as much as making the thread. */
enum { THREAD_STACK = 1 << 18 };
typedef struct { uint8_t *template_stack, *trial_stack; } stacks_t;
typedef struct { trial_t *trials; uint32_t count; const zygote_t *zygote; const stacks_t *stacks; } group_t;

/* Runs fn(arg) on a new thread on `stack` (THREAD_STACK bytes, free again once it returns) and waits for it. */
static void thread_on(uint8_t *stack, void *(*fn)(void *), void *arg) {
  pthread_attr_t a;
  pthread_t th;
  if (pthread_attr_init(&a) || pthread_attr_setstack(&a, stack, THREAD_STACK) || pthread_create(&th, &a, fn, arg)) exit(FAIL_THREAD);
  pthread_join(th, NULL);
  pthread_attr_destroy(&a);
}

/* One start state: prepare the exec files (while every capability is still here), bring this
   thread to the state, then run each trial of the group on a fresh thread made from this one. */
static void *template_thread(void *arg) {
  group_t *g = arg;
  uint32_t ntasks = 0, cap_tasks = 0;
  live_task_t *tasks = NULL;
  for (uint32_t k = 0; k < g->count; k++) {
    trial_t *t = &g->trials[k];
    t->paths = calloc(t->nops ? t->nops : 1, sizeof *t->paths);
    t->interpreters = calloc(t->nops ? t->nops : 1, sizeof *t->interpreters);
    t->shared = calloc(t->nops ? t->nops : 1, 1);
    t->process = needs_process(t);
    state_t st;
    decode_state(t->state, &st);
    for (uint32_t i = 0; i < t->nops; i++) {
      uint8_t *op = (uint8_t *)t->ops + (size_t)i * OP_SIZE;
      uint32_t kind = u32at(op + OP_KIND), c = u32at(op + OP_C);
      int32_t pid = (int32_t)u32at(op + OP_B);
      if (kind == OPK_EXECVE) {
        int shared;
        t->paths[i] = prepare_file(op, &t->interpreters[i], &shared);
        t->shared[i] = (uint8_t)shared;
      }
      /* capget of another task: a real one with the op's sets, or a pid that exists nowhere */
      if (kind == OPK_CAPGET && pid > 0 && (uint32_t)pid != st.tid && (c & OPF_TASKS_KNOWN)) {
        int32_t real = (int32_t)PID_MAX_LIMIT + 1;
        /* A task whose real pid is the model's own tid would be taken for the thread itself
           (run_op maps that tid to the caller): keep it alive, so the pid stays taken, and
           make another. */
        while (c & OPF_TASK_FOUND) {
          if (ntasks == cap_tasks) tasks = realloc(tasks, (cap_tasks = cap_tasks * 2 + 4) * sizeof *tasks);
          if (spawn_task(op, &tasks[ntasks])) {
            fprintf(stderr, "capfuzz: cannot make a task holding a capget op's sets (fork, a thread or capset refused)\n");
            exit(FAIL_TASK);
          }
          real = tasks[ntasks++].pid;
          if ((uint32_t)real != st.tid) break;
        }
        memcpy(op + OP_B, &real, 4);
      }
    }
  }
  for (uint32_t k = 0; k < g->count; k++) g->trials[k].zygote = g->zygote;
  state_t s;
  decode_state(g->trials[0].state, &s);
  /* a start state in a child namespace is set up by each trial's own process */
  uint32_t status = ((const uint32_t *)s.ns)[NS_LEVEL / 4] ? 0 : (uint32_t)setup(&s);
  for (uint32_t k = 0; k < g->count; k++) {
    trial_t *t = &g->trials[k];
    memcpy(t->out, &status, 4);
    memcpy(t->out + 4, &t->nops, 4);
    if (status == 0) {
      /* The last trial runs on this thread itself: nothing needs the start state after it,
         and a thread made and ended per trial is the largest cost of a fresh start state. */
      if (k + 1 == g->count) trial_thread(t);
      else thread_on(g->stacks->trial_stack, trial_thread, t);
    }
    for (uint32_t i = 0; i < t->nops; i++) {
      if (t->paths[i] && !t->shared[i]) { unlink(t->paths[i]); free(t->paths[i]); }
      if (t->interpreters[i]) { unlink(t->interpreters[i]); free(t->interpreters[i]); }
    }
    free(t->interpreters);
    free(t->shared);
    t->interpreters = NULL;
    t->shared = NULL;
    free(t->paths);
    t->paths = NULL;
  }
  for (uint32_t k = 0; k < ntasks; k++) end_task(&tasks[k]);
  free(tasks);
  return NULL;
}

typedef struct { group_t *groups; uint32_t ngroups; atomic_uint *next; const zygote_t *zygote; pthread_t th; } worker_t;
static void *worker_thread(void *arg) {
  worker_t *w = arg;
  stacks_t stacks = { aligned_alloc(4096, THREAD_STACK), aligned_alloc(4096, THREAD_STACK) };
  if (!stacks.template_stack || !stacks.trial_stack) exit(FAIL_THREAD);
  for (uint32_t g; (g = atomic_fetch_add(w->next, 1)) < w->ngroups;) {
    w->groups[g].zygote = w->zygote;
    w->groups[g].stacks = &stacks;
    thread_on(stacks.template_stack, template_thread, &w->groups[g]);
  }
  free(stacks.template_stack);
  free(stacks.trial_stack);
  return NULL;
}

static int read_all(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n) { ssize_t r = read(0, p, n); if (r <= 0) return -1; p += r; n -= (size_t)r; }
  return 0;
}
static void write_all(const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) { ssize_t r = write(1, p, n); if (r <= 0) exit(FAIL_OUTPUT); p += r; n -= (size_t)r; }
}

/* Input: u32 count, then per trial: u32 nops, state, nops ops. Output: per trial, 8 + nops*STEP_SIZE. */
static int load_self(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) return -1;
  exe_len = (size_t)st.st_size;
  exe_bytes = malloc(exe_len);
  size_t got = 0;
  while (got < exe_len) { ssize_t r = read(fd, exe_bytes + got, exe_len - got); if (r <= 0) return -1; got += (size_t)r; }
  close(fd);
  return 0;
}

static int serve(void) {
  if (exec_dir && load_self()) return FAIL_SELF;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (!f || fscanf(f, "%d", &last_cap) != 1) return FAIL_LAST_CAP;
  fclose(f);
  enum { MAX_PARALLEL = 16 };
  /* Template threads at a time (CAPFUZZ_PARALLEL, default 2: this project's machines have 2 cores). */
  const char *par = getenv("CAPFUZZ_PARALLEL");
  int parallel = par ? atoi(par) : 2;
  if (parallel < 1) parallel = 1;
  if (parallel > MAX_PARALLEL) parallel = MAX_PARALLEL;
  /* a zygote per template thread, while this process is small */
  zygote_t zygotes[MAX_PARALLEL];
  for (int k = 0; k < parallel; k++) zygote_start(&zygotes[k]);
  uint32_t count;
  if (read_all(&count, 4)) return FAIL_INPUT;
  trial_t *trials = calloc(count ? count : 1, sizeof *trials);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t nops;
    if (read_all(&nops, 4)) return FAIL_INPUT;
    size_t in = STATE_SIZE + (size_t)nops * OP_SIZE;
    uint8_t *buf = malloc(in + 8 + (size_t)nops * STEP_SIZE);
    if (read_all(buf, in)) return FAIL_INPUT;
    trials[k] = (trial_t){ buf, buf + STATE_SIZE, nops, buf + in, NULL, NULL, NULL, 0, NULL };
  }
  /* Consecutive trials with the same start state form a group, set up once. */
  group_t *groups = calloc(count ? count : 1, sizeof *groups);
  uint32_t ngroups = 0;
  for (uint32_t k = 0; k < count; k++) {
    if (ngroups && memcmp(groups[ngroups - 1].trials[0].state, trials[k].state, STATE_SIZE) == 0) groups[ngroups - 1].count++;
    else groups[ngroups++] = (group_t){ &trials[k], 1, NULL, NULL };
  }
  /* `parallel` workers take the groups in turn, each making a template thread per group (a
     worker keeps the main thread's credentials) and using its own zygote */
  worker_t workers[MAX_PARALLEL];
  atomic_uint next_group = 0;
  for (int k = 0; k < parallel; k++) {
    workers[k] = (worker_t){ groups, ngroups, &next_group, &zygotes[k], 0 };
    if (pthread_create(&workers[k].th, NULL, worker_thread, &workers[k])) return FAIL_THREAD;
  }
  for (int k = 0; k < parallel; k++) pthread_join(workers[k].th, NULL);
  for (int k = 0; k < parallel; k++) zygote_stop(&zygotes[k]);
  for (uint32_t k = 0; k < count; k++) write_all(trials[k].out, 8 + (size_t)trials[k].nops * STEP_SIZE);
  return 0;
}

/* --seccomp-deny NAME[:ARG0] -- CMD ARGS: fault injection for the launcher's tests. Installs a
   seccomp filter under which the named syscall (only with that first argument, for prctl's
   options) fails with EPERM, then execs CMD. Everything else is allowed. */
static int seccomp_deny(const char *spec, char **cmd) {
  static const struct { const char *name; long nr; } calls[] = {
    { "setresuid", SYS_setresuid }, { "setresgid", SYS_setresgid }, { "setgroups", SYS_setgroups },
    { "capset", SYS_capset }, { "prctl", SYS_prctl }, { "setuid", SYS_setuid }, { "setxattr", SYS_setxattr },
  };
  char name[32];
  const char *colon = strchr(spec, ':');
  size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
  if (n >= sizeof name) return 2;
  memcpy(name, spec, n);
  name[n] = 0;
  long nr = -1;
  for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) if (strcmp(calls[k].name, name) == 0) nr = calls[k].nr;
  if (nr < 0) { fprintf(stderr, "capfuzz: --seccomp-deny: unknown syscall %s\n", name); return 2; }
  uint32_t arg0 = colon ? (uint32_t)strtoul(colon + 1, NULL, 0) : 0;
#if defined(__x86_64__)
  const uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  const uint32_t arch = AUDIT_ARCH_AARCH64;
#endif
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arg0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, colon ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  struct sock_fprog prog = { .len = sizeof filter / sizeof filter[0], .filter = filter };
  /* No no_new_privs: the filter is installed with CAP_SYS_ADMIN (in the namespace), so the
     command's own exec rules stay what they would be without the filter. */
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)) { perror("capfuzz: PR_SET_SECCOMP"); return 11; }
  execvp(cmd[0], cmd);
  perror("capfuzz: exec");
  return 127;
}

/* --guest: the init of a throwaway virtual machine (capgate verify --boot). It mounts what the
   runner needs (proc, a tmpfs with xattrs for the exec files), runs the trials of /trials.bin in
   batches, each exactly as --userns does on a host (a runner process of its own, whose tmpfs of
   exec files goes away with it, so that any number of trials fits in the guest's memory), and
   sends the answers on a channel of their own: the second serial port (ttyS1, a file on the
   host), never the console, which the kernel shares. Each answer is a frame with its length and
   a checksum (the host checks both), the last one says how many came before it, and the port is
   drained (tcdrain) before the machine powers off. The console carries only a line or two for a
   human reading a failed boot. */
static int run_self(char *self, char **args, int in, int out) {
  pid_t p = fork();
  if (p < 0) return -1;
  if (p == 0) {
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0) _exit(127);
    execv(self, args);
    _exit(127);
  }
  int status;
  if (waitpid(p, &status, 0) != p) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
/* FNV-1a over the payload: enough to tell a frame that arrived whole from one that did not. */
static uint32_t fnv1a(const uint8_t *b, size_t n, uint32_t h) {
  for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 16777619u; }
  return h;
}
static void frame(int fd, uint32_t type, const void *head, size_t head_len, const void *body, size_t body_len) {
  uint32_t h[4] = { ANSWER_MAGIC, type, (uint32_t)(head_len + body_len), 0 };
  h[3] = fnv1a(body, body_len, fnv1a(head, head_len, 2166136261u));
  write_fd(fd, h, sizeof h);
  if (head_len) write_fd(fd, head, head_len);
  if (body_len) write_fd(fd, body, body_len);
}
static void console(const char *text) { write_soft(1, text, strlen(text)); }

static int guest(char *self) {
  mkdir("/proc", 0755);
  mkdir("/tmp", 01777);
  if (mount("proc", "/proc", "proc", 0, NULL) || mount("tmpfs", "/tmp", "tmpfs", 0, "mode=0755,size=90%")) {
    perror("capfuzz --guest: mount");
    return FAIL_GUEST_MOUNT;
  }
  mkdir("/tmp/exec", 0755);
  int answer = open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  struct termios tio;
  if (answer < 0 || tcgetattr(answer, &tio)) { perror("capfuzz --guest: /dev/ttyS1"); return FAIL_GUEST_CHANNEL; }
  cfmakeraw(&tio); /* bytes as they are: no newline translation, no echo */
  if (tcsetattr(answer, TCSANOW, &tio)) { perror("capfuzz --guest: /dev/ttyS1"); return FAIL_GUEST_CHANNEL; }
  struct utsname u;
  uname(&u);
  char line[300];
  snprintf(line, sizeof line, "\nCAPFUZZ-RELEASE %s\n", u.release);
  console(line);
  frame(answer, ANSWER_RELEASE, u.release, strlen(u.release), NULL, 0);
  /* /trials.bin: u32 count, then per trial u32 nops, the state, the ops (the runner's input) */
  int in = open("/trials.bin", O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat(in, &st)) { perror("capfuzz --guest: /trials.bin"); return FAIL_GUEST_TRIALS; }
  uint8_t *all = malloc((size_t)st.st_size ? (size_t)st.st_size : 1);
  if (!all || read_exact(in, all, (size_t)st.st_size) || st.st_size < 4) { perror("capfuzz --guest: /trials.bin"); return FAIL_GUEST_TRIALS; }
  close(in);
  const uint32_t count = u32at(all);
  size_t at = 4;
  uint32_t done = 0, batches = 0;
  char *args[] = { self, "--userns", "--dir", "/tmp/exec", NULL };
  while (done < count) {
    /* the next batch: up to BOOT_BATCH trials, as an input file of its own */
    size_t from = at;
    uint32_t n = 0;
    while (done + n < count && n < BOOT_BATCH) {
      if (at + 4 > (size_t)st.st_size) return FAIL_GUEST_TRIALS;
      at += 4 + STATE_SIZE + (size_t)u32at(all + at) * OP_SIZE;
      if (at > (size_t)st.st_size) return FAIL_GUEST_TRIALS;
      n++;
    }
    int bin = open("/tmp/batch.in", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int bout = open("/tmp/batch.out", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (bin < 0 || bout < 0) return FAIL_GUEST_TRIALS;
    write_fd(bin, &n, 4);
    write_fd(bin, all + from, at - from);
    lseek(bin, 0, SEEK_SET);
    uint32_t head[3] = { batches, (uint32_t)run_self(self, args, bin, bout), n };
    struct stat ost;
    fstat(bout, &ost);
    uint8_t *out = malloc((size_t)ost.st_size ? (size_t)ost.st_size : 1);
    if (!out || pread(bout, out, (size_t)ost.st_size, 0) != ost.st_size) return FAIL_GUEST_TRIALS;
    frame(answer, ANSWER_BATCH, head, sizeof head, out, (size_t)ost.st_size);
    free(out);
    close(bin);
    close(bout);
    unlink("/tmp/batch.in");
    unlink("/tmp/batch.out");
    done += n;
    batches++;
    if (head[1] != 0) break; /* the host reports the runner's failure */
  }
  uint32_t end[2] = { batches, done };
  frame(answer, ANSWER_END, end, sizeof end, NULL, 0);
  tcdrain(answer); /* every byte out of the port before the power goes */
  close(answer);
  console("CAPFUZZ-DONE\n");
  tcdrain(1);
  return 0;
}

/* --userns: serve inside a new user namespace whose uid and gid maps cover every id. Real root
   writes the maps of a child from outside, as newuidmap would; others get uid 0 alone. */
/* Whether this process is root over every id: euid 0 in a namespace whose uid map covers
   every id (the initial one, or one mapped in full). Root of `unshare -Ur` has uid 0 alone: it
   runs the trials as a normal user does. */
static int maps_every_id(void) {
  if (geteuid() != 0) return 0;
  FILE *f = fopen("/proc/self/uid_map", "r");
  unsigned long inside, outside, count;
  int full = f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 && outside == 0 && count == 4294967295UL;
  if (f) fclose(f);
  return full;
}

int main(int argc, char **argv) {
  if (getpid() == 1) {
    /* the init of a virtual machine: whatever happens, power off at the end */
    int r = guest(argv[0]);
    if (r) fprintf(stderr, "capfuzz --guest: failed (%d)\n", r);
    sync();
    reboot(RB_POWER_OFF);
    return r;
  }
  signal(SIGPIPE, SIG_IGN); /* a pipe whose reader is gone is an error to handle, not a reason to die */
  /* A runner serving trials dies with the process that started it (capgate verify, killed or
     interrupted): nothing goes on working for nobody. */
  const pid_t parent = getppid();
  int serving = 0;
  for (int i = 1; i < argc; i++) if (strcmp(argv[i], "--userns") == 0 || strcmp(argv[i], "--dir") == 0) serving = 1;
  if (argc == 1 || serving) die_with_parent(parent);
  /* run directly: argv = { file, "--report" }; as a script's interpreter the kernel passes
     { interpreter, script, "--report" } */
  if ((argc > 1 && strcmp(argv[1], "--report") == 0) || (argc > 2 && strcmp(argv[2], "--report") == 0)) {
    /* Exec'd by an execve step: report this program's state as it starts (fd 3), then run the
       rest of the sequence, read from fd 4, reporting each step on fd 3 too. */
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (!f || fscanf(f, "%d", &last_cap) != 1) return FAIL_LAST_CAP;
    fclose(f);
    size_t cap = 1 << 16, len = 0;
    uint8_t *in = malloc(cap);
    ssize_t r;
    while ((r = read(4, in + len, cap - len)) > 0) { len += (size_t)r; if (len == cap) in = realloc(in, cap *= 2); }
    close(4);
    if (len < 8) return FAIL_CONTINUATION;
    uint32_t model_tid = u32at(in), rest = u32at(in + 4);
    const uint8_t *ops = in + 8;
    const uint8_t *q = ops + (size_t)rest * OP_SIZE;
    char **paths = calloc(rest ? rest : 1, sizeof *paths);
    for (uint32_t k = 0; k < rest; k++) {
      uint32_t plen = u32at(q); q += 4;
      if (plen) { paths[k] = strndup((const char *)q, plen); q += plen; }
    }
    if (fcntl(5, F_GETFD) >= 0 && fcntl(6, F_GETFD) >= 0) {
      mapper = (mapper_t){ fcntl(5, F_DUPFD_CLOEXEC, 10), fcntl(6, F_DUPFD_CLOEXEC, 10), 0 };
      close(5);
      close(6);
    }
    uint8_t rec[STEP_SIZE];
    state_t s;
    read_state(&s, model_tid);
    exec_record(rec, 0, 0, (uint32_t)getauxval(AT_SECURE), &s);
    write_fd(3, rec, STEP_SIZE);
    sink_t sk = { NULL, 3 };
    run_ops(ops, rest, model_tid, paths, &sk);
    reap_and_exit();
  }
  if (argc > 4 && strcmp(argv[1], "--seccomp-deny") == 0 && strcmp(argv[3], "--") == 0) return seccomp_deny(argv[2], argv + 4);
  for (int i = 1; i + 1 < argc; i++) if (strcmp(argv[i], "--dir") == 0) exec_dir = argv[i + 1];
  if (argc > 1 && strcmp(argv[1], "--userns") == 0) {
    int go[2], ready[2];
    if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC)) return FAIL_FORK;
    const pid_t self = getpid();
    pid_t child = fork();
    if (child < 0) return FAIL_FORK;
    if (child == 0) {
      char c;
      close(go[1]);
      close(ready[0]);
      if (unshare(CLONE_NEWUSER)) { perror("capfuzz: unshare(CLONE_NEWUSER)"); _exit(FAIL_UNSHARE); }
      /* after the unshare, which resets it for a caller that gains capabilities there */
      die_with_parent(self);
      if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1 || c != 'g') _exit(FAIL_HANDSHAKE);
      /* A mount namespace of our own. The exec files go on a tmpfs of its own mounted on
         exec_dir (it has security.capability xattrs, and it goes away with the namespace):
         on a disk file system, making and removing thousands of files made the search for a
         free inode the largest cost of the runner. exec_dir/nosuid is bound onto itself
         MS_NOSUID: the same file system (same xattr rules), only the mount flag differs. */
      if (exec_dir) {
        snprintf(nosuid_dir, sizeof nosuid_dir, "%s/nosuid", exec_dir);
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("capfuzz", exec_dir, "tmpfs", MS_NODEV, "mode=0755") ||
            (mkdir(nosuid_dir, 0755) && errno != EEXIST) || mount(nosuid_dir, nosuid_dir, NULL, MS_BIND, NULL) ||
            mount(NULL, nosuid_dir, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID, NULL)) {
          perror("capfuzz: nosuid mount");
          _exit(FAIL_MOUNT);
        }
      }
      /* --userns -- CMD ARGS: run a command in the namespace instead of serving trials. */
      for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
          signal(SIGPIPE, SIG_DFL); /* the command starts with the runner's own choice undone */
          execvp(argv[i + 1], argv + i + 1);
          perror("capfuzz: exec");
          _exit(127);
        }
      _exit(serve());
    }
    char c;
    close(go[0]);
    close(ready[1]); /* so that a child that dies early is an end of file here, not a wait */
    if (read(ready[0], &c, 1) != 1) { waitpid(child, NULL, 0); return FAIL_HANDSHAKE; }
    char path[64], line[64];
    int full = maps_every_id();
    snprintf(line, sizeof line, full ? "0 0 4294967295\n" : "0 %u 1\n", (unsigned)geteuid());
    snprintf(path, sizeof path, "/proc/%d/uid_map", child);
    int fd = open(path, O_WRONLY);
    int ok = fd >= 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line);
    if (fd >= 0) close(fd);
    if (!full) {
      snprintf(path, sizeof path, "/proc/%d/setgroups", child);
      fd = open(path, O_WRONLY);
      if (fd >= 0) { ok = ok && write(fd, "deny", 4) == 4; close(fd); }
    }
    snprintf(line, sizeof line, full ? "0 0 4294967295\n" : "0 %u 1\n", (unsigned)getegid());
    snprintf(path, sizeof path, "/proc/%d/gid_map", child);
    fd = open(path, O_WRONLY);
    ok = ok && fd >= 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line);
    if (fd >= 0) close(fd);
    if (!ok) { fprintf(stderr, "capfuzz: cannot write the id maps of the namespace\n"); kill(child, SIGKILL); return FAIL_MAPS; }
    if (write(go[1], "g", 1) != 1) return FAIL_HANDSHAKE;
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : FAIL_CHILD;
  }
  return serve();
}
