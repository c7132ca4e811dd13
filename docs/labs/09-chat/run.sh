#!/usr/bin/env bash
# Lab 9: chat across processes and threads. The tutorial's room with a process per client
# (each child has a stale copy of the client list), the tutorial's thread room without a lock
# (a slow reader, a join, and "dictionary changed size during iteration"), then chat-server
# under fork (the parent relays: ProcessHub) and thread (a locked roster: ThreadHub).
source "$(dirname "$0")/../lib.sh"
lab_need "$LAB_PYTHON"

# scenario MODE OUT NAME=PORT...: plays the clients (chat-scenario.py) against each server in
# turn; shows and keeps what happened, one line per check, each starting with "NAME: ".
scenario() {
  local mode=$1 out=$2
  shift 2
  printf '$ %s\n' "$LAB_PYTHON chat-scenario.py $mode $*"
  "$LAB_PYTHON" "$LAB_DIR/chat-scenario.py" "$mode" "$@" >"$out" 2>&1
  sed 's/^/  /' "$out"
}

say "Processes: fork-chat.py (no relay) and chat-server --model fork; ann joins first, then bob"
lab_start FORKCHAT "$LAB_DIR/fork-chat.py"
lab_start FORK chat-server --model fork
scenario relay "$LAB_TMP/relay.txt" "fork-chat=$FORKCHAT" "chat-server=$FORK"

say "1. fork-chat.py: each child relays to its own copy of the client list"
expect_output "^fork-chat: ann heard 'hello from bob': yes" "$LAB_TMP/relay.txt" \
  "bob's child was forked after ann came: its copy of the list has ann, so ann hears bob"
expect_output "^fork-chat: bob heard 'hello from ann': no" "$LAB_TMP/relay.txt" \
  "ann's child was forked before bob came: bob is not in its copy, so bob never hears ann"

say "2. The fix for processes: chat-server --model fork, where the parent relays"
expect_output "^chat-server: ann heard 'hello from bob': yes" "$LAB_TMP/relay.txt" "ann hears bob"
expect_output "^chat-server: bob heard 'hello from ann': yes" "$LAB_TMP/relay.txt" \
  "bob hears ann: every line goes to the parent, which holds the one true roster"
lab_stop FORKCHAT
lab_stop FORK

say "Threads: thread-chat.py (the tutorial's, no lock) and chat-server --model thread"
lab_start THREADCHAT "$LAB_DIR/thread-chat.py"
lab_start THREAD chat-server --model thread
scenario lock "$LAB_TMP/lock.txt" "thread-chat=$THREADCHAT" "chat-server=$THREAD"

say "3. thread-chat.py: a slow reader, then a late joiner"
expect_no_output "^thread-chat: cat heard 200 of" "$LAB_TMP/lock.txt" \
  "one client that does not read stalls the whole room: cat stops hearing ann"
expect_output "^thread-chat: cat heard 'one more from ann': no" "$LAB_TMP/lock.txt" \
  "after slow reads again, ann's next line reaches nobody"
expect_output "^thread-chat: jay heard 'one more from ann': no" "$LAB_TMP/lock.txt" "not even jay"
echo "  the server's log:"
grep -E '^(Exception|RuntimeError|  File .*thread-chat)' "$THREADCHAT_log" | sed 's/^/  | /'
expect_output "RuntimeError: dictionary changed size during iteration" "$THREADCHAT_log" \
  "ann's thread died in the middle of the broadcast: jay joined while it walked the dict"

say "4. The fix for threads: chat-server --model thread (one mutex, bounded queues, no blocking)"
expect_output "^chat-server: cat heard 200 of ann's 200 long lines" "$LAB_TMP/lock.txt" \
  "the slow reader holds nobody back: cat heard every line while slow read nothing"
expect_output "^chat-server: cat heard 'one more from ann': yes" "$LAB_TMP/lock.txt" \
  "cat hears ann's last line"
expect_output "^chat-server: jay heard 'one more from ann': yes" "$LAB_TMP/lock.txt" \
  "so does jay, who joined late"
lab_stop THREADCHAT
lab_stop THREAD

lab_end
