#!/usr/bin/env bash
# Step 5 of lab 5, run by run.sh inside a new network namespace (unshare -n): only a
# loopback of its own, where losing packets disturbs nobody else. Loses LOSS percent of the
# packets on lo with tc netem, or, where the kernel has no netem, with an nftables rule;
# then sends the same messages over UDP and over TCP. Exit 77 when neither can be set up.
source "$(dirname "$0")/../lib.sh"
LAB_NAME="$LAB_NAME, step 5 in its namespace"
LOSS=${LOSS:-10}
COUNT=50

ip link set lo up || lab_skip "cannot bring up lo in the namespace"
if tc qdisc add dev lo root netem loss "$LOSS%" 2>"$LAB_TMP/tc.err"; then
  show tc qdisc show dev lo
  lossless() { tc qdisc del dev lo root; }
else
  echo "tc netem: $(cat "$LAB_TMP/tc.err") (this kernel has no sch_netem); using nftables instead"
  command -v nft >/dev/null || lab_skip "no netem in this kernel and nft is not installed"
  nft -f - <<NFT || lab_skip "no netem in this kernel and nftables refused the rule"
table inet lab5 {
  chain input {
    type filter hook input priority 0; policy accept;
    numgen random mod 100 < $LOSS drop
  }
}
NFT
  show nft list chain inet lab5 input
  lossless() { nft delete table inet lab5; }
fi
lab_start UDP echo-server --model iterative --listen udp:127.0.0.1:0
lab_start TCP echo-server --listen 127.0.0.1:0
show "$LAB_PYTHON" "$LAB_DIR/udp_tcp.py" loss "$UDP" "$TCP" "$COUNT" | tee "$LAB_TMP/loss"
expect_output "^UDP: $COUNT datagrams sent, [0-9]+ came back$" "$LAB_TMP/loss" "the UDP round trips ran"
got=$(sed -n 's/^UDP: .* sent, \([0-9]*\) came back$/\1/p' "$LAB_TMP/loss")
expect "UDP lost some: ${got:-?} of $COUNT came back (each way loses $LOSS%)" \
  test "${got:-$COUNT}" -lt "$COUNT"
expect_output "^TCP: $((COUNT / 5)) lines sent one at a time, $((COUNT / 5)) came back right" "$LAB_TMP/loss" \
  "TCP brought every line back: it resent what was lost"
# The namespace's own counters: TCP segments sent again after a timeout or a duplicate ACK.
# Not checked: a lucky run loses only packets that later ones make up for (a lost ACK).
show nstat -asz TcpRetransSegs
# A lossless link again, so that the servers' last goodbyes (FINs) are not lost and they stop
# at once when the lab ends.
lossless
lab_end
