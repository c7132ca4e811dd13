// cmd-server and cmd-client: allowed commands under every model, exit statuses and signals,
// the timeout that kills a whole process group, output limits, refusals.
#include <signal.h>
#include <sysexits.h>
#include <unistd.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {

ServerProcess start_cmd(const std::string& model, std::vector<std::string> extra) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  // cmd-server will not run clients' commands as root: the tests (root here) drop to nobody.
  if (::geteuid() == 0) args.insert(args.end(), {"--user", "nobody"});
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("cmd-server", args);
}

// A pid is gone when kill(pid, 0) fails, or when only its zombie is left for init to reap.
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state == "Z";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cmd)

BOOST_DATA_TEST_CASE(commands_run_with_their_output_and_status, bdata::make(all_models()), model) {
  ServerProcess server = start_cmd(model, {"--allow", "echo", "--allow", "sh"});
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
  ServerProcess server = start_cmd("fork", {"--allow", "echo"});
  RunResult r =
      run_program("cmd-client", {server.address()}, "echo one\nrm -rf /tmp/x\necho two\n");
  BOOST_TEST(r.out.find(">>> one\n") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("two\n") != std::string::npos, r.out);
  BOOST_TEST(r.err.find("not allowed: rm") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_command_and_its_children) {
  ServerProcess server = start_cmd("fork", {"--allow", "sh", "--timeout", "1"});
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
  ServerProcess server = start_cmd("thread", {"--allow", "head", "--max-output", "1048576"});
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
  ServerProcess server = start_cmd("thread", {"--allow", "echo"});
  std::string huge = exchange(server.port(), std::string("\xff\xff\xff\xff", 4), 10000ms);
  BOOST_TEST(huge.find("protocol error: header length over the limit") != std::string::npos, huge);
  std::string no_argv = exchange(server.port(), std::string("\x00\x00\x00\x02", 4) + "{}", 10000ms);
  BOOST_TEST(no_argv.find("protocol error: bad request") != std::string::npos, no_argv);
  BOOST_TEST(run_program("cmd-client", {server.address(), "--", "echo", "ok"}).out == "ok\n");
  BOOST_TEST(server.wait_for_log("protocol error"), server.log());
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
