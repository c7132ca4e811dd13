#!/usr/bin/env bash
# Lab 6, unix-domain sockets: echo over unix: and unixgram:, permissions on the socket
# file, and a stale socket file left by a crash.
source "$(dirname "$0")/../lib.sh"
lab_need ss nc socat
# Another user must be able to reach into the folder to try the socket's own permissions.
chmod 711 "$LAB_TMP"
SOCK="$LAB_TMP/echo.sock"
DGRAM="$LAB_TMP/echo.dgram"

say "1. echo-server on a unix stream socket and a unix datagram socket"
lab_start ECHO echo-server --listen "unix:$SOCK" --listen "unixgram:$DGRAM"
grep 'listening on' "$ECHO_log"
show ls -l "$SOCK" "$DGRAM" | tee "$LAB_TMP/ls"
expect_output "^s[rwx-]{9} .* $SOCK$" "$LAB_TMP/ls" "the stream socket is a file of type s in the folder"
expect_output "^s[rwx-]{9} .* $DGRAM$" "$LAB_TMP/ls" "the datagram socket is a file of type s too"
show ss -xlp | grep -F "$LAB_TMP/echo." | tee "$LAB_TMP/ss"
expect_output "^u_str +LISTEN .*$SOCK .*echo-server" "$LAB_TMP/ss" "ss -xl: u_str LISTEN on the path"
expect_output "^u_dgr +UNCONN .*$DGRAM .*echo-server" "$LAB_TMP/ss" \
  "ss -xl: the datagram socket is u_dgr UNCONN, not LISTEN"

say "2. Talk to it: echo-client, nc -U, socat"
printf '$ printf %q | echo-client unix:%s\n' 'hello\n' "$SOCK"
printf 'hello\n' | echo-client "unix:$SOCK" | tee "$LAB_TMP/c1"
expect_output '^hello$' "$LAB_TMP/c1" "echo-client over unix: gets hello back"
printf '$ printf %q | echo-client unixgram:%s\n' 'datagram\n' "$DGRAM"
printf 'datagram\n' | echo-client "unixgram:$DGRAM" | tee "$LAB_TMP/c2"
expect_output '^datagram$' "$LAB_TMP/c2" "echo-client over unixgram: gets its datagram back"
printf '$ printf %q | nc -N -U %s\n' 'via nc\n' "$SOCK"
printf 'via nc\n' | timeout 5 nc -N -U "$SOCK" | tee "$LAB_TMP/c3"
expect_output '^via nc$' "$LAB_TMP/c3" "nc -U talks to it too"
printf '$ echo via socat | socat - UNIX-CONNECT:%s\n' "$SOCK"
echo 'via socat' | timeout 5 socat - "UNIX-CONNECT:$SOCK" | tee "$LAB_TMP/c4"
expect_output '^via socat$' "$LAB_TMP/c4" "socat too"
lab_stop ECHO
expect_not "when echo-server stops, its socket files are gone" test -e "$SOCK" -o -e "$DGRAM"

say "3. Permissions: the socket file's mode decides who may connect"
# connect(2) needs write permission on the socket file. As root (who may write anything),
# the client runs as nobody; otherwise the owner takes write permission away from itself.
if ((EUID == 0)); then
  as_other=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  closed=0600 open=0666 who="nobody (not the owner)"
else
  as_other=()
  closed=0500 open=0700 who="the owner itself"
fi
lab_start ECHO echo-server --listen "unix:$SOCK" --unix-mode "$closed"
show ls -l "$SOCK"
printf '$ printf %q | %s echo-client unix:%s\n' 'hello\n' "${as_other[*]}" "$SOCK"
printf 'hello\n' | "${as_other[@]}" echo-client "unix:$SOCK" >"$LAB_TMP/denied" 2>&1
rc=$?
cat "$LAB_TMP/denied"
expect_output "connect unix:$SOCK: Permission denied" "$LAB_TMP/denied" \
  "--unix-mode $closed: $who gets EACCES (Permission denied)"
expect "echo-client exits non-zero" test "$rc" -ne 0
lab_stop ECHO
lab_start ECHO echo-server --listen "unix:$SOCK" --unix-mode "$open"
show ls -l "$SOCK"
printf 'hello\n' | "${as_other[@]}" echo-client "unix:$SOCK" | tee "$LAB_TMP/allowed"
expect_output '^hello$' "$LAB_TMP/allowed" "--unix-mode $open: $who gets hello back"
lab_stop ECHO

say "4. A stale socket file: the naive server dies without removing it"
lab_start NAIVE "$LAB_PYTHON" "$LAB_DIR/naive_unix_server.py" "$SOCK"
printf 'alive\n' | timeout 5 nc -N -U "$SOCK" >"$LAB_TMP/alive"
expect_output '^alive$' "$LAB_TMP/alive" "the naive server echoes"
printf '$ kill -KILL %s      (a crash)\n' "$NAIVE_pid"
kill -KILL "$NAIVE_pid"
lab_stop NAIVE
show ls -l "$SOCK"
expect "the socket file is still there" test -S "$SOCK"
printf '$ nc -U %s\n' "$SOCK"
timeout 5 nc -N -U "$SOCK" </dev/null >"$LAB_TMP/refused" 2>&1
cat "$LAB_TMP/refused"
expect_output 'Connection refused' "$LAB_TMP/refused" "connecting to it: Connection refused, nobody is there"
printf '$ python3 naive_unix_server.py %s\n' "$SOCK"
timeout 5 "$LAB_PYTHON" "$LAB_DIR/naive_unix_server.py" "$SOCK" >"$LAB_TMP/restart" 2>&1
rc=$?
cat "$LAB_TMP/restart"
expect_output "bind $SOCK: \[Errno 98\] Address already in use" "$LAB_TMP/restart" \
  "the naive server cannot restart: Address already in use"
expect "it exits 1" test "$rc" = 1

say "5. echo-server replaces a stale file, but never a live server's"
lab_start ECHO echo-server --listen "unix:$SOCK"
printf 'hello\n' | echo-client "unix:$SOCK" >"$LAB_TMP/replaced"
expect_output '^hello$' "$LAB_TMP/replaced" \
  "echo-server found nobody answering on the old file, replaced it and serves"
printf '$ echo-server --listen unix:%s       (while the first still runs)\n' "$SOCK"
timeout 5 echo-server --listen "unix:$SOCK" >"$LAB_TMP/second" 2>&1
rc=$?
cat "$LAB_TMP/second"
expect_output "bind unix:$SOCK: another server answers on it" "$LAB_TMP/second" \
  "a second echo-server refuses to take a live server's path"
expect "it exits 69 (EX_UNAVAILABLE)" test "$rc" = 69
printf 'still here\n' | echo-client "unix:$SOCK" >"$LAB_TMP/still"
expect_output '^still here$' "$LAB_TMP/still" "and the first one still serves"

lab_end
