/* ref-prethread: the reference prethreaded echo server (Stevens UNP ch. 30, serv07), in C.
 *
 * scripts/compare-models measures sockserv's prethread model against this minimal design: N
 * threads each block in accept() on the one listener and echo one connection at a time
 * until EOF; the main thread only waits for SIGTERM.
 *
 * Usage:   ref-prethread PORT [WORKERS]   (127.0.0.1; PORT 0: the kernel picks; 16 threads)
 * Try it:  build/bench/ref-prethread 7007 4 &   then   nc 127.0.0.1 7007
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static long number(const char* arg, long min, long max, const char* what) {
  char* end;
  long n = strtol(arg, &end, 10);
  if (*arg == '\0' || *end != '\0' || n < min || n > max) errx(EX_USAGE, "bad %s: %s", what, arg);
  return n;
}

/* str_echo: what arrives goes back, every byte (write may take only part), until EOF. */
static void echo(int fd) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(fd, buf + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return;
      done += w;
    }
  }
}

/* A worker: accept, serve, close, forever. Linux wakes one thread blocked in accept() per
 * connection, so serv07's mutex around accept() is not needed here. */
static void* worker(void* arg) {
  int listener = (int)(intptr_t)arg;
  for (;;) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EMFILE || errno == ENFILE) nanosleep(&(struct timespec){0, 100000000}, NULL);
      else if (errno != EINTR && errno != ECONNABORTED) warn("accept");
      continue;
    }
    echo(conn);
    close(conn);
  }
  return NULL;
}

static int listen_on(long port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) err(EX_OSERR, "socket");
  /* SO_REUSEADDR: restart at once even while old connections sit in TIME_WAIT. */
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) err(EX_OSERR, "SO_REUSEADDR");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr*)&addr, len) < 0) err(EX_UNAVAILABLE, "bind 127.0.0.1:%ld", port);
  if (listen(fd, SOMAXCONN) < 0) err(EX_OSERR, "listen");
  getsockname(fd, (struct sockaddr*)&addr, &len); /* port 0: which one the kernel chose */
  fprintf(stderr, "listening on 127.0.0.1:%d (tcp, model=ref-prethread)\n", ntohs(addr.sin_port));
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) errx(EX_USAGE, "usage: ref-prethread PORT [WORKERS]");
  long port = number(argv[1], 0, 65535, "port");
  long workers = argc == 3 ? number(argv[2], 1, 4096, "worker count") : 16;
  int listener = listen_on(port);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE from write, not death */
  /* Blocked before the threads start, so they inherit the mask and only sigwait() below
   * takes SIGTERM: no handler, no interrupted accept() in the workers. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  for (long i = 0; i < workers; i++) {
    pthread_t tid;
    int e = pthread_create(&tid, NULL, worker, (void*)(intptr_t)listener);
    if (e != 0) errx(EX_OSERR, "pthread_create: %s", strerror(e));
  }
  int signo;
  sigwait(&set, &signo);
  return 0; /* exit() ends the workers with the process */
}
