// cmd-server and cmd-client: allowed commands under every model, exit statuses and signals,
// the timeout that kills a whole process group, output limits, refusals; allow-lists that
// fix or pattern the arguments (the shipped one reads no file), the commands' minimal
// environment, background processes that cannot outlive their request, --timeout 0.
#include <signal.h>
#include <sysexits.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <random>

#include "harness.hpp"
#include "peers.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {

ServerProcess start_cmd(const std::string& model, std::vector<std::string> extra,
                        std::vector<std::string> env = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  // cmd-server will not run clients' commands as root: the tests (root here) drop to nobody.
  if (::geteuid() == 0) args.insert(args.end(), {"--user", "nobody"});
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("cmd-server", args, std::move(env));
}

// A pid is gone when kill(pid, 0) fails, or when only its zombie is left for init to reap.
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state == "Z";
}

// Any argument, no path: what the older tests need from `echo` and `sh -c`.
const std::vector<std::string> kEchoAndShell{"--allow-args", "echo .* ...", "--allow-args",
                                             "sh -c .* ..."};

// The arguments scripts/services.tsv ships for cmd-server (its units and inetd lines).
std::vector<std::string> shipped_arguments() {
  std::istringstream table(file_text(source_dir() + "/scripts/services.tsv"));
  std::string line;
  while (std::getline(table, line)) {
    std::vector<std::string> fields = split_words(line, "\t");
    if (fields.size() > 6 && fields[0] == "cmd-server") return split_words(fields[6]);
  }
  throw std::runtime_error("no cmd-server row in scripts/services.tsv");
}

// A word no other process has on its command line: a test finds its own processes by it.
std::string unique_marker() {
  std::random_device random;
  return std::to_string(100000 + random() % 800000) + "." + std::to_string(random() % 1000000);
}

// Processes whose command line has `word` as one of its arguments (from /proc).
std::vector<pid_t> processes_with_argument(const std::string& word) {
  std::vector<pid_t> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = file_text(entry.path() / "cmdline");
    if (cmdline.find(std::string(1, '\0') + word + std::string(1, '\0')) != std::string::npos &&
        !process_gone(std::stoi(name)))
      found.push_back(std::stoi(name));
  }
  return found;
}

// Ends what a failing test left behind, by pid, so that it does not outlive the test either.
void kill_leftovers(const std::string& marker) {
  for (pid_t pid : processes_with_argument(marker)) ::kill(pid, SIGKILL);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cmd)

