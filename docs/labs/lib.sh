# docs/labs/lib.sh: the shell library every lab's run.sh sources (bash only).
#
#   source "$(dirname "$0")/../lib.sh"
#   say "Start the server"                      a step heading the student reads
#   lab_start ECHO echo-server --model iterative   ECHO=port, ECHO_pid, ECHO_log, ECHO_addr
#   expect "the echo comes back" grep -q hi "$LAB_TMP/out"
#   lab_end                                     exit 1 when any expectation failed
#
# Everything a lab starts runs on 127.0.0.1 (or a unix socket in $LAB_TMP) and is stopped
# again by PID when the script exits, however it exits. Every wait is bounded in count and time.
# Exit status of a lab: 0 the sheet held, 1 it did not, 77 skipped (reason printed).

set -uo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" && pwd)
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_NAME=$(basename "$LAB_DIR")
LAB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sockserv-lab-XXXXXX")
LAB_PIDS=()
LAB_OK=0
LAB_FAILED=0

# The suite's programs: $SOCKSERV_BIN when set (scripts/run-tests sets it), else the repo's bin/.
lab_bin() {
  if [[ -n "${SOCKSERV_BIN:-}" ]]; then
    echo "$SOCKSERV_BIN"
  else
    echo "$LAB_ROOT/bin"
  fi
}
PATH="$(lab_bin):$PATH"

# Stops one process started by this lab, and everything in its process group (a fork or prefork
# server's children): SIGTERM, up to 3 s to exit, then SIGKILL. By PID, never by name.
# Returns the process's exit status (143 when the SIGTERM ended it).
lab_kill() {
  local pid=$1 i
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    # A zombie still answers kill -0: wait collects it below.
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] && break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

lab_cleanup() {
  local pid
  for pid in "${LAB_PIDS[@]}"; do
    lab_kill "$pid"
  done
  LAB_PIDS=()
  rm -rf "$LAB_TMP"
}
trap lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# say TEXT: a step heading, as the sheet numbers its steps.
say() {
  printf '\n== %s\n' "$*"
}

# show COMMAND...: prints the command as the student would type it ("$ ...", on stderr, so
# that `show CMD | tee FILE` keeps only the command's output in FILE), then runs it.
show() {
  printf '$ %s\n' "$*" >&2
  "$@"
}

lab_pass() {
  printf '  ok   - %s\n' "$1"
  LAB_OK=$((LAB_OK + 1))
}

lab_fail() {
  printf '  FAIL - %s\n' "$1"
  LAB_FAILED=$((LAB_FAILED + 1))
}

# expect "what the sheet says" COMMAND...: ok when COMMAND succeeds, FAIL (counted) when not.
expect() {
  local what=$1
  shift
  if "$@"; then lab_pass "$what"; else lab_fail "$what"; fi
}

# expect_not "what the sheet says" COMMAND...: ok when COMMAND fails.
expect_not() {
  local what=$1
  shift
  if "$@"; then lab_fail "$what"; else lab_pass "$what"; fi
}

# expect_output PATTERN FILE [WHAT]: ok when FILE has a line matching the extended regex
# PATTERN; on FAIL the end of FILE is shown, so the log says what came instead.
expect_output() {
  local pattern=$1 file=$2 what=${3:-"output matches /$1/"}
  if grep -Eq -- "$pattern" "$file" 2>/dev/null; then
    lab_pass "$what"
  else
    lab_fail "$what"
    echo "    (no line of $(basename "$file") matches /$pattern/; its last lines:)"
    tail -n 8 "$file" 2>/dev/null | sed 's/^/    | /'
  fi
}

# expect_no_output PATTERN FILE [WHAT]: ok when no line of FILE matches PATTERN.
expect_no_output() {
  local pattern=$1 file=$2 what=${3:-"output has no /$1/"}
  if grep -Eq -- "$pattern" "$file" 2>/dev/null; then
    lab_fail "$what"
    grep -E -- "$pattern" "$file" | head -n 4 | sed 's/^/    | /'
  else
    lab_pass "$what"
  fi
}

# lab_wait SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails after SECONDS.
lab_wait() {
  local tries=$(($1 * 10)) i
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# lab_skip REASON: the lab cannot run on this machine; exit status 77 (counted as skipped).
lab_skip() {
  printf '\nSKIP %s: %s\n' "$LAB_NAME" "$*"
  exit 77
}

# lab_end: the last line of every run.sh; exit 1 when any expectation failed.
lab_end() {
  printf '\n%s: %d ok, %d failed\n' "$LAB_NAME" "$LAB_OK" "$LAB_FAILED"
  ((LAB_FAILED == 0)) || exit 1
  exit 0
}

# lab_need COMMAND...: skip the lab (with the reason) when a tool is missing.
lab_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 ||
      lab_skip "$tool is not installed (scripts/install-deps installs it)"
  done
}

