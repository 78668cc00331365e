// capfuzz: the kernel side of capgate's differential tests. Test-only; not part of the API.
//
// Reads trials from stdin and runs each on a fresh thread (a new thread copies the creator's
// credentials, and the main thread never changes its own), so every trial starts from full
// capabilities in a user namespace whose uid map covers every id. Records use the engine's
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
#include <sys/xattr.h>
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
/* Held while an exec file is open for writing and across fork(): otherwise a child forked by
   the other trial thread could inherit the write fd and the exec would fail with ETXTBSY. */
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* The calling thread's state, from the kernel: /proc/thread-self/status holds the five sets,
   no_new_privs and the four uids in one read (the per-thread fd is opened by the trial thread
   itself); securebits come from prctl. */
static __thread int status_fd = -1;

static uint64_t field_hex(const char *buf, const char *name) {
  const char *p = strstr(buf, name);
  return p ? strtoull(p + strlen(name), NULL, 16) : ~0ULL;
}

static void read_state(state_t *s, uint32_t model_tid) {
  char buf[4096];
  if (status_fd < 0) status_fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
  ssize_t n = status_fd < 0 ? -1 : pread(status_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) { fprintf(stderr, "capfuzz: cannot read /proc/thread-self/status\n"); exit(11); }
  buf[n] = 0;
  s->inheritable = field_hex(buf, "\nCapInh:");
  s->permitted = field_hex(buf, "\nCapPrm:");
  s->effective = field_hex(buf, "\nCapEff:");
  s->bounding = field_hex(buf, "\nCapBnd:");
  s->ambient = field_hex(buf, "\nCapAmb:");
  const char *nnp = strstr(buf, "\nNoNewPrivs:");
  s->flags = nnp && strtoul(nnp + 12, NULL, 10) == 1 ? FLAG_NO_NEW_PRIVS : 0;
  const char *uid = strstr(buf, "\nUid:");
  if (!uid) exit(12);
  char *q;
  s->ruid = (uint32_t)strtoul(uid + 5, &q, 10);
  s->euid = (uint32_t)strtoul(q, &q, 10);
  s->suid = (uint32_t)strtoul(q, &q, 10);
  s->fsuid = (uint32_t)strtoul(q, &q, 10);
  s->securebits = (uint32_t)syscall(SYS_prctl, PR_GET_SECUREBITS, 0UL, 0UL, 0UL, 0UL);
  s->tid = model_tid;
}

static int set_sets(uint64_t e, uint64_t p, uint64_t i) {
  struct __user_cap_data_struct d[2] = {
    { (uint32_t)e, (uint32_t)p, (uint32_t)i }, { (uint32_t)(e >> 32), (uint32_t)(p >> 32), (uint32_t)(i >> 32) } };
  uint32_t v;
  return (int)raw_capset(_LINUX_CAPABILITY_VERSION_3, 0, d, &v);
}

/* From full root in the namespace to the trial's start state; 0 on success. */
static int setup(const state_t *s) {
  uint64_t full = last_cap >= 63 ? ~0ULL : ((1ULL << (last_cap + 1)) - 1);
  if (set_sets(full, full, s->inheritable)) return 1;
  for (int c = 0; c <= last_cap; c++)
    if ((s->ambient >> c) & 1)
      if (syscall(SYS_prctl, PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0UL, 0UL)) return 2;
  /* No fix-up while the ids move, so the sets stay as they are. */
  if (syscall(SYS_prctl, PR_SET_SECUREBITS, (unsigned long)SECBIT_NO_SETUID_FIXUP, 0UL, 0UL, 0UL)) return 3;
  if (syscall(SYS_setresuid, s->ruid, s->euid, s->suid)) return 4;
  syscall(SYS_setfsuid, s->fsuid);
  for (int c = 0; c <= last_cap; c++)
    if (!((s->bounding >> c) & 1))
      if (syscall(SYS_prctl, PR_CAPBSET_DROP, (unsigned long)c, 0UL, 0UL, 0UL)) return 5;
  if (syscall(SYS_prctl, PR_SET_SECUREBITS, (unsigned long)s->securebits, 0UL, 0UL, 0UL)) return 6;
  if ((s->flags & FLAG_NO_NEW_PRIVS) && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL)) return 7;
  if (set_sets(s->effective, s->permitted, s->inheritable)) return 8;
  state_t check;
  read_state(&check, s->tid);
  if (check.permitted != s->permitted || check.effective != s->effective || check.inheritable != s->inheritable ||
      check.bounding != s->bounding || check.ambient != s->ambient || check.securebits != s->securebits ||
      check.ruid != s->ruid || check.euid != s->euid || check.suid != s->suid || check.fsuid != s->fsuid ||
      check.flags != (s->flags & FLAG_NO_NEW_PRIVS))
    return 9;
  return 0;
}

