/* The process a container runtime started, as the kernel holds it: /proc/self/status (ids,
 * groups, the five capability sets, NoNewPrivs) and the securebits, printed to stdout.
 * capgate verify --container runs it as the entrypoint of a throwaway container and compares
 * every field with capgate's prediction. Static, so that an image needs nothing else. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void) {
  char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0) {
    perror("report: /proc/self/status");
    return 3;
  }
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) != n) return 4;
  close(fd);
  int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  printf("Securebits:\t%d\n", bits);
  return 0;
}
