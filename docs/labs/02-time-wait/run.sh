#!/usr/bin/env bash
# Lab 2, TIME_WAIT and SO_REUSEADDR: restart a server on the port it has just served on.
source "$(dirname "$0")/../lib.sh"
lab_need ss nc
SERVER=("$LAB_PYTHON" "$LAB_DIR/oneshot_server.py")

# served PORT: one client (client.py) served by the one-shot server on PORT, which closes
# first; waits (5 s at most) for the server to exit.
served() {
  show "$LAB_PYTHON" "$LAB_DIR/client.py" "$1" | tee "$LAB_TMP/client"
  expect_output '^hello$' "$LAB_TMP/client" "the client gets its line back"
  lab_wait 5 bash -c "! kill -0 $2 2>/dev/null"
}

# restart_fails PORT [--reuseaddr]: the one-shot server cannot bind PORT.
restart_fails() {
  printf '$ python3 oneshot_server.py %s\n' "$*"
  timeout 5 "${SERVER[@]}" "$@" >"$LAB_TMP/restart" 2>&1
  local rc=$?
  cat "$LAB_TMP/restart"
  expect "it exits with status 1 at once" test "$rc" = 1
  expect_output "bind 127\.0\.0\.1:$1: \[Errno 98\] Address already in use" "$LAB_TMP/restart" \
    "bind fails with EADDRINUSE (errno 98)"
}

say "1. The tutorial's one-shot server, without SO_REUSEADDR, serves one client and closes first"
lab_start ONE "${SERVER[@]}" 0
PORT=$ONE
served "$PORT" "$ONE_pid"
show ss -tan state time-wait "( sport = :$PORT or dport = :$PORT )" | tee "$LAB_TMP/tw1"
expect_output "127\.0\.0\.1:$PORT +127\.0\.0\.1:[0-9]+" "$LAB_TMP/tw1" \
  "TIME-WAIT on the server's side: local port $PORT (the server closed first)"
show ss -tln "( sport = :$PORT )" | tee "$LAB_TMP/listen1"
expect_no_output ":$PORT " "$LAB_TMP/listen1" "nobody listens on $PORT any more"

say "2. Restart it on port $PORT: Address already in use, with or without SO_REUSEADDR"
restart_fails "$PORT"
restart_fails "$PORT" --reuseaddr
printf '$ echo-server --listen 127.0.0.1:%s\n' "$PORT"
timeout 5 echo-server --listen "127.0.0.1:$PORT" >"$LAB_TMP/echo-restart" 2>&1
rc=$?
cat "$LAB_TMP/echo-restart"
expect "echo-server cannot bind $PORT either (exit 69), though it sets SO_REUSEADDR" test "$rc" = 69
expect_output "no server listens on port $PORT, but connections of one that did not set SO_REUSEADDR wait in TIME_WAIT" \
  "$LAB_TMP/echo-restart" "and it says why: no server listens, connections in TIME_WAIT hold the port"
echo "(Linux lets a new socket share the port with a TIME-WAIT only when the socket that"
echo " made the TIME-WAIT had SO_REUSEADDR too: this one did not.)"

say "3. Again with SO_REUSEADDR from the first run on: the restart works"
lab_start TWO "${SERVER[@]}" 0 --reuseaddr
PORT=$TWO
served "$PORT" "$TWO_pid"
show ss -tan state time-wait "( sport = :$PORT )" | tee "$LAB_TMP/tw2"
expect_output "127\.0\.0\.1:$PORT +127\.0\.0\.1:[0-9]+" "$LAB_TMP/tw2" "TIME-WAIT on port $PORT again"
restart_fails "$PORT"
lab_start THREE "${SERVER[@]}" "$PORT" --reuseaddr
expect "with --reuseaddr it listens on $PORT again" test "$THREE" = "$PORT"
lab_stop THREE

say "4. Our echo-server always sets SO_REUSEADDR (common/socket.cpp, set_listener_options)"
lab_start ECHO echo-server --listen "127.0.0.1:$PORT"
expect "echo-server listens on $PORT beside the TIME-WAIT" test "$ECHO" = "$PORT"

say "5. SO_REUSEADDR does not let a second server take a port that is listening"
printf '$ echo-server --listen 127.0.0.1:%s     (while the first still runs)\n' "$PORT"
timeout 5 echo-server --listen "127.0.0.1:$PORT" >"$LAB_TMP/second" 2>&1
rc=$?
cat "$LAB_TMP/second"
expect "the second echo-server exits 69 (EX_UNAVAILABLE)" test "$rc" = 69
expect_output "Address already in use \(another server is using port $PORT" "$LAB_TMP/second" \
  "it says another server is using port $PORT"
lab_stop ECHO

say "6. When the client closes first, the TIME-WAIT is the client's: no restart problem"
lab_start FOUR "${SERVER[@]}" 0 --close-second
PORT=$FOUR
show bash -c "printf 'hello\n' | nc -N 127.0.0.1 $PORT" | tee "$LAB_TMP/client2"
expect_output '^hello$' "$LAB_TMP/client2" "nc gets its line back"
lab_wait 5 bash -c "! kill -0 $FOUR_pid 2>/dev/null"
show ss -tan state time-wait "( sport = :$PORT or dport = :$PORT )" | tee "$LAB_TMP/tw3"
expect_output "127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:$PORT" "$LAB_TMP/tw3" \
  "TIME-WAIT on nc's side (peer port $PORT)"
expect_no_output "127\.0\.0\.1:$PORT +127\.0\.0\.1:" "$LAB_TMP/tw3" "none with local port $PORT"
lab_start FIVE "${SERVER[@]}" "$PORT"
expect "the restart without SO_REUSEADDR works on $PORT" test "$FIVE" = "$PORT"

lab_end