typedef struct {
  const uint8_t *state;
  const uint8_t *ops;
  uint32_t nops;
  uint8_t *out; /* 8-byte trial header + nops * STEP_SIZE */
  char **paths; /* per op: the file of an execve op, else NULL */
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
  while (n) { ssize_t r = write(fd, p, n); if (r <= 0) _exit(3); p += r; n -= (size_t)r; }
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
static void exec_record(uint8_t *rec, int32_t ret, int32_t err, uint32_t secure, uint32_t model_tid) {
  memset(rec, 0, STEP_SIZE);
  uint32_t flags = secure ? STEPF_SECURE : 0;
  memcpy(rec + SP_RET, &ret, 4); memcpy(rec + SP_ERRNO, &err, 4); memcpy(rec + SP_FLAGS, &flags, 4);
  state_t s;
  read_state(&s, model_tid);
  encode_state(rec + SP_STATE, &s);
}

/* Runs ops in order. An execve runs in a forked child; the new program (this runner, in its
   --report mode) reports the exec step and runs the remaining ops itself, so a sequence can go
   on after an exec, through further execs. If the exec fails, the child reports the failure
   and this process goes on with the remaining ops. */
static void run_ops(const uint8_t *ops, uint32_t n, uint32_t model_tid, char **paths, sink_t *sk) {
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *op = ops + (size_t)i * OP_SIZE;
    uint8_t rec[STEP_SIZE];
    if (u32at(op + OP_KIND) != OPK_EXECVE) { run_op(op, model_tid, rec); sink_put(sk, rec); continue; }
    if (!paths || !paths[i]) { memset(rec, 0, STEP_SIZE); int32_t r = -1, e = ENOSYS; memcpy(rec + SP_RET, &r, 4); memcpy(rec + SP_ERRNO, &e, 4); sink_put(sk, rec); continue; }
    int res[2] = { -1, -1 }, cont[2];
    pthread_mutex_lock(&fd_lock);
    if (pipe2(cont, O_CLOEXEC) || (sk->mem && pipe2(res, O_CLOEXEC))) exit(16);
    pid_t child = fork();
    if (child == 0) {
      status_fd = -1; /* the inherited fd names the parent thread's status file */
      if (dup2(sk->mem ? res[1] : sk->fd, 3) < 0 || dup2(cont[0], 4) < 0) _exit(126);
      char *argv[] = { paths[i], "--report", NULL };
      char *envp[] = { NULL };
      execve(paths[i], argv, envp);
      int e = errno;
      exec_record(rec, -1, e, 0, model_tid); /* a failed exec leaves the state as it was */
      write_fd(3, rec, STEP_SIZE);
      _exit(127);
    }
    pthread_mutex_unlock(&fd_lock);
    if (child < 0) exit(17);
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
    int status;
    if (sk->mem) {
      close(res[1]);
      uint8_t *start = sk->mem;
      size_t room = (size_t)(n - i) * STEP_SIZE, got = 0;
      ssize_t r;
      while (got < room && (r = read(res[0], start + got, room - got)) > 0) got += (size_t)r;
      close(res[0]);
      waitpid(child, &status, 0);
      if (got < STEP_SIZE) exit(18);
      int32_t first;
      memcpy(&first, start, 4);
      sk->mem = start + got;
      if (first != -1) {
        if (got != room) exit(19); /* the descendants ran every remaining op */
        return;
      }
    } else {
      waitpid(child, &status, 0);
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127)) return;
    }
    /* the exec failed: its record is written; go on here */
  }
}

