#!/usr/bin/env bash
# Lab 12: inetd and systemd. echo-server started by systemd-socket-activate with Accept=yes (a
# process per connection) and Accept=no (one process, given the listening socket), by
# openbsd-inetd (nowait, and wait: its server exits when idle and inetd takes the port back)
# and by xinetd, each on 127.0.0.1 with its own config file in a temporary directory. Then
# fd3-echo.py, written for Accept=no only, run with Accept=yes.
source "$(dirname "$0")/../lib.sh"
# ip and inetd live in /usr/sbin, which an ordinary user's PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
lab_need systemd-socket-activate inetd ss ps "$LAB_PYTHON"

# servers PID: the echo-server processes that are PID itself or its children.
servers() {
  { ps -o pid=,comm= -p "$1"; ps -o pid=,comm= --ppid "$1"; } 2>/dev/null | grep -c 'echo-server'
}
show_tree() {
  printf '$ ps -o pid,ppid,cmd -p %s --ppid %s\n' "$1" "$1"
  ps -o pid,ppid,cmd -p "$1" --ppid "$1" | sed 's/^/  /'
}
# serves PORT WHAT N PID: two clients at once are echoed, by N echo-server processes under PID.
serves() {
  local port=$1 what=$2 n=$3 pid=$4
  # Up to 10 s for each echo: a server started on the first connection may take seconds.
  expect "$what: two clients at once, both echoed" lab_open_clients "$port" 2 10
  show_tree "$pid"
  expect "$what: $n echo-server process(es) for the two connections" test "$(servers "$pid")" -eq "$n"
  lab_close_clients
}

# stop_with_children VAR: stops a supervisor started with lab_bg VAR, and then the servers it
# started: inetd and xinetd give each a session of its own, so stopping the supervisor's
# process group does not reach them. By PID, as recorded before the supervisor stopped.
stop_with_children() {
  local pid_var="${1}_pid" kids k
  kids=$(ps -o pid= --ppid "${!pid_var}" | xargs)
  lab_stop "$1"
  for k in $kids; do kill -TERM "$k" 2>/dev/null; done
  # Gone, or a zombie waiting for whoever inherited it: either way no longer running.
  gone() { local k; for k in $kids; do [[ "$(ps -o stat= -p "$k")" == [^Z]* ]] && return 1; done; return 0; }
  lab_wait 3 gone || for k in $kids; do kill -KILL "$k" 2>/dev/null; done
}

ECHO="$(lab_bin)/echo-server"

say "1. systemd-socket-activate --accept (Accept=yes): a new process for every connection"
lab_free_port P1
printf '$ systemd-socket-activate -l 127.0.0.1:%s --accept echo-server\n' "$P1"
lab_bg YES systemd-socket-activate -l "127.0.0.1:$P1" --accept "$ECHO"
lab_wait 10 lab_listening "$P1" || lab_fail "systemd-socket-activate listens on $P1"
serves "$P1" "Accept=yes" 2 "$YES_pid"
stop_with_children YES

say "2. systemd-socket-activate without --accept (Accept=no): one process gets the listener"
lab_free_port P2
printf '$ systemd-socket-activate -l 127.0.0.1:%s echo-server --model thread\n' "$P2"
lab_bg NO systemd-socket-activate -l "127.0.0.1:$P2" "$ECHO" --model thread
lab_wait 10 lab_listening "$P2" || lab_fail "systemd-socket-activate listens on $P2"
serves "$P2" "Accept=no" 1 "$NO_pid"
expect_output 'socket from systemd' "$NO_log" "echo-server says where its socket came from"
lab_stop NO

say "3. openbsd-inetd: 'nowait' is Accept=yes, 'wait' hands the listener over (Accept=no)"
lab_free_port P3
lab_free_port P4
user=$(id -un)
printf '127.0.0.1:%s\tstream\ttcp\tnowait\t%s\t%s\techo-server --inetd\n' "$P3" "$user" "$ECHO" >"$LAB_TMP/inetd.conf"
printf '127.0.0.1:%s\tstream\ttcp\twait\t%s\t%s\techo-server --inetd --model thread --exit-idle 5\n' \
  "$P4" "$user" "$ECHO" >>"$LAB_TMP/inetd.conf"
