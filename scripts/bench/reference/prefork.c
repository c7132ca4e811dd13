/* ref-prefork: the reference preforked echo server (Stevens UNP ch. 30, serv02), in C.
 *
 * scripts/compare-models measures sockserv's prefork model against this minimal design: the
 * parent opens the listener and forks N children that each block in accept() and echo one
 * connection at a time until EOF; the parent only waits for signals.
 *
 * Usage:   ref-prefork PORT [WORKERS]   (127.0.0.1; PORT 0: the kernel picks; 16 workers)
 * Try it:  build/bench/ref-prefork 7007 4 &   then   nc 127.0.0.1 7007
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/* A child: accept, serve, close, forever. Linux wakes one of the children blocked in accept()
 * per connection, so no lock around accept() is needed (UNP serv03/04 add one for old kernels). */
static void child_main(int listener) {
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
  fprintf(stderr, "listening on 127.0.0.1:%d (tcp, model=ref-prefork)\n", ntohs(addr.sin_port));
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) errx(EX_USAGE, "usage: ref-prefork PORT [WORKERS]");
  long port = number(argv[1], 0, 65535, "port");
  long workers = argc == 3 ? number(argv[2], 1, 4096, "worker count") : 16;
  int listener = listen_on(port);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE from write, not death */
  /* The parent takes its signals with sigwait() instead of handlers: blocked from here on,
   * so none is lost between forks. Each child unblocks them again: SIGTERM ends a child. */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t* children = calloc(workers, sizeof *children);
  if (children == NULL) err(EX_OSERR, "calloc");
  for (long i = 0; i < workers; i++) {
    children[i] = fork();
    if (children[i] < 0) err(EX_OSERR, "fork");
    if (children[i] == 0) {
      sigprocmask(SIG_SETMASK, &old, NULL);
      child_main(listener); /* the children share the one listening socket */
    }
  }
  int signo = 0;
  while (sigwait(&set, &signo) == 0 && signo == SIGCHLD) {
    /* A child died (it should not): reap it so it is no zombie; its slot stays empty. */
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
      for (long i = 0; i < workers; i++)
        if (children[i] == pid) children[i] = 0;
  }
  /* SIGTERM or SIGINT: the parent ends its children and waits for each. */
  for (long i = 0; i < workers; i++)
    if (children[i] > 0) kill(children[i], SIGTERM);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  free(children);
  return 0;
}