/* The file an execve op runs: a copy of this program with the op's owner, setuid bit and
   security.capability xattr. Made while the trial thread still has every capability; chown
   first, as it clears file capabilities and the setuid bit. Returns a malloc'd path. */
static char *prepare_file(const uint8_t *op) {
  uint32_t owner = u32at(op + OP_A), xver = u32at(op + OP_B), flags = u32at(op + OP_C), rootid = u32at(op + OP_D);
  uint64_t fp = u64at(op + OP_X0), fi = u64at(op + OP_X1);
  /* a file "on a nosuid mount" is made on one: the runner's own bind of exec_dir/nosuid */
  const char *dir = (flags & FILE_NOSUID) ? nosuid_dir : exec_dir;
  if (!dir[0]) { fprintf(stderr, "capfuzz: no nosuid mount (it needs --userns)\n"); exit(13); }
  char *path = malloc(strlen(dir) + 32);
  sprintf(path, "%s/x%u", dir, atomic_fetch_add(&file_counter, 1));
  pthread_mutex_lock(&fd_lock);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (fd < 0 || write(fd, exe_bytes, exe_len) != (ssize_t)exe_len) { perror("capfuzz: exec file"); exit(13); }
  if (fchown(fd, owner, 0) || fchmod(fd, (flags & FILE_SETUID) ? 04755 : 0755)) { perror("capfuzz: chown/chmod"); exit(13); }
  if (flags & FILE_HAS_CAPS) {
    uint32_t v[6];
    uint32_t magic = (xver == 3 ? 0x03000000u : 0x02000000u) | ((flags & FILE_EFFECTIVE) ? 1u : 0u);
    v[0] = magic; v[1] = (uint32_t)fp; v[2] = (uint32_t)fi; v[3] = (uint32_t)(fp >> 32); v[4] = (uint32_t)(fi >> 32); v[5] = rootid;
    if (fsetxattr(fd, "security.capability", v, xver == 3 ? 24 : 20, 0)) { perror("capfuzz: setxattr security.capability"); exit(14); }
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
    if (sfd < 0 || write(sfd, line, (size_t)len) != len) { perror("capfuzz: script file"); exit(13); }
    if (fchown(sfd, 0, 0) || fchmod(sfd, 04755)) { perror("capfuzz: script chown/chmod"); exit(13); }
    uint32_t v[5] = { 0x02000001u, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu };
    if (fsetxattr(sfd, "security.capability", v, 20, 0)) { perror("capfuzz: script security.capability"); exit(14); }
    close(sfd);
    free(path);
    path = script;
  }
  pthread_mutex_unlock(&fd_lock);
  return path;
}

/* A trial thread starts where its creator, the group's template thread, stands: a new thread
   copies its creator's credentials, so the start state is set up once per group. */
static void *trial_thread(void *arg) {
  trial_t *t = arg;
  state_t s;
  decode_state(t->state, &s);
  sink_t sk = { t->out + 8, -1 };
  run_ops(t->ops, t->nops, s.tid, t->paths, &sk);
  if (status_fd >= 0) { close(status_fd); status_fd = -1; }
  return NULL;
}

typedef struct { trial_t *trials; uint32_t count; } group_t;

/* One start state: prepare the exec files (while every capability is still here), bring this
   thread to the state, then run each trial of the group on a fresh thread made from this one. */
