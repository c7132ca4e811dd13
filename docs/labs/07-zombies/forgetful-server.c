/* forgetful-server: a fork-per-connection echo server that gets reaping wrong, on purpose.
 *
 *   forgetful-server none   never calls wait(): every finished child stays a zombie
 *   forgetful-server once   a SIGCHLD handler that reaps ONE child per signal: when several
 *                           children end while the signal is pending, the rest stay zombies
 *
 * Lab 7 (docs/labs/07-zombies). Listens on 127.0.0.1, port 0 (the kernel picks one), and
 * prints "listening on 127.0.0.1:PORT (tcp)" on stderr as the suite's servers do. The correct
 * version is the suite's own fork model: common/models/children.cpp, Children::reap().
 * Try it:  ./forgetful-server none & nc 127.0.0.1 PORT   then   ps -o pid,stat,cmd --ppid PID
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  _exit(1);
}

/* The bug of "once": one wait per signal. Signals do not queue: five children that end
 * while SIGCHLD is already pending leave ONE pending SIGCHLD, so four are never reaped. */
static void reap_one(int signo) {
  (void)signo;
  int saved = errno;
  (void)waitpid(-1, NULL, WNOHANG);
  errno = saved;
}

static void echo(int fd) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (write(fd, buf, (size_t)n) != n) return;
  }
}

int main(int argc, char **argv) {
  if (argc != 2 || (strcmp(argv[1], "none") != 0 && strcmp(argv[1], "once") != 0)) {
    fprintf(stderr, "usage: forgetful-server none|once\n");
    return 64;
  }
  if (strcmp(argv[1], "once") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_one;
    sa.sa_flags = SA_RESTART; /* accept() carries on after the handler */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0) die("sigaction");
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind 127.0.0.1:0");
  if (listen(listener, 16) < 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
  fprintf(stderr, "forgetful-server[%d]: listening on 127.0.0.1:%d (tcp, reaping=%s)\n",
          (int)getpid(), ntohs(addr.sin_port), argv[1]);
  for (;;) {
    int conn = accept(listener, NULL, NULL);
    if (conn < 0) {
      if (errno == EINTR) continue;
      die("accept");
    }
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(listener); /* the child serves one client, the parent keeps accepting */
      echo(conn);
      _exit(0); /* and now it is a zombie until its parent waits for it */
    }
    close(conn); /* the parent's copy: without this the client never sees EOF */
  }
}