echo "\$ cat inetd.conf"
sed 's/^/  /' "$LAB_TMP/inetd.conf"
printf '$ inetd -d inetd.conf\n'
lab_bg INETD inetd -d "$LAB_TMP/inetd.conf"
lab_wait 10 lab_listening "$P4" || lab_fail "inetd listens on $P3 and $P4"
serves "$P3" "inetd nowait" 2 "$INETD_pid"
serves "$P4" "inetd wait" 1 "$INETD_pid"
# The wait server, its clients gone, exits after --exit-idle 5; inetd then takes the port back.
wait_server=$(ps -o pid= --ppid "$INETD_pid" | xargs)
started=$(date +%s%N)
no_wait_server() { [[ -z "$(ps -o pid= --ppid "$INETD_pid")" ]]; }
lab_wait 10 no_wait_server
waited=$((($(date +%s%N) - started) / 1000000))
echo "  the wait server ($wait_server) exited $waited ms after its last client left"
expect "inetd wait: the server exits about 5 s after its last client (--exit-idle 5)" \
  test "$waited" -ge 4000 -a "$waited" -lt 9000
expect "inetd wait: inetd listens again and starts a new server for the next client" \
  lab_open_clients "$P4" 1 10
lab_close_clients
stop_with_children INETD

say "4. xinetd: the same service in xinetd's syntax"
XINETD="${SOCKSERV_PEERS:-$LAB_ROOT/build/peers}/xinetd/usr/sbin/xinetd"
if [[ ! -x "$XINETD" ]]; then
  echo "  (skipped: no xinetd at $XINETD; scripts/fetch-peers unpacks it there, as Debian's"
  echo "   xinetd and openbsd-inetd packages conflict)"
else
  lab_free_port P5
  cat >"$LAB_TMP/xinetd.conf" <<CONF
defaults
{
	log_type	= FILE $LAB_TMP/xinetd.log
}
service lab-echo
{
	type		= UNLISTED
	socket_type	= stream
	protocol	= tcp
	port		= $P5
	bind		= 127.0.0.1
	wait		= no
	user		= $user
	server		= $ECHO
	server_args	= --inetd
	flags		= NOLIBWRAP
	disable		= no
}
CONF
  echo "\$ cat xinetd.conf"
  sed 's/^/  /' "$LAB_TMP/xinetd.conf"
  printf '$ xinetd -dontfork -stayalive -f xinetd.conf -pidfile xinetd.pid\n'
  lab_bg XINETD "$XINETD" -dontfork -stayalive -f "$LAB_TMP/xinetd.conf" -pidfile "$LAB_TMP/xinetd.pid"
  lab_wait 10 lab_listening "$P5" || lab_fail "xinetd listens on $P5"
  serves "$P5" "xinetd wait = no" 2 "$XINETD_pid"
  stop_with_children XINETD
fi

say "5. A server written for Accept=no only (fd3-echo.py), first as meant, then with Accept=yes"
lab_free_port P6
printf '$ systemd-socket-activate -l 127.0.0.1:%s %s fd3-echo.py\n' "$P6" "$LAB_PYTHON"
lab_bg FD3 systemd-socket-activate -l "127.0.0.1:$P6" "$LAB_PYTHON" "$LAB_DIR/fd3-echo.py"
lab_wait 10 lab_listening "$P6" || lab_fail "systemd-socket-activate listens on $P6"
expect "Accept=no: fd 3 is a listener, accept() works, the client is echoed" lab_open_clients "$P6" 1 10
lab_close_clients
lab_stop FD3
lab_free_port P7
printf '$ systemd-socket-activate -l 127.0.0.1:%s --accept %s fd3-echo.py\n' "$P7" "$LAB_PYTHON"
lab_bg FD3YES systemd-socket-activate -l "127.0.0.1:$P7" --accept "$LAB_PYTHON" "$LAB_DIR/fd3-echo.py"
lab_wait 10 lab_listening "$P7" || lab_fail "systemd-socket-activate listens on $P7"
expect_not "Accept=yes: the client gets no echo" lab_open_clients "$P7" 1 10
lab_close_clients
lab_wait 10 grep -q 'Errno 22' "$FD3YES_log"
grep -E 'accept|Error' "$FD3YES_log" | tail -n 2 | sed 's/^/  | /'
expect_output 'OSError: \[Errno 22\] Invalid argument' "$FD3YES_log" \
  "fd 3 is a connection now: accept() on it fails with EINVAL"
stop_with_children FD3YES

lab_end