static void *template_thread(void *arg) {
  group_t *g = arg;
  for (uint32_t k = 0; k < g->count; k++) {
    trial_t *t = &g->trials[k];
    t->paths = calloc(t->nops ? t->nops : 1, sizeof *t->paths);
    for (uint32_t i = 0; i < t->nops; i++)
      if (u32at(t->ops + (size_t)i * OP_SIZE + OP_KIND) == OPK_EXECVE) t->paths[i] = prepare_file(t->ops + (size_t)i * OP_SIZE);
  }
  state_t s;
  decode_state(g->trials[0].state, &s);
  uint32_t status = (uint32_t)setup(&s);
  for (uint32_t k = 0; k < g->count; k++) {
    trial_t *t = &g->trials[k];
    memcpy(t->out, &status, 4);
    memcpy(t->out + 4, &t->nops, 4);
    if (status == 0) {
      pthread_t th;
      if (pthread_create(&th, NULL, trial_thread, t)) exit(5);
      pthread_join(th, NULL);
    }
    for (uint32_t i = 0; i < t->nops; i++) if (t->paths[i]) { unlink(t->paths[i]); free(t->paths[i]); }
    free(t->paths);
    t->paths = NULL;
  }
  if (status_fd >= 0) { close(status_fd); status_fd = -1; }
  return NULL;
}

