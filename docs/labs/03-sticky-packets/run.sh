#!/usr/bin/env bash
# Lab 3, sticky packets: the tutorial's length-less remote shell loses message boundaries;
# cmd-server's frames (common/framing.cpp) keep them.
source "$(dirname "$0")/../lib.sh"
NAIVE=("$LAB_PYTHON" "$LAB_DIR/naive_shell_client.py")
FRAMED=("$LAB_PYTHON" "$LAB_DIR/framed_client.py")

say "1. The tutorial's remote shell: one recv(1024) is taken to be one message"
lab_start NAIVE_SERVER "$LAB_PYTHON" "$LAB_DIR/naive_shell_server.py" 0
show "${NAIVE[@]}" "$NAIVE_SERVER" long | tee "$LAB_TMP/long"
expect_output "^>>> 'seq 1 1000': recv returned 1024 bytes: b'1\\\\n2\\\\n" "$LAB_TMP/long" \
  "seq's 3893 bytes do not fit: the first recv gets 1024 of them"
expect_output "^>>> 'echo done': recv returned 1024 bytes: b'284\\\\n" "$LAB_TMP/long" \
  "the answer to 'echo done' is the rest of seq's output (from 284 on), not 'done'"

say "2. Two commands in one write arrive as one message"
show "${NAIVE[@]}" "$NAIVE_SERVER" merged | tee "$LAB_TMP/merged"
expect_output "not allowed: 'echo oneecho two'" "$LAB_TMP/merged" \
  "the server's one recv returned 'echo oneecho two': one unknown command"

say "3. One command written a byte at a time arrives as seven messages"
show "${NAIVE[@]}" "$NAIVE_SERVER" bytes | tee "$LAB_TMP/bytes"
# Each recv got what had arrived: one byte, or a few when the server was slow to read.
expect_output "recv returned b\"not allowed: 'ec?h?o?'\\\\n" "$LAB_TMP/bytes" \
  "the server ran 'e' (the first byte alone), not 'echo hi'"
expect_output "recv returned b\"not allowed: '[^']*'\\\\nnot allowed: '" "$LAB_TMP/bytes" \
  "and the client's one recv got several replies stuck together"
lab_stop NAIVE_SERVER

say "4. The fix: cmd-server, whose messages are frames (length, JSON header, body)"
CMD_ARGS=(--allow 'seq 1 1000' --allow 'echo done' --allow 'echo one' --allow 'echo two'
  --allow 'echo hi')
# cmd-server will not run commands as root: as root, they run as nobody.
((EUID == 0)) && CMD_ARGS+=(--user nobody)
lab_start CMD cmd-server "${CMD_ARGS[@]}"
show "${FRAMED[@]}" "$CMD" long | tee "$LAB_TMP/f-long"
expect_output "^>>> 'seq 1 1000': 3893 bytes of stdout, 1000 lines, first '1', last '1000'$" \
  "$LAB_TMP/f-long" "all 3893 bytes of seq's output, in one reply"
expect_output "^>>> 'echo done': 5 bytes of stdout, 1 lines, first 'done'" "$LAB_TMP/f-long" \
  "then 'done' for 'echo done'"
show "${FRAMED[@]}" "$CMD" merged | tee "$LAB_TMP/f-merged"
expect_output "^>>> 'echo one': .*first 'one'" "$LAB_TMP/f-merged" "merged write: 'one'..."
expect_output "^>>> 'echo two': .*first 'two'" "$LAB_TMP/f-merged" "... and 'two', two replies"
show "${FRAMED[@]}" "$CMD" bytes | tee "$LAB_TMP/f-bytes"
expect_output "^>>> 'echo hi, one byte at a time': .*first 'hi'" "$LAB_TMP/f-bytes" \
  "a frame written a byte at a time is still one command"
printf '$ cmd-client 127.0.0.1:%s -- seq 1 1000 | tail -n 1\n' "$CMD"
cmd-client "127.0.0.1:$CMD" -- seq 1 1000 | tail -n 1 | tee "$LAB_TMP/cmd-client"
expect_output '^1000$' "$LAB_TMP/cmd-client" "cmd-client gets the whole output too"

say "5. Why not struct.pack('i'): native byte order"
# The sheet's one-liner, as the student types it: 'i' first (native order), then '!I'.
show "$LAB_PYTHON" -c "import struct; print(struct.pack('i', 300).hex(' '), struct.pack('!I', 300).hex(' '))" |
  tee "$LAB_TMP/pack"
if [[ "$("$LAB_PYTHON" -c 'import sys; print(sys.byteorder)')" == little ]]; then
  expect_output "^2c 01 00 00 " "$LAB_TMP/pack" "'i' is 2c 01 00 00 here (little-endian)"
fi
expect_output " 00 00 01 2c$" "$LAB_TMP/pack" "'!I' is 00 00 01 2c on every machine"
show "${FRAMED[@]}" "$CMD" native | tee "$LAB_TMP/native"
expect_output "header length over the limit: 402653184 bytes, limit 65536" "$LAB_TMP/native" \
  "cmd-server reads struct.pack('i')'s 18 00 00 00 as 402653184 and refuses it, no hang"
expect_output "127\.0\.0\.1:[0-9]+: protocol error: header length over the limit" "$CMD_log" \
  "and logs the protocol error with the client's address"

lab_end
