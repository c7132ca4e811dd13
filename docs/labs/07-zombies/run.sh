#!/usr/bin/env bash
# Lab 7: zombies and SIGCHLD. A fork server that never reaps, one that reaps once per signal,
# then the suite's fork model, which loops waitpid(WNOHANG) (common/models/children.cpp).
source "$(dirname "$0")/../lib.sh"
lab_need ps

CLIENTS=5

# zombies PID: how many children of PID are zombies (state Z, shown <defunct>).
zombies() {
  ps -o stat= --ppid "$1" 2>/dev/null | grep -c '^Z'
}
has_zombies() { [[ $(zombies "$1") -eq $2 ]]; }
# stopped PID: the process has really stopped (state T): kill -STOP only asks for it.
stopped() { [[ "$(ps -o stat= -p "$1" 2>/dev/null)" == T* ]]; }
# stop PID: SIGSTOP, then wait until it has taken effect, so no child ends before.
stop() {
  show kill -STOP "$1"
  lab_wait 5 stopped "$1"
}

show_children() {
  printf '$ ps -o pid,ppid,stat,cmd --ppid %s\n' "$1"
  ps -o pid,ppid,stat,cmd --ppid "$1" | sed 's/^/  /'
}

lab_cc forgetful-server "$LAB_DIR/forgetful-server.c"

say "1. A server that never calls wait(): every child that ends becomes a zombie"
lab_start NONE "$LAB_TMP/forgetful-server" none
echo "forgetful-server none: pid $NONE_pid, port $NONE"
expect "$CLIENTS clients are served, one child each" lab_open_clients "$NONE" "$CLIENTS"
lab_close_clients
lab_wait 5 has_zombies "$NONE_pid" "$CLIENTS"
show_children "$NONE_pid"
expect "all $CLIENTS children are <defunct> (state Z) after their clients left" \
  has_zombies "$NONE_pid" "$CLIENTS"

say "2. A SIGCHLD handler that reaps one child per signal"
lab_start ONCE "$LAB_TMP/forgetful-server" once
echo "forgetful-server once: pid $ONCE_pid, port $ONCE"
expect "$CLIENTS clients are served" lab_open_clients "$ONCE" "$CLIENTS"
echo "The parent is busy (we stop it with SIGSTOP) while all $CLIENTS clients leave:"
stop "$ONCE_pid"
lab_close_clients
lab_wait 5 has_zombies "$ONCE_pid" "$CLIENTS"
show_children "$ONCE_pid"
echo "$CLIENTS children ended, but a pending signal is one bit: one SIGCHLD waits."
show kill -CONT "$ONCE_pid"
lab_wait 5 has_zombies "$ONCE_pid" $((CLIENTS - 1))
sleep 0.5
show_children "$ONCE_pid"
expect "one SIGCHLD reaped one child: $((CLIENTS - 1)) zombies are left for good" \
  has_zombies "$ONCE_pid" $((CLIENTS - 1))

say "3. The fix: echo-server --model fork reaps in a loop until waitpid says none is left"
lab_start GOOD echo-server --model fork
echo "echo-server --model fork: pid $GOOD_pid, port $GOOD"
expect "$CLIENTS clients are served" lab_open_clients "$GOOD" "$CLIENTS"
stop "$GOOD_pid"
lab_close_clients
lab_wait 5 has_zombies "$GOOD_pid" "$CLIENTS"
show_children "$GOOD_pid"
show kill -CONT "$GOOD_pid"
lab_wait 5 has_zombies "$GOOD_pid" 0
show_children "$GOOD_pid"
expect "the same single SIGCHLD, and every child is reaped: no zombie left" \
  has_zombies "$GOOD_pid" 0
expect "and the server still serves" lab_open_clients "$GOOD" "$CLIENTS"
lab_close_clients

say "4. A zombie's parent dies: the zombies go to init (or a subreaper), which reaps them"
orphans=$(ps -o pid= --ppid "$NONE_pid" | xargs)
lab_stop NONE
gone() { ! ps -o pid= -p "${orphans// /,}" >/dev/null 2>&1; }
if lab_wait 3 gone; then
  echo "forgetful-server none stopped; its zombies ($orphans) were inherited and reaped."
else
  echo "note: PID 1 here does not reap orphans (a container without an init), so they stay:"
  ps -o pid,ppid,stat,cmd -p "${orphans// /,}" | sed 's/^/  /'
fi

lab_end