# lab_open_clients PORT N [SECONDS]: N connections to 127.0.0.1:PORT held open at once (bash's
# /dev/tcp, a descriptor each in LAB_CLIENT_FDS), each checked to echo a line of its own
# within SECONDS (5; more for a server that inetd or systemd starts on the first connection).
# Fails at the first that does not. lab_close_clients closes them all.
LAB_CLIENT_FDS=()
lab_open_clients() {
  local port=$1 n=$2 seconds=${3:-5} i fd line
  LAB_CLIENT_FDS=()
  for ((i = 1; i <= n; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 1
    LAB_CLIENT_FDS+=("$fd")
    printf 'client %d\n' "$i" >&"$fd"
    IFS= read -r -t "$seconds" line <&"$fd" 2>/dev/null || return 1
    [[ "$line" == "client $i" ]] || return 1
  done
}
lab_close_clients() {
  local fd
  for fd in "${LAB_CLIENT_FDS[@]}"; do exec {fd}>&-; done
  LAB_CLIENT_FDS=()
}

# lab_bg VAR COMMAND...: runs COMMAND in the background in a process group of its own, its
# output in $VAR_log; sets VAR_pid. Stopped with lab_stop VAR or when the lab ends.
lab_bg() {
  local var=$1 log="$LAB_TMP/$1.log"
  shift
  # setsid: its own process group, so that stopping it also stops what it forked. A
  # background job of a script is not a group leader, so setsid execs without forking and
  # $! is the program's own PID.
  setsid "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  LAB_PIDS+=("$pid")
  printf -v "${var}_pid" '%s' "$pid"
  printf -v "${var}_log" '%s' "$log"
}

# lab_start VAR PROGRAM [ARGS...]: starts a server in the background and waits (10 s at most)
# for its "listening on ADDRESS (" log lines, one per --listen (as tests/integration/harness.cpp
# does). Sets VAR to the port of the first address (empty for a unix socket), VAR_addr to the
# address, VAR_pid and VAR_log. A suite program (a bare name such as echo-server) gets
# --listen 127.0.0.1:0 unless ARGS name a --listen; a lab's own program (a path) gets ARGS as
# they are and must print the same line on stderr.
lab_start() {
  local var=$1 program=$2
  shift 2
  local args=("$@") listens=0 a
  for a in "${args[@]}"; do [[ "$a" == --listen ]] && listens=$((listens + 1)); done
  if [[ "$program" != */* ]]; then
    program="$(lab_bin)/$program"
    ((listens > 0)) || args+=(--listen 127.0.0.1:0)
  fi
  ((listens > 0)) || listens=1
  lab_bg "$var" "$program" "${args[@]}"
  local pid_var="${var}_pid" log_var="${var}_log"
  local pid=${!pid_var} log=${!log_var} i found=0
  for ((i = 0; i < 100; i++)); do
    found=$(grep -c 'listening on [^ ]* (' "$log" 2>/dev/null)
    ((found >= listens)) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ((found < listens)); then
    echo "lab: $(basename "$program") did not start within 10 s; its log:" >&2
    sed 's/^/    | /' "$log" >&2
    lab_fail "$(basename "$program") starts and listens"
    lab_end
  fi
  local addr
  addr=$(sed -n 's/.*listening on \([^ ]*\) (.*/\1/p' "$log" | head -n 1)
  printf -v "${var}_addr" '%s' "$addr"
  if [[ "$addr" == unix* ]]; then
    printf -v "$var" '%s' ""
  else
    printf -v "$var" '%s' "${addr##*:}"
  fi
}

# lab_stop VAR: stops what lab_start or lab_bg VAR started (SIGTERM, then SIGKILL after 3 s)
# and returns its exit status (143 for a SIGTERM that ended it).
lab_stop() {
  local pid_var="${1}_pid" pid status p kept=()
  pid=${!pid_var}
  lab_kill "$pid"
  status=$?
  for p in "${LAB_PIDS[@]}"; do [[ "$p" == "$pid" ]] || kept+=("$p"); done
  LAB_PIDS=("${kept[@]}")
  return "$status"
}

# lab_cc OUT SOURCE.c [FLAGS...]: compiles a lab's own C program into $LAB_TMP/OUT.
lab_cc() {
  local out=$1 src=$2
  shift 2
  lab_need cc
  cc -O2 -Wall -Wextra -Werror "$@" -o "$LAB_TMP/$out" "$src" ||
    { lab_fail "$(basename "$src") compiles"; lab_end; }
}

# The tutorial's Python: Debian's interpreter, the same on every machine.
LAB_PYTHON=/usr/bin/python3

# lab_free_port VAR: sets VAR to a TCP port free on 127.0.0.1 right now, for a peer that must be
# told its port (inetd, xinetd, systemd-socket-activate) rather than picking one. Chosen below
# the ephemeral range (ip_local_port_range), so no outgoing connection takes it meanwhile.
lab_free_port() {
  local port i
  for ((i = 0; i < 50; i++)); do
    port=$((20000 + RANDOM % 12000))
    if [[ -z "$(ss -Htan "( sport = :$port or dport = :$port )" 2>/dev/null)" ]]; then
      printf -v "$1" '%s' "$port"
      return 0
    fi
  done
  lab_fail "a free port below 32000"
  lab_end
}

# lab_listening PORT: true when something listens on 127.0.0.1:PORT (use with lab_wait).
lab_listening() {
  [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
}
