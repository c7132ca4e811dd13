#!/usr/bin/env bash
# Lab 5, UDP versus TCP: datagram boundaries, truncation, no connection, and loss in a
# network namespace of the lab's own (lossy.sh).
source "$(dirname "$0")/../lib.sh"
lab_need ss
PY=("$LAB_PYTHON" "$LAB_DIR/udp_tcp.py")

say "1. Two echo servers: one on UDP, one on TCP"
lab_start UDP echo-server --model iterative --listen udp:127.0.0.1:0
lab_start TCP echo-server --listen 127.0.0.1:0
show ss -uan "( sport = :$UDP )" | tee "$LAB_TMP/ss-udp"
expect_output "^UNCONN .*127\.0\.0\.1:$UDP " "$LAB_TMP/ss-udp" \
  "ss -uan: the UDP socket is UNCONN, there is no LISTEN and no connection"

say "2. Boundaries: three sends each way"
show "${PY[@]}" boundaries "$UDP" "$TCP" | tee "$LAB_TMP/boundaries"
expect_output "^UDP, .*: \[b'one', b'two', b'three'\]$" "$LAB_TMP/boundaries" \
  "UDP: three datagrams, three recvfrom, boundaries kept"
expect_output "^TCP, .*: b'onetwo(three)?'$" "$LAB_TMP/boundaries" \
  "TCP: the same three sends come out of one recv as one run of bytes"

say "3. Truncation: a datagram larger than the buffer"
show "${PY[@]}" truncate "$UDP" | tee "$LAB_TMP/truncate"
expect_output "^2000-byte datagram, recvmsg\(1024\): 1024 bytes, MSG_TRUNC set: True$" \
  "$LAB_TMP/truncate" "recv(1024) gets 1024 bytes and MSG_TRUNC says the rest was cut"
expect_output "^the next recv gets the next datagram, not the rest: b'next'$" "$LAB_TMP/truncate" \
  "the other 976 bytes are gone"

say "4. No connection: nobody listens"
lab_start GONE echo-server --listen udp:127.0.0.1:0
CLOSED=$GONE
lab_stop GONE
show "${PY[@]}" noconn "$CLOSED" | tee "$LAB_TMP/noconn"
expect_output "^UDP sendto a closed port returned 6: no error$" "$LAB_TMP/noconn" \
  "UDP sendto succeeds: there is nobody to ask first"
expect_output "^UDP recvfrom on an unconnected socket: nothing" "$LAB_TMP/noconn" \
  "an unconnected UDP socket never hears that nobody is there"
expect_output "^UDP send then recv on a connected socket: ConnectionRefusedError\(111" "$LAB_TMP/noconn" \
  "a connected UDP socket gets ECONNREFUSED from the ICMP port unreachable"
expect_output "^TCP connect: ConnectionRefusedError\(111" "$LAB_TMP/noconn" \
  "TCP: connect is refused at once (RST)"

say "5. Loss: 10% of packets dropped on the loopback of a network namespace of our own"
ns=()
if unshare -rn true 2>/dev/null; then
  ns=(unshare -rn)     # a user namespace too: no root needed
elif ((EUID == 0)) && unshare -n true 2>/dev/null; then
  ns=(unshare -n)
fi
loss_skipped=""
if ((${#ns[@]} == 0)); then
  loss_skipped="network namespaces are not allowed here (unshare -rn failed: see"
  loss_skipped+=" kernel.unprivileged_userns_clone, user.max_user_namespaces and"
  loss_skipped+=" kernel.apparmor_restrict_unprivileged_userns, or run as root)"
else
  printf '$ %s bash lossy.sh\n' "${ns[*]}"
  "${ns[@]}" env SOCKSERV_BIN="$(lab_bin)" bash "$LAB_DIR/lossy.sh" | tee "$LAB_TMP/lossy"
  rc=${PIPESTATUS[0]}
  if ((rc == 77)); then
    loss_skipped=$(sed -n 's/^SKIP [^:]*: //p' "$LAB_TMP/lossy")
  else
    expect "the lossy run held what the sheet says (its ok lines above)" test "$rc" = 0
  fi
fi

if [[ -n "$loss_skipped" ]]; then
  echo "step 5 skipped: $loss_skipped"
  ((LAB_FAILED == 0)) && lab_skip "step 5 (loss) could not run: $loss_skipped; steps 1-4 passed"
fi
lab_end
