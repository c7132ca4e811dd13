// The pooled models' own behaviour: prefork replaces workers and sizes its pool, prethread
// queues rather than drops, every model drains, --stats and --list-models report. (The
// services themselves run under every model in the other test files.)
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "harness.hpp"
#include "peers.hpp"

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;
using namespace sockserv;
using namespace sockserv::test;

namespace {

ServerProcess start_echo(const std::string& model, std::vector<std::string> extra) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("echo-server", args);
}

bool echoes(uint16_t port, const std::string& text = "ping") {
  return exchange(port, text, 5000ms) == text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(models)

BOOST_AUTO_TEST_CASE(list_models_prints_the_table_one_name_per_line) {
  RunResult run = run_program("echo-server", {"--list-models"});
  BOOST_TEST(run.exit_code == 0);
  std::string names;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) names += line.substr(0, line.find('\t')) + " ";
  std::string expected;
  for (const std::string& model : all_models()) expected += model + " ";
  BOOST_TEST(names == expected);
  BOOST_TEST(run_program("echo-server", {"--model", "nonesuch"}).exit_code == 64);
}

// ForkModel keeps a second descriptor of the connection until _exit, which frees the child's
// memory before it closes descriptors: when the client sees EOF, the child's memory is gone
// (its status has no VmRSS line, or the process itself is gone), so the parent, already
// accepting the client's next connection, copies none of the pages it shared with it.
BOOST_AUTO_TEST_CASE(fork_a_client_sees_eof_only_after_the_child_has_freed_its_memory) {
  ServerProcess server = start_echo("fork", {});
  for (int i = 0; i < 10; ++i) {
    // The last connection's child may not be reaped yet: the new child is the one not here.
    std::vector<pid_t> before = children_of(server.pid());
    UniqueFd client = connect_tcp(server.port());
    write_all(client.get(), "ping");
    std::byte reply[4];
    BOOST_REQUIRE(read_full(client.get(), reply, Deadline::after(5000ms)) == 4u);
    std::vector<pid_t> children;
    for (pid_t child : children_of(server.pid()))
      if (std::find(before.begin(), before.end(), child) == before.end()) children.push_back(child);
    BOOST_REQUIRE(children.size() == 1u);  // the child serving this connection
    // Opened now, read right after EOF: /proc makes the text at each read.
    std::string path = "/proc/" + std::to_string(children[0]) + "/status";
    UniqueFd status_file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    BOOST_REQUIRE(status_file);
    BOOST_REQUIRE(::shutdown(client.get(), SHUT_WR) == 0);
    BOOST_REQUIRE(read_to_eof(client.get(), 5000ms).empty());
    char status[4096];
    ssize_t n = ::pread(status_file.get(), status, sizeof status - 1, 0);
    // ESRCH: the child is already gone, which frees its memory too.
    BOOST_REQUIRE((n >= 0 || errno == ESRCH));
    std::string_view text(status, n > 0 ? static_cast<size_t>(n) : 0);
    BOOST_TEST(text.find("VmRSS:") == std::string_view::npos, "the child still has its memory");
  }
}

