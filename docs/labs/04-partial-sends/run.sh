#!/usr/bin/env bash
# Lab 4, partial sends and buffer sizes: send() taking less than asked, the tutorial's broken
# retry loop and write_all's right one; the listen backlog filling up.
source "$(dirname "$0")/../lib.sh"
lab_need ss
SEND=("$LAB_PYTHON" "$LAB_DIR/partial_send.py")

say "1. An echo-server with 4 KiB socket buffers (--sndbuf/--rcvbuf), serving one at a time"
lab_start ECHO echo-server --model iterative --sndbuf 4096 --rcvbuf 4096 --backlog 2
PORT=$ECHO

say "2. A client that never reads the echo: one send of 1 MiB"
show "${SEND[@]}" "$PORT" once | tee "$LAB_TMP/once"
expect_output '^send\(1048576 bytes\) returned [0-9]{1,5}$' "$LAB_TMP/once" \
  "send returns a few KiB, far less than the 1 MiB it was given"
expect_output "BlockingIOError\(11, 'Resource temporarily unavailable'\)" "$LAB_TMP/once" \
  "then EAGAIN: the kernel takes nothing more while nobody reads"
expect_output 'rb8192,.*tb8192' "$LAB_TMP/once" \
  "ss -m: rb8192 and tb8192, twice the 4096 asked for (the kernel doubles it)"
expect_output "^ESTAB +[1-9][0-9]* +[1-9][0-9]* +127\.0\.0\.1:$PORT " "$LAB_TMP/once" \
  "the server's end: Recv-Q and Send-Q both full (it is stuck writing the echo)"
expect_output "^ESTAB +[1-9][0-9]* +[1-9][0-9]* +127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:$PORT( |$)" "$LAB_TMP/once" \
  "the client's end: Recv-Q and Send-Q both full too (all four queues non-zero)"
# The server is still stuck on that client until it notices the reset: give it a moment.
lab_wait 5 bash -c "! ss -tnH state established '( sport = :$PORT )' | grep -q ."

say "3. The tutorial's retry loop: total_send += total_send + sent"
show "${SEND[@]}" "$PORT" tutorial | tee "$LAB_TMP/tutorial"
expect_output '^tutorial: [0-9]+ send calls, the loop believes it sent [0-9]+ bytes' "$LAB_TMP/tutorial" \
  "send returned less than asked: the loop had to call it again"
expect_output 'same as the 1 MiB sent: False$' "$LAB_TMP/tutorial" \
  "the loop skips bytes: what comes back is not what was meant to be sent"

say "4. The loop done right (total_send += sent), as write_all in common/io.cpp does"
show "${SEND[@]}" "$PORT" loop | tee "$LAB_TMP/loop"
expect_output '^loop: [0-9]{2,} send calls, the loop believes it sent 1048576 bytes; the echo brought back 1048576 bytes; same as the 1 MiB sent: True$' \
  "$LAB_TMP/loop" "dozens of partial sends, every byte sent once, the echo identical"

say "5. The backlog: echo-server --backlog 2 is busy with one client; 6 more connect"
show "$LAB_PYTHON" "$LAB_DIR/backlog.py" "$PORT" 6 | tee "$LAB_TMP/backlog"
expect_output "^LISTEN +3 +2 +127\.0\.0\.1:$PORT " "$LAB_TMP/backlog" \
  "ss -ltn: Recv-Q 3 (handshakes done, waiting for accept), Send-Q 2 (the backlog)"
expect_output '^6 connects while the server is busy: [0-9] handshakes done, [1-9] still waiting \(SYN_SENT\)$' \
  "$LAB_TMP/backlog" "backlog + 1 = 3 get in; the other 3 wait in SYN_SENT, their SYNs dropped"

lab_end