BOOST_DATA_TEST_CASE(commands_run_with_their_output_and_status, bdata::make(all_models()), model) {
  ServerProcess server = start_cmd(model, kEchoAndShell);
  RunResult echo = run_program("cmd-client", {server.address(), "--", "echo", "hello", "world"});
  BOOST_TEST(echo.exit_code == 0, echo.err);
  BOOST_TEST(echo.out == "hello world\n");
  RunResult status = run_program(
      "cmd-client", {server.address(), "--", "sh", "-c", "echo out; echo err >&2; exit 3"});
  BOOST_TEST(status.exit_code == 3);
  BOOST_TEST(status.out == "out\n");
  BOOST_TEST(status.err == "err\n");
  RunResult peer =
      run_program("cmd-client", {server.address(), "--", "sh", "-c", "echo $SOCKSERV_PEER"});
  BOOST_TEST(peer.out.rfind("127.0.0.1:", 0) == 0u, peer.out);
  // Signals start at their defaults, although the server ignores SIGPIPE (and a fork child
  // SIGTERM): `yes` dies quietly of SIGPIPE, and the shell can be killed by SIGTERM.
  RunResult pipe =
      run_program("cmd-client", {server.address(), "--", "sh", "-c", "yes | head -c 4; echo"});
  BOOST_TEST(pipe.out == "y\ny\n\n");
  BOOST_TEST(pipe.err == "", "yes saw EPIPE instead of dying of SIGPIPE: " << pipe.err);
  RunResult term = run_program("cmd-client", {server.address(), "--", "sh", "-c", "kill -TERM $$"});
  BOOST_TEST(term.exit_code == 128 + SIGTERM);
  RunResult stdin_null = run_program(
      "cmd-client", {server.address(), "--", "sh", "-c", "cat; echo done"}, "", 20000ms);
  BOOST_TEST(stdin_null.out == "done\n", "stdin is /dev/null");
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(interactive_prompt_runs_each_line) {
  ServerProcess server = start_cmd("fork", kEchoAndShell);
  RunResult r =
      run_program("cmd-client", {server.address()}, "echo one\nrm -rf /tmp/x\necho two\n");
  BOOST_TEST(r.out.find(">>> one\n") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("two\n") != std::string::npos, r.out);
  BOOST_TEST(r.err.find("not allowed: rm") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_command_and_its_children) {
  ServerProcess server = start_cmd("fork", {"--allow-args", "sh -c .*", "--timeout", "1"});
  // The shell starts a grandchild and prints its pid, then waits for it (60 s).
  RunResult r = run_program(
      "cmd-client", {server.address(), "--", "sh", "-c", "sleep 60 & echo $!; wait"}, "", 30000ms);
  BOOST_TEST(r.exit_code == 128 + SIGKILL, r.err);
  BOOST_TEST(r.err.find("killed after the server's timeout") != std::string::npos, r.err);
  pid_t grandchild = static_cast<pid_t>(std::stol(r.out));
  BOOST_TEST(grandchild > 0);
  BOOST_TEST(eventually([&] { return process_gone(grandchild); }, 10000ms),
             "grandchild " << grandchild << " survived");
}

BOOST_AUTO_TEST_CASE(ten_mib_of_output_is_cut_at_the_limit) {
  ServerProcess server =
      start_cmd("thread", {"--allow", "head -c 10485760 /dev/zero", "--max-output", "1048576"});
  RunResult r = run_program(
      "cmd-client", {server.address(), "--", "head", "-c", "10485760", "/dev/zero"}, "", 30000ms);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.size() == 1048576u);
  BOOST_TEST(r.err.find("output truncated") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(disallowed_commands_are_refused) {
  ServerProcess server = start_cmd("fork", {"--allow", "echo"});
  RunResult r = run_program("cmd-client", {server.address(), "--", "rm", "-rf", "/tmp/nothing"});
  BOOST_TEST(r.exit_code == 77);
  BOOST_TEST(r.err.find("not allowed: rm") != std::string::npos, r.err);
  RunResult path = run_program("cmd-client", {server.address(), "--", "/bin/echo", "x"});
  BOOST_TEST(path.err.find("not allowed: /bin/echo") != std::string::npos, path.err);
  RunResult shell = run_program("cmd-client", {server.address(), "--shell", "--", "echo", "x"});
  BOOST_TEST(shell.err.find("shell commands not allowed") != std::string::npos, shell.err);
  BOOST_TEST(server.wait_for_log("refused: not allowed: rm"), server.log());
}

BOOST_AUTO_TEST_CASE(without_allow_everything_is_refused_and_default_is_loopback) {
  ServerProcess server = start_cmd("fork", {});
  RunResult r = run_program("cmd-client", {server.address(), "--", "echo", "x"});
  BOOST_TEST(r.exit_code != 0);
  BOOST_TEST(r.err.find("no commands allowed") != std::string::npos, r.err);
  RunResult help = run_program("cmd-server", {"--help"});
  BOOST_TEST(help.out.find("Default address: 127.0.0.1:8022") != std::string::npos, help.out);
}

BOOST_AUTO_TEST_CASE(allow_shell_runs_sh_c) {
  ServerProcess server = start_cmd("thread", {"--allow-shell"});
  RunResult r = run_program("cmd-client", {server.address(), "--shell", "--", "echo a | tr a b"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "b\n");
}

BOOST_AUTO_TEST_CASE(a_broken_frame_closes_only_its_connection) {
  ServerProcess server = start_cmd("thread", {"--allow", "echo ok"});
  std::string huge = exchange(server.port(), std::string("\xff\xff\xff\xff", 4), 10000ms);
  BOOST_TEST(huge.find("protocol error: header length over the limit") != std::string::npos, huge);
  std::string no_argv = exchange(server.port(), std::string("\x00\x00\x00\x02", 4) + "{}", 10000ms);
  BOOST_TEST(no_argv.find("protocol error: bad request") != std::string::npos, no_argv);
  BOOST_TEST(run_program("cmd-client", {server.address(), "--", "echo", "ok"}).out == "ok\n");
  BOOST_TEST(server.wait_for_log("protocol error"), server.log());
}

// Defect: only argv[0] was checked, so the shipped `--allow date` printed any file the
// server's user can read (`date -f FILE` shows each line in its "invalid date" error).
BOOST_DATA_TEST_CASE(the_shipped_allow_list_reads_no_file, bdata::make(all_models()), model) {
  std::vector<std::string> shipped = shipped_arguments();
  ServerProcess server = start_cmd(model, shipped);
  RunResult r = run_program("cmd-client", {server.address(), "--", "date", "-f", "/etc/passwd"});
  BOOST_TEST(r.exit_code == EX_NOPERM, r.err);
  BOOST_TEST(r.err.find("not allowed") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("root") == std::string::npos, "a line of /etc/passwd came back: " << r.err);
  // No shipped program takes a file name, whatever the spelling.
  for (size_t i = 0; i + 1 < shipped.size(); ++i) {
    BOOST_TEST(shipped[i] != "--allow-args", "the shipped list patterns arguments");
    if (shipped[i] != "--allow") continue;
    const std::string program = split_words(shipped[i + 1]).at(0);
    for (const char* argument : {"/etc/passwd", "--file=/etc/passwd", "passwd"}) {
      RunResult file = run_program("cmd-client", {server.address(), "--", program, argument});
      BOOST_TEST(file.exit_code == EX_NOPERM, program << " " << argument << ": " << file.err);
    }
  }
  RunResult date = run_program("cmd-client", {server.address(), "--", "date"});
  BOOST_TEST(date.exit_code == 0, date.err);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_fixed_argv_entry_allows_exactly_it) {
  ServerProcess server = start_cmd("thread", {"--allow", "echo 'hello world' again"});
  RunResult r = run_program("cmd-client", {server.address(), "--", "echo", "hello world", "again"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "hello world again\n");
  for (const std::vector<std::string>& other :
       std::vector<std::vector<std::string>>{{"echo", "hello", "world", "again"},
                                             {"echo", "hello world"},
                                             {"echo", "hello world", "again", "/etc/passwd"},
                                             {"echo"}}) {
    std::vector<std::string> args{server.address(), "--"};
    args.insert(args.end(), other.begin(), other.end());
    RunResult refused = run_program("cmd-client", args);
    BOOST_TEST(refused.exit_code == EX_NOPERM, refused.out);
    BOOST_TEST(refused.err.find("not allowed with these arguments: echo") != std::string::npos,
               refused.err);
  }
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(patterned_arguments_allow_no_path_unless_the_pattern_has_one) {
  ServerProcess server = start_cmd(
      "fork", {"--allow-args", "echo [a-z]+ ...", "--allow-args", "head -c [0-9]+ /dev/zero"});
  RunResult words = run_program("cmd-client", {server.address(), "--", "echo", "a", "bc"});
  BOOST_TEST(words.out == "a bc\n", words.err);
  RunResult path = run_program("cmd-client", {server.address(), "--", "echo", "/etc"});
  BOOST_TEST(path.exit_code == EX_NOPERM, path.out);
  RunResult zero =
      run_program("cmd-client", {server.address(), "--", "head", "-c", "3", "/dev/zero"});
  BOOST_TEST(zero.exit_code == 0, zero.err);
  BOOST_TEST(zero.out == std::string(3, '\0'));
  RunResult other =
      run_program("cmd-client", {server.address(), "--", "head", "-c", "3", "/etc/passwd"});
  BOOST_TEST(other.exit_code == EX_NOPERM, other.out);
  RunResult bad = run_program("cmd-server", {"--allow-args", "date ["});
  BOOST_TEST(bad.exit_code == EX_USAGE, bad.err);
  BOOST_TEST(server.stop() == 0);
}

// Defect: the command inherited the server's whole environment, secrets included.
BOOST_DATA_TEST_CASE(commands_get_a_minimal_environment, bdata::make(all_models()), model) {
  const std::string secret = "CMD_TEST_SECRET=" + unique_marker();
  ServerProcess server = start_cmd(model, {"--allow", "env", "--env", "GREETING=hi"}, {secret});
  RunResult r = run_program("cmd-client", {server.address(), "--", "env"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find(secret) == std::string::npos, r.out);
  std::vector<std::string> names;
  for (const std::string& line : split_words(r.out, "\n"))
    names.push_back(line.substr(0, line.find('=')));
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{"GREETING", "LANG", "PATH", "SOCKSERV_PEER"}),
             r.out);
  BOOST_TEST(r.out.find("GREETING=hi\n") != std::string::npos, r.out);
  RunResult bad = run_program("cmd-server", {"--env", "SOCKSERV_PEER=1.2.3.4:5"});
  BOOST_TEST(bad.exit_code == EX_USAGE, bad.err);
  BOOST_TEST(server.stop() == 0);
}

// Defect: `setsid sleep &` left an orphan running after the reply, forever.
BOOST_DATA_TEST_CASE(a_setsid_background_process_does_not_outlive_its_request,
                     bdata::make(all_models()), model) {
  ServerProcess server = start_cmd(model, {"--allow-args", "sh -c .*", "--timeout", "60"});
  const std::string marker = unique_marker();  // sleep's argument: seconds, and our tag
  RunResult r = run_program(
      "cmd-client",
      {server.address(), "--", "sh", "-c", "setsid sleep " + marker + " & echo started"}, "",
      50000ms);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "started\n");
  BOOST_TEST(r.err.find("killed after the server's timeout") == std::string::npos, r.err);
  bool gone = eventually([&] { return processes_with_argument(marker).empty(); }, 10000ms);
  BOOST_TEST(gone, "sleep " << marker << " outlived its request");
  kill_leftovers(marker);
  BOOST_TEST(server.stop() == 0);
}

// Defect: `sleep 100 &` held the output pipe, so the reply waited the whole timeout and then
// said `timed_out: false` with exit 0, as if nothing had happened.
BOOST_DATA_TEST_CASE(a_background_process_holding_the_output_is_killed_and_reported,
                     bdata::make(all_models()), model) {
  ServerProcess server = start_cmd(model, {"--allow-args", "sh -c .*", "--timeout", "30"});
  const std::string marker = unique_marker();
  RunResult r = run_program(
      "cmd-client", {server.address(), "--", "sh", "-c", "sleep " + marker + " & echo started"}, "",
      50000ms);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "started\n");
  BOOST_TEST(
      r.err.find("the server killed 1 processes the command left running") != std::string::npos,
      r.err);
  BOOST_TEST(r.err.find("killed after the server's timeout") == std::string::npos, r.err);
  BOOST_TEST(eventually([&] { return processes_with_argument(marker).empty(); }, 10000ms));
  BOOST_TEST(server.wait_for_log("killed 1 processes the command had started"), server.log());
  kill_leftovers(marker);
  BOOST_TEST(server.stop() == 0);
}

// The timeout reaches what the command started in other sessions and groups too.
BOOST_AUTO_TEST_CASE(the_timeout_kills_processes_in_other_sessions) {
  ServerProcess server = start_cmd("thread", {"--allow-args", "sh -c .*", "--timeout", "1"});
  const std::string marker = unique_marker();
  RunResult r = run_program(
      "cmd-client",
      {server.address(), "--", "sh", "-c", "setsid sleep " + marker + " & sleep " + marker}, "",
      30000ms);
  BOOST_TEST(r.exit_code == 128 + SIGKILL, r.err);
  BOOST_TEST(r.err.find("killed after the server's timeout") != std::string::npos, r.err);
  BOOST_TEST(eventually([&] { return processes_with_argument(marker).empty(); }, 10000ms));
  kill_leftovers(marker);
}

// Defect: --timeout 0 killed every command at once, where 0 means "no limit" everywhere.
BOOST_DATA_TEST_CASE(timeout_zero_means_no_limit, bdata::make(all_models()), model) {
  ServerProcess server = start_cmd(model, {"--allow-args", "sh -c .*", "--timeout", "0"});
  RunResult r = run_program(
      "cmd-client", {server.address(), "--timeout", "0", "--", "sh", "-c", "sleep 0.5; echo done"},
      "", 30000ms);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "done\n");
  BOOST_TEST(server.stop() == 0);
}

// The same 0 for the drain time: a request in flight at SIGTERM finishes however long it takes.
BOOST_AUTO_TEST_CASE(drain_timeout_zero_lets_a_request_finish) {
  ServerProcess server = start_cmd("fork", {"--allow-args", "sh -c .*", "--drain-timeout", "0"});
  Spawned client(
      {bin_path("cmd-client"), server.address(), "--", "sh", "-c", "sleep 1.5; echo done"});
  BOOST_TEST(server.wait_for_log(": running ["), server.log());
  BOOST_TEST(server.stop(SIGTERM, 30000ms) == 0, server.log());
  BOOST_TEST(client.wait_exit(30000ms) == 0, client.log());
  BOOST_TEST(client.log() == "done\n");
  BOOST_TEST(server.log().find("no drain limit") != std::string::npos, server.log());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(cmd_server_refuses_to_run_as_root_without_user_or_allow_root,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return ::geteuid() == 0;  // only meaningful as root
                     })) {
  RunResult r =
      run_program("cmd-server", {"--listen", "127.0.0.1:0", "--allow", "echo"}, "", 5000ms);
  BOOST_TEST(r.exit_code == EX_CONFIG, r.err);
  BOOST_TEST(r.err.find("--allow-root") != std::string::npos, r.err);
}