// A client refused by the access rules was accepted first: the worker that woke for it did
// not wake for nothing. One worker, so no other one can take a client first.
BOOST_DATA_TEST_CASE(refused_clients_are_not_counted_as_empty_wakeups,
                     bdata::make({"prefork", "prethread", "epoll"}), model) {
  ServerProcess server =
      start_echo(model, {"--workers", "1", "--stats", "--deny-from", "127.0.0.1"});
  for (int i = 0; i < 3; ++i) {
    UniqueFd client = connect_tcp(server.port());
    BOOST_TEST(read_to_eof(client.get(), 5000ms).empty(), "refused: closed at once");
  }
  ::kill(server.pid(), SIGUSR1);
  BOOST_TEST(server.wait_for_log("stats: total: accepted 3, empty wake-ups 0,"), server.log());
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(prefork_replaces_a_killed_worker) {
  ServerProcess server = start_echo("prefork", {"--workers", "3"});
  BOOST_REQUIRE(eventually([&] { return children_of(server.pid()).size() == 3; }));
  pid_t victim = children_of(server.pid()).front();
  ::kill(victim, SIGKILL);
  BOOST_TEST(eventually([&] {
    std::vector<pid_t> now = children_of(server.pid());
    return now.size() == 3 && std::find(now.begin(), now.end(), victim) == now.end();
  }));
  for (int i = 0; i < 10; ++i) BOOST_TEST(echoes(server.port()));
  BOOST_TEST(zombie_children(server.pid()) == 0u);
}

BOOST_AUTO_TEST_CASE(prefork_worker_past_max_requests_is_replaced) {
  ServerProcess server = start_echo("prefork", {"--workers", "1", "--max-requests", "3"});
  BOOST_REQUIRE(eventually([&] { return children_of(server.pid()).size() == 1; }));
  pid_t first = children_of(server.pid()).front();
  for (int i = 0; i < 7; ++i) BOOST_TEST(echoes(server.port()));
  BOOST_TEST(server.wait_for_log("served 3 connections (--max-requests): replacing it"),
             server.log());
  BOOST_TEST(eventually([&] {
    std::vector<pid_t> now = children_of(server.pid());
    return now.size() == 1 && now.front() != first;
  }));
}

// Apache's spare-server logic: busy connections make idle workers scarce, the pool grows;
// when they end, the idle surplus is retired, one a second.
BOOST_AUTO_TEST_CASE(prefork_spare_pool_grows_under_load_and_shrinks_after) {
  ServerProcess server =
      start_echo("prefork", {"--workers", "2", "--min-spare", "2", "--max-spare", "3"});
  BOOST_REQUIRE(eventually([&] { return children_of(server.pid()).size() == 2; }));
  std::vector<UniqueFd> held;
  for (int i = 0; i < 6; ++i) {
    held.push_back(connect_tcp(server.port()));
    write_all(held.back().get(), std::string_view("x"), Deadline::after(5s));
  }
  BOOST_TEST(eventually([&] { return children_of(server.pid()).size() >= 8; }, 15000ms),
             children_of(server.pid()).size());
  held.clear();  // the six connections end: their workers are idle now
  BOOST_TEST(eventually([&] { return children_of(server.pid()).size() <= 3; }, 20000ms),
             children_of(server.pid()).size());
  BOOST_TEST(echoes(server.port()));
}

BOOST_DATA_TEST_CASE(prefork_accept_locks_and_pass_fd_serve_every_client,
                     bdata::make({"--accept-lock=flock", "--accept-lock=mutex", "--pass-fd"}),
                     variant) {
  ServerProcess server = start_echo("prefork", {"--workers", "3", variant});
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back(
        [&, i] { good += echoes(server.port(), "client " + std::to_string(i)) ? 1 : 0; });
  }
  for (std::thread& t : clients) t.join();
  BOOST_TEST(good.load() == 12);
  BOOST_TEST(server.stop() == 0);
}

// serv08: with every worker busy and the queue full, the main thread stops accepting; the
// next client waits in the listen backlog and is served once a worker is free.
BOOST_AUTO_TEST_CASE(prethread_main_accept_with_a_full_queue_defers_clients) {
  ServerProcess server =
      start_echo("prethread", {"--workers", "1", "--main-accept", "--queue-size", "1"});
  UniqueFd busy = connect_tcp(server.port());  // the one worker serves this
  write_all(busy.get(), std::string_view("x"), Deadline::after(5s));
  UniqueFd queued = connect_tcp(server.port());  // waits in the queue
  write_all(queued.get(), std::string_view("q"), Deadline::after(5s));
  auto deferred =
      std::async(std::launch::async, [&] { return exchange(server.port(), "later", 20000ms); });
  // Not served yet, and not refused either (a refusal would end the exchange at once).
  BOOST_TEST((deferred.wait_for(300ms) == std::future_status::timeout));
  busy.reset();
  ::shutdown(queued.get(), SHUT_WR);
  BOOST_TEST(read_to_eof(queued.get(), 10000ms) == "q");
  BOOST_TEST(deferred.get() == "later");
}

// A handler that cannot be reached by the drain (hashing a huge file, no I/O to interrupt)
// must not keep a thread-based server from exiting.
BOOST_DATA_TEST_CASE(a_handler_stuck_past_the_drain_does_not_hang_the_exit,
                     bdata::make({"thread", "prethread"}), model) {
  fs::path root = fs::temp_directory_path() / ("sockserv-stuck-" + std::to_string(::getpid()));
  fs::create_directories(root);
  {
    std::ofstream(root / "huge").close();
    fs::resize_file(root / "huge", uint64_t{200} << 30);  // sparse: hashing takes minutes
  }
  ServerProcess server("file-server",
                       {"--listen", "127.0.0.1:0", "--model", model, "--root", root.string(),
                        "--drain-timeout", "0.5", "--log-level", "debug"});
  std::thread get([&] {
    run_program("file-client", {server.address(), "get", "huge", "-o", "/dev/null"}, "", 10000ms);
  });
  // Once the get is accepted, its request follows at once and the handler hashes for
  // minutes. (A fixed sleep was not enough under a sanitizer on a loaded machine: the client
  // had not connected, and the drain found nothing stuck.)
  BOOST_TEST_REQUIRE(server.wait_for_log("connection from", 10000ms), server.log());
  std::this_thread::sleep_for(300ms);
  auto begin = Clock::now();
  int status = server.stop(SIGTERM, 10000ms);
  BOOST_TEST((Clock::now() - begin < 5000ms));
  BOOST_TEST(status != -1);
  BOOST_TEST(server.log().find("did not end after the drain time") != std::string::npos,
             server.log());
  get.join();
  fs::remove_all(root);
}