static int read_all(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n) { ssize_t r = read(0, p, n); if (r <= 0) return -1; p += r; n -= (size_t)r; }
  return 0;
}
static void write_all(const void *buf, size_t n) {
  const uint8_t *p = buf;
  while (n) { ssize_t r = write(1, p, n); if (r <= 0) exit(3); p += r; n -= (size_t)r; }
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
  if (exec_dir && load_self()) return 15;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (!f || fscanf(f, "%d", &last_cap) != 1) return 4;
  fclose(f);
  uint32_t count;
  if (read_all(&count, 4)) return 2;
  trial_t *trials = calloc(count ? count : 1, sizeof *trials);
  for (uint32_t k = 0; k < count; k++) {
    uint32_t nops;
    if (read_all(&nops, 4)) return 2;
    size_t in = STATE_SIZE + (size_t)nops * OP_SIZE;
    uint8_t *buf = malloc(in + 8 + (size_t)nops * STEP_SIZE);
    if (read_all(buf, in)) return 2;
    trials[k] = (trial_t){ buf, buf + STATE_SIZE, nops, buf + in, NULL };
  }
  /* Consecutive trials with the same start state form a group, set up once. */
  group_t *groups = calloc(count ? count : 1, sizeof *groups);
  uint32_t ngroups = 0;
  for (uint32_t k = 0; k < count; k++) {
    if (ngroups && memcmp(groups[ngroups - 1].trials[0].state, trials[k].state, STATE_SIZE) == 0) groups[ngroups - 1].count++;
    else groups[ngroups++] = (group_t){ &trials[k], 1 };
  }
  enum { MAX_PARALLEL = 16 };
  /* Template threads at a time (CAPFUZZ_PARALLEL, default 2: this project's machines have 2 cores). */
  const char *par = getenv("CAPFUZZ_PARALLEL");
  int parallel = par ? atoi(par) : 2;
  if (parallel < 1) parallel = 1;
  if (parallel > MAX_PARALLEL) parallel = MAX_PARALLEL;
  for (uint32_t g = 0; g < ngroups; g += (uint32_t)parallel) {
    pthread_t th[MAX_PARALLEL];
    uint32_t n = ngroups - g < (uint32_t)parallel ? ngroups - g : (uint32_t)parallel;
    for (uint32_t k = 0; k < n; k++) if (pthread_create(&th[k], NULL, template_thread, &groups[g + k])) return 5;
    for (uint32_t k = 0; k < n; k++) pthread_join(th[k], NULL);
  }
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

/* --userns: serve inside a new user namespace whose uid and gid maps cover every id. Real root
   writes the maps of a child from outside, as newuidmap would; others get uid 0 alone. */
int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN); /* a pipe whose reader is gone is an error to handle, not a reason to die */
  /* run directly: argv = { file, "--report" }; as a script's interpreter the kernel passes
     { interpreter, script, "--report" } */
  if ((argc > 1 && strcmp(argv[1], "--report") == 0) || (argc > 2 && strcmp(argv[2], "--report") == 0)) {
    /* Exec'd by an execve step: report this program's state as it starts (fd 3), then run the
       rest of the sequence, read from fd 4, reporting each step on fd 3 too. */
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    if (!f || fscanf(f, "%d", &last_cap) != 1) return 4;
    fclose(f);
    size_t cap = 1 << 16, len = 0;
    uint8_t *in = malloc(cap);
    ssize_t r;
    while ((r = read(4, in + len, cap - len)) > 0) { len += (size_t)r; if (len == cap) in = realloc(in, cap *= 2); }
    close(4);
    if (len < 8) return 20;
    uint32_t model_tid = u32at(in), rest = u32at(in + 4);
    const uint8_t *ops = in + 8;
    const uint8_t *q = ops + (size_t)rest * OP_SIZE;
    char **paths = calloc(rest ? rest : 1, sizeof *paths);
    for (uint32_t k = 0; k < rest; k++) {
      uint32_t plen = u32at(q); q += 4;
      if (plen) { paths[k] = strndup((const char *)q, plen); q += plen; }
    }
    uint8_t rec[STEP_SIZE];
    exec_record(rec, 0, 0, (uint32_t)getauxval(AT_SECURE), model_tid);
    write_fd(3, rec, STEP_SIZE);
    sink_t sk = { NULL, 3 };
    run_ops(ops, rest, model_tid, paths, &sk);
    return 0;
  }
  if (argc > 4 && strcmp(argv[1], "--seccomp-deny") == 0 && strcmp(argv[3], "--") == 0) return seccomp_deny(argv[2], argv + 4);
  for (int i = 1; i + 1 < argc; i++) if (strcmp(argv[i], "--dir") == 0) exec_dir = argv[i + 1];
  if (argc > 1 && strcmp(argv[1], "--userns") == 0) {
    int go[2], ready[2];
    if (pipe(go) || pipe(ready)) return 6;
    pid_t child = fork();
    if (child < 0) return 6;
    if (child == 0) {
      char c;
      if (unshare(CLONE_NEWUSER)) { perror("capfuzz: unshare(CLONE_NEWUSER)"); _exit(7); }
      if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1 || c != 'g') _exit(8);
      /* A mount namespace of our own, with exec_dir/nosuid bound onto itself MS_NOSUID: the
         same file system as exec_dir (same xattr rules), only the mount flag differs. */
      if (exec_dir) {
        snprintf(nosuid_dir, sizeof nosuid_dir, "%s/nosuid", exec_dir);
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            (mkdir(nosuid_dir, 0755) && errno != EEXIST) || mount(nosuid_dir, nosuid_dir, NULL, MS_BIND, NULL) ||
            mount(NULL, nosuid_dir, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID, NULL)) {
          perror("capfuzz: nosuid mount");
          _exit(21);
        }
      }
      /* --userns -- CMD ARGS: run a command in the namespace instead of serving trials. */
      for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc) {
          execvp(argv[i + 1], argv + i + 1);
          perror("capfuzz: exec");
          _exit(127);
        }
      _exit(serve());
    }
    char c;
    if (read(ready[0], &c, 1) != 1) return 8;
    char path[64], line[64];
    int full = geteuid() == 0;
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
    if (!ok) { fprintf(stderr, "capfuzz: cannot write the id maps of the namespace\n"); kill(child, 9); return 9; }
    if (write(go[1], "g", 1) != 1) return 8;
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 10;
  }
  return serve();
}
