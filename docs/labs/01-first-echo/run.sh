#!/usr/bin/env bash
# Lab 1, first echo: one iterative echo-server, three clients, and the sockets seen by ss.
source "$(dirname "$0")/../lib.sh"
lab_need ss nc

say "1. Start echo-server, model iterative, on a port the kernel picks"
lab_start ECHO echo-server --model iterative
echo "echo-server says: $(grep 'listening on' "$ECHO_log")"
PORT=$ECHO

say "2. The sockets while nobody is connected: one LISTEN"
show ss -tanp "( sport = :$PORT )" | tee "$LAB_TMP/ss-listen"
expect_output "^LISTEN .*127\.0\.0\.1:$PORT .*echo-server" "$LAB_TMP/ss-listen" \
  "ss shows echo-server in LISTEN on 127.0.0.1:$PORT"

say "3. Talk to it: echo-client, nc and the tutorial's Python client"
printf '$ printf %q | echo-client 127.0.0.1:%s\n' 'hello\n' "$PORT"
printf 'hello\n' | echo-client "127.0.0.1:$PORT" | tee "$LAB_TMP/echo-client"
expect_output '^hello$' "$LAB_TMP/echo-client" "echo-client prints hello back"
printf '$ printf %q | nc -N 127.0.0.1 %s\n' 'hi from nc\n' "$PORT"
printf 'hi from nc\n' | timeout 5 nc -N 127.0.0.1 "$PORT" | tee "$LAB_TMP/nc"
expect_output '^hi from nc$' "$LAB_TMP/nc" "nc prints the line back"
show "$LAB_PYTHON" "$LAB_DIR/echo_client.py" "$PORT" | tee "$LAB_TMP/py"
expect_output "^b'hello socket world'$" "$LAB_TMP/py" "the Python client prints b'hello socket world'"

say "4. Hold a connection open (nc waiting on its input) and look again: two ESTABLISHED"
mkfifo "$LAB_TMP/hold"
# nc reads the fifo; this script holds its only writer (fd 3), so nc waits for input and keeps
# the connection open until fd 3 is closed. The writer is opened after nc starts, so that nc
# does not inherit it.
lab_bg HOLD bash -c "exec nc -N 127.0.0.1 $PORT <'$LAB_TMP/hold'"
exec 3>"$LAB_TMP/hold"
lab_wait 5 bash -c "ss -tan state established '( dport = :$PORT )' | grep -q $PORT"
show ss -tanp "( sport = :$PORT or dport = :$PORT )" | tee "$LAB_TMP/ss-est"
expect_output "^ESTAB .*127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:$PORT .*nc" "$LAB_TMP/ss-est" \
  "nc's side: ESTAB from an ephemeral port to $PORT"
expect_output "^ESTAB .*127\.0\.0\.1:$PORT +127\.0\.0\.1:[0-9]+ .*echo-server" "$LAB_TMP/ss-est" \
  "echo-server's side: ESTAB from $PORT to nc's port"
NC_PORT=$(ss -tanH state established "( dport = :$PORT )" | awk '{print $3}' | head -n 1)
NC_PORT=${NC_PORT##*:}
echo "nc's ephemeral port: $NC_PORT"
if command -v netstat >/dev/null; then
  show netstat -tanp | grep -E "Proto|:$PORT " | tee "$LAB_TMP/netstat"
  expect_output "ESTABLISHED .*/nc" "$LAB_TMP/netstat" "netstat shows the same connection"
fi

say "5. nc closes first (end of its input): its side of the connection enters TIME_WAIT"
exec 3>&-
lab_wait 5 bash -c "ss -tan state time-wait '( sport = :$NC_PORT )' | grep -q :$NC_PORT"
show ss -tan state time-wait "( sport = :$PORT or dport = :$PORT )" | tee "$LAB_TMP/ss-tw"
expect_output "127\.0\.0\.1:$NC_PORT +127\.0\.0\.1:$PORT" "$LAB_TMP/ss-tw" \
  "TIME-WAIT on nc's side (local port $NC_PORT, the one that closed first)"
expect_no_output "127\.0\.0\.1:$PORT +127\.0\.0\.1:" "$LAB_TMP/ss-tw" \
  "no TIME-WAIT on the server's side (local port $PORT): it closed second"
show ss -tan "( sport = :$PORT )" | tee "$LAB_TMP/ss-after"
expect_output "^LISTEN .*:$PORT " "$LAB_TMP/ss-after" "the server is back in LISTEN, ready for the next client"
expect_no_output "^ESTAB" "$LAB_TMP/ss-after" "no connection is left ESTABLISHED"

lab_end
