#!/usr/bin/env bash
# Lab 9: chat across processes and threads. The tutorial's room with a process per client
# (each child has a stale copy of the client list), the tutorial's thread room without a lock
# (a slow reader, a join, and "dictionary changed size during iteration"), then chat-server
# under fork (the parent relays: ProcessHub) and thread (a locked roster: ThreadHub).
source "$(dirname "$0")/../lib.sh"
lab_need "$LAB_PYTHON"

scenario() {  # scenario MODE PORT OUT: plays the clients (chat-scenario.py), shows and keeps what happened
  "$LAB_PYTHON" "$LAB_DIR/chat-scenario.py" "$1" "$2" >"$3" 2>&1
  sed 's/^/  /' "$3"
}

say "1. A process per client, no relay: fork-chat.py (ann joins first, then bob)"
lab_start FORKCHAT "$LAB_DIR/fork-chat.py"
scenario relay "$FORKCHAT" "$LAB_TMP/fork-chat.txt"
expect_output "^ann heard 'hello from bob': yes" "$LAB_TMP/fork-chat.txt" \
  "bob's child was forked after ann came: its copy of the list has ann, so ann hears bob"
expect_output "^bob heard 'hello from ann': no" "$LAB_TMP/fork-chat.txt" \
  "ann's child was forked before bob came: bob is not in its copy, so bob never hears ann"
lab_stop FORKCHAT

say "2. The fix for processes: chat-server --model fork, where the parent relays"
lab_start FORK chat-server --model fork
scenario relay "$FORK" "$LAB_TMP/fork.txt"
expect_output "^ann heard 'hello from bob': yes" "$LAB_TMP/fork.txt" "ann hears bob"
expect_output "^bob heard 'hello from ann': yes" "$LAB_TMP/fork.txt" \
  "bob hears ann: every line goes to the parent, which holds the one true roster"
lab_stop FORK

say "3. Threads without a lock: the tutorial's thread-chat.py, a slow reader and a late joiner"
lab_start THREADCHAT "$LAB_DIR/thread-chat.py"
scenario lock "$THREADCHAT" "$LAB_TMP/thread-chat.txt"
expect_no_output "^cat heard 200 of" "$LAB_TMP/thread-chat.txt" \
  "one client that does not read stalls the whole room: cat stops hearing ann"
expect_output "^cat heard 'one more from ann': no" "$LAB_TMP/thread-chat.txt" \
  "after slow reads again, ann's next line reaches nobody"
expect_output "^jay heard 'one more from ann': no" "$LAB_TMP/thread-chat.txt" "not even jay"
echo "  the server's log:"
grep -E '^(Exception|RuntimeError|  File .*thread-chat)' "$THREADCHAT_log" | sed 's/^/  | /'
expect_output "RuntimeError: dictionary changed size during iteration" "$THREADCHAT_log" \
  "ann's thread died in the middle of the broadcast: jay joined while it walked the dict"
lab_stop THREADCHAT

say "4. The fix for threads: chat-server --model thread (one mutex, bounded queues, no blocking)"
lab_start THREAD chat-server --model thread
scenario lock "$THREAD" "$LAB_TMP/thread.txt"
expect_output "^cat heard 200 of ann's 200 long lines" "$LAB_TMP/thread.txt" \
  "the slow reader holds nobody back: cat heard every line while slow read nothing"
expect_output "^cat heard 'one more from ann': yes" "$LAB_TMP/thread.txt" "cat hears ann's last line"
expect_output "^jay heard 'one more from ann': yes" "$LAB_TMP/thread.txt" "so does jay, who joined late"
lab_stop THREAD

lab_end