// The part of the log after the server began to stop: what it reported at exit.
std::string log_at_exit(const ServerProcess& server) {
  std::string log = server.log();
  size_t stopping = log.rfind("stopping");
  return stopping == std::string::npos ? std::string() : log.substr(stopping);
}

BOOST_DATA_TEST_CASE(stats_on_sigusr1_and_on_exit, bdata::make({"prefork", "prethread"}), model) {
  ServerProcess server = start_echo(model, {"--workers", "2", "--stats"});
  for (int i = 0; i < 5; ++i) BOOST_TEST(echoes(server.port()));
  ::kill(server.pid(), SIGUSR1);
  BOOST_TEST(server.wait_for_log("stats: total: accepted 5,"), server.log());
  BOOST_TEST(server.stop() == 0);
  // At exit every worker has ended, and each still has its line and its counts.
  std::string at_exit = log_at_exit(server);
  BOOST_TEST(at_exit.find("stats: total: accepted 5,") != std::string::npos, server.log());
  std::string worker = std::string(model) == "prefork" ? "worker " : "thread ";
  BOOST_TEST(at_exit.find("stats: " + worker + "1") != std::string::npos, server.log());
  BOOST_TEST(at_exit.find("stats: " + worker + "2") != std::string::npos, server.log());
  BOOST_TEST(at_exit.find("peak rss") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stats_count_the_prefork_workers_replaced_before_the_exit) {
  ServerProcess server = start_echo(
      "prefork", {"--workers", "1", "--max-requests", "1", "--max-per-source", "0", "--stats"});
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(echoes(server.port()));
    // Each worker serves one connection; wait until the parent has reaped and replaced it.
    BOOST_TEST(eventually([&] {
                 return count_of(server.log(), "(--max-requests): replacing it") == size_t(i + 1);
               }),
               server.log());
  }
  BOOST_TEST(server.stop() == 0);
  std::string at_exit = log_at_exit(server);
  BOOST_TEST(at_exit.find("stats: 3 workers replaced earlier: accepted 3,") != std::string::npos,
             server.log());
  BOOST_TEST(at_exit.find("stats: total: accepted 3,") != std::string::npos, server.log());
}

// Signals blocked in this thread while it lives: a process started meanwhile inherits them.
struct BlockedSignals {
  explicit BlockedSignals(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int signo : signals) sigaddset(&set, signo);
    ::pthread_sigmask(SIG_BLOCK, &set, &old);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  sigset_t old;
};

// A signal mask is inherited across exec: a server started with SIGCHLD and SIGTERM blocked
// unblocks them, or it would never reap a child (stalling at --max-children) nor stop.
BOOST_AUTO_TEST_CASE(a_server_started_with_its_signals_blocked_still_reaps_and_stops) {
  auto start_blocked = [] {
    BlockedSignals blocked{SIGCHLD, SIGTERM};
    return std::make_unique<ServerProcess>(
        "echo-server", std::vector<std::string>{"--listen", "127.0.0.1:0", "--model", "fork",
                                                "--max-children", "1", "--max-per-source", "0"});
  };
  std::unique_ptr<ServerProcess> server = start_blocked();
  // The server's own mask: neither signal blocked any more (bit N-1 stands for signal N).
  std::ifstream status("/proc/" + std::to_string(server->pid()) + "/status");
  uint64_t blocked_mask = ~0ULL;
  for (std::string row; std::getline(status, row);) {
    if (row.rfind("SigBlk:", 0) == 0) blocked_mask = std::stoull(row.substr(7), nullptr, 16);
  }
  BOOST_TEST((blocked_mask & (1ULL << (SIGCHLD - 1))) == 0u);
  BOOST_TEST((blocked_mask & (1ULL << (SIGTERM - 1))) == 0u);
  for (int i = 0; i < 3; ++i) BOOST_TEST(echoes(server->port()));
  BOOST_TEST(server->stop(SIGTERM, 5000ms) == 0, server->log());
}

BOOST_AUTO_TEST_SUITE_END()
