/* ref-epoll: the reference event-loop echo server, in C: N threads, each with its own epoll
 * loop and its own SO_REUSEPORT listener on the same port (the kernel spreads connections
 * over the listeners), every socket non-blocking.
 *
 * scripts/compare-models measures sockserv's epoll model against this minimal loop.
 *
 * Usage:   ref-epoll PORT [WORKERS]   (127.0.0.1; PORT 0: the kernel picks; one loop per CPU)
 * Try it:  build/bench/ref-epoll 7007 2 &   then   nc 127.0.0.1 7007
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

/* One connection: bytes read but not yet written back wait in buf[off, len). */
struct conn {
  int fd;
  int want_out; /* waiting for EPOLLOUT (the peer reads slowly): no reading meanwhile */
  size_t off, len;
  char buf[16384];
};

static long number(const char* arg, long min, long max, const char* what) {
  char* end;
  long n = strtol(arg, &end, 10);
  if (*arg == '\0' || *end != '\0' || n < min || n > max) errx(EX_USAGE, "bad %s: %s", what, arg);
  return n;
}

static void watch(int ep, struct conn* c, int op, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) < 0) warn("epoll_ctl");
}

/* Echo on a ready connection: read once if nothing is pending, then write back what can be
 * written; what cannot waits for EPOLLOUT. Level-triggered, so unread bytes call again. */
static void serve(int ep, struct conn* c) {
  if (c->off == c->len) {
    ssize_t n = read(c->fd, c->buf, sizeof c->buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) goto done; /* EOF or error: closing also takes it out of the epoll set */
    c->off = 0;
    c->len = n;
  }
  while (c->off < c->len) {
    ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      if (!c->want_out) watch(ep, c, EPOLL_CTL_MOD, EPOLLOUT);
      c->want_out = 1;
      return;
    }
    if (w < 0) goto done;
    c->off += w;
  }
  if (c->want_out) watch(ep, c, EPOLL_CTL_MOD, EPOLLIN);
  c->want_out = 0;
  return;
done:
  close(c->fd);
  free(c);
}

/* Accepts every pending connection (the listener is non-blocking: EAGAIN ends the batch). */
static void accept_all(int ep, int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) warn("accept"); /* EMFILE: the rest wait for the next event */
      return;
    }
    struct conn* c = malloc(sizeof *c);
    if (c == NULL) {
      close(fd);
      continue;
    }
    *c = (struct conn){.fd = fd};
    watch(ep, c, EPOLL_CTL_ADD, EPOLLIN);
  }
}

static void* loop(void* arg) {
  int listener = (int)(intptr_t)arg;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) err(EX_OSERR, "epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL marks the listener */
  if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) err(EX_OSERR, "epoll_ctl");
  for (;;) {
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, -1);
    if (n < 0 && errno != EINTR) err(EX_OSERR, "epoll_wait");
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) accept_all(ep, listener);
      else serve(ep, events[i].data.ptr);
    }
  }
  return NULL;
}

/* A non-blocking listener on 127.0.0.1:port; SO_REUSEPORT lets every loop bind its own. */
static int listen_on(long* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) err(EX_OSERR, "socket");
  int on = 1;
  /* SO_REUSEADDR: restart at once even while old connections sit in TIME_WAIT. */
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) err(EX_OSERR, "SO_REUSEADDR");
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0) err(EX_OSERR, "SO_REUSEPORT");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(*port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (bind(fd, (struct sockaddr*)&addr, len) < 0) err(EX_UNAVAILABLE, "bind 127.0.0.1:%ld", *port);
  if (listen(fd, SOMAXCONN) < 0) err(EX_OSERR, "listen");
  getsockname(fd, (struct sockaddr*)&addr, &len); /* port 0: the others bind the chosen one */
  *port = ntohs(addr.sin_port);
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) errx(EX_USAGE, "usage: ref-epoll PORT [WORKERS]");
  long port = number(argv[1], 0, 65535, "port");
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  long workers = argc == 3 ? number(argv[2], 1, 4096, "worker count") : (cpus > 0 ? cpus : 1);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write: EPIPE from write, not death */
  /* Blocked before the loops start, so only sigwait() below takes SIGTERM. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  int* listeners = malloc(workers * sizeof *listeners);
  if (listeners == NULL) err(EX_OSERR, "malloc");
  for (long i = 0; i < workers; i++) listeners[i] = listen_on(&port);
  fprintf(stderr, "listening on 127.0.0.1:%ld (tcp, model=ref-epoll)\n", port);
  for (long i = 0; i < workers; i++) {
    pthread_t tid;
    int e = pthread_create(&tid, NULL, loop, (void*)(intptr_t)listeners[i]);
    if (e != 0) errx(EX_OSERR, "pthread_create: %s", strerror(e));
  }
  int signo;
  sigwait(&set, &signo);
  return 0; /* exit() ends the loops with the process */
}
