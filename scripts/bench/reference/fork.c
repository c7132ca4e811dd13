/* ref-fork: the reference fork-per-connection echo server (Stevens UNP ch. 30, serv01), in C.
 *
 * scripts/compare-models measures sockserv's fork model against this minimal loop: the
 * parent accepts, a new child echoes one connection until EOF and exits.
 *
 * Usage:   ref-fork PORT          (127.0.0.1; PORT 0 lets the kernel pick, printed on stderr)
 * Try it:  build/bench/ref-fork 7007 &   then   nc 127.0.0.1 7007
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

enum { kMaxChildren = 1024 };

static volatile sig_atomic_t stopping;
static int listener = -1;
/* Live children (0 = free slot): the parent kills them on SIGTERM. Written by main() with
 * SIGCHLD blocked, cleared by the SIGCHLD handler. */
static pid_t children[kMaxChildren];

static void on_sigterm(int signo) {
  (void)signo;
  stopping = 1;
  /* Wakes an accept() that is blocked or about to block: a flag alone would be missed if the
   * signal came just before accept() (Linux fails accept on a shut-down listener). */
  shutdown(listener, SHUT_RDWR);
}

static void on_sigchld(int signo) {
  (void)signo;
  int saved = errno; /* waitpid must not change errno under the interrupted code */
  pid_t pid;
  /* One SIGCHLD may stand for many exited children (signals do not queue): reap them all. */
  while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
    for (int i = 0; i < kMaxChildren; i++)
      if (children[i] == pid) children[i] = 0;
  errno = saved;
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
  fprintf(stderr, "listening on 127.0.0.1:%d (tcp, model=ref-fork)\n", ntohs(addr.sin_port));
  return fd;
}

int main(int argc, char** argv) {
  if (argc != 2) errx(EX_USAGE, "usage: ref-fork PORT");
  listener = listen_on(argv[1]);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE from write, not death */
  /* No SA_RESTART: a signal interrupts accept() so the loop sees it. */
  sigaction(SIGTERM, &(struct sigaction){.sa_handler = on_sigterm}, NULL);
  sigaction(SIGINT, &(struct sigaction){.sa_handler = on_sigterm}, NULL);
  sigaction(SIGCHLD, &(struct sigaction){.sa_handler = on_sigchld}, NULL);
  /* Held across fork(): SIGCHLD (see below) and the stop signals, which a child must not take
   * with the parent's handler before it has put back the default (it would set its own
   * `stopping` and go on serving, and the parent would wait for it forever). */
  sigset_t held, old;
  sigemptyset(&held);
  sigaddset(&held, SIGCHLD);
  sigaddset(&held, SIGTERM);
  sigaddset(&held, SIGINT);
  while (!stopping) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EMFILE || errno == ENFILE) nanosleep(&(struct timespec){0, 100000000}, NULL);
      else if (errno != EINTR && errno != ECONNABORTED && !stopping) warn("accept");
      continue;
    }
    /* Blocked so that a child exiting at once is recorded before the handler looks for it. */
    sigprocmask(SIG_BLOCK, &held, &old);
    int slot = 0;
    while (slot < kMaxChildren && children[slot] != 0) slot++;
    pid_t pid = slot < kMaxChildren ? fork() : -1;
    if (pid == 0) {
      /* Child: SIGTERM from the parent ends it at once, whatever it is blocked in (one that
       * came already is delivered by the unblocking, with the default action). */
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      sigprocmask(SIG_SETMASK, &old, NULL);
      close(listener); /* child: the parent keeps accepting; this one serves `conn` only */
      listener = -1;
      echo(conn);
      _exit(0); /* _exit: no stdio flush or atexit handlers of the parent's */
    }
    if (pid > 0) children[slot] = pid;
    else warn("fork (or more than %d children)", kMaxChildren);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(conn); /* parent: the child has its copy; without this the client never sees EOF */
  }
  /* SIGTERM: stop the children too, and wait for each so none outlives the server. */
  sigprocmask(SIG_BLOCK, &held, NULL);
  for (int i = 0; i < kMaxChildren; i++)
    if (children[i] != 0) kill(children[i], SIGTERM);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  return 0;
}
