/* ref-thread: the reference thread-per-connection echo server (Stevens UNP ch. 30, serv06), in C.
 *
 * scripts/compare-models measures sockserv's thread model against this minimal loop: the
 * main thread accepts, a new detached thread echoes one connection until EOF.
 *
 * Usage:   ref-thread PORT        (127.0.0.1; PORT 0 lets the kernel pick, printed on stderr)
 * Try it:  build/bench/ref-thread 7007 &   then   nc 127.0.0.1 7007
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

static volatile sig_atomic_t stopping;
static int listener = -1;

static void on_sigterm(int signo) {
  (void)signo;
  stopping = 1;
  /* Wakes an accept() that is blocked or about to block, whichever thread got the signal
   * (Linux fails accept on a shut-down listener). */
  shutdown(listener, SHUT_RDWR);
}

/* str_echo: what arrives goes back, every byte (write may take only part), until EOF. */
static void* echo(void* arg) {
  int fd = (int)(intptr_t)arg;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t done = 0;
    while (done < n) {
      ssize_t w = write(fd, buf + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) break;
      done += w;
    }
    if (done < n) break;
  }
  close(fd);
  return NULL;
}

static int listen_on(const char* arg) {
  char* end;
  long port = strtol(arg, &end, 10);
  if (*arg == '\0' || *end != '\0' || port < 0 || port > 65535) errx(EX_USAGE, "bad port: %s", arg);
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
  fprintf(stderr, "listening on 127.0.0.1:%d (tcp, model=ref-thread)\n", ntohs(addr.sin_port));
  return fd;
}

int main(int argc, char** argv) {
  if (argc != 2) errx(EX_USAGE, "usage: ref-thread PORT");
  listener = listen_on(argv[1]);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE from write, not death */
  /* No SA_RESTART: a signal interrupts accept() so the loop sees it. */
  sigaction(SIGTERM, &(struct sigaction){.sa_handler = on_sigterm}, NULL);
  sigaction(SIGINT, &(struct sigaction){.sa_handler = on_sigterm}, NULL);
  /* Detached: nobody joins a connection's thread; returning from main ends them all. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  while (!stopping) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EMFILE || errno == ENFILE) nanosleep(&(struct timespec){0, 100000000}, NULL);
      else if (errno != EINTR && errno != ECONNABORTED && !stopping) warn("accept");
      continue;
    }
    pthread_t tid;
    int e = pthread_create(&tid, &attr, echo, (void*)(intptr_t)conn);
    if (e != 0) {
      warnx("pthread_create: %s", strerror(e)); /* out of threads: this client only is closed */
      close(conn);
    }
  }
  return 0; /* exit() ends every connection's thread with the process */
}
