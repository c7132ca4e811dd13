// chat-server and chat-client: relaying in order and exactly once under fork and thread, slow
// readers dropped, vanished clients announced, /who, protocol errors, and no leftovers.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "error.hpp"
#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

// A named namespace: the data test cases' lambdas capture these types (-Wsubobject-linkage).
namespace chat_test {

const auto kRelayModels = bdata::make(concurrent_models());
const auto kAllModels = bdata::make(all_models());

ServerProcess start_chat(const std::string& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  std::vector<std::string> room = room_for(model, 64);  // the largest room a test makes
  args.insert(args.end(), room.begin(), room.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("chat-server", args);
}

// One member, talking through a raw socket so the test sees every byte the server sends.
class Member {
 public:
  explicit Member(UniqueFd socket, const std::string& nick = "") : fd_(std::move(socket)) {
    set_nonblocking(fd_.get(), true);
    greeting_ = next_line().value_or("");
    if (!nick.empty()) {
      say("/nick " + nick);
      BOOST_REQUIRE(wait_for("*** you are now " + nick));
    }
  }
  Member(uint16_t port, const std::string& nick = "") : Member(connect_tcp(port), nick) {}

  void say(const std::string& text) { write_all(fd_.get(), text + "\n", Deadline::after(10s)); }

  // The next line from the server; nullopt at end of file or after `timeout`.
  std::optional<std::string> next_line(Millis timeout = 20s) {
    Deadline deadline = Deadline::after(timeout);
    for (;;) {
      size_t end = buffer_.find('\n');
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      char chunk[65536];
      try {
        size_t n = read_some(fd_.get(), std::as_writable_bytes(std::span(chunk)), deadline);
        if (n == 0) return std::nullopt;
        buffer_.append(chunk, n);
      } catch (const TimeoutError&) {
        return std::nullopt;
      }
    }
  }

  // Reads lines until one starts with `prefix`; returns it (nullopt: never came).
  std::optional<std::string> wait_for(const std::string& prefix, Millis timeout = 20s) {
    Deadline deadline = Deadline::after(timeout);
    while (!deadline.expired()) {
      std::optional<std::string> line = next_line(timeout);
      if (!line) return std::nullopt;
      if (line->starts_with(prefix)) return line;
    }
    return std::nullopt;
  }

  // Reads lines until one ends with `suffix`; false if none came.
  bool wait_for_end(const std::string& suffix) {
    for (int i = 0; i < 1000; ++i) {
      std::optional<std::string> line = next_line();
      if (!line) return false;
      if (line->ends_with(suffix)) return true;
    }
    return false;
  }

  // Everything up to end of file (bounded).
  std::string rest(Millis timeout = 20s) { return buffer_ + read_to_eof(fd_.get(), timeout); }

  std::vector<std::string> who() {
    say("/who");
    std::vector<std::string> entries;
    for (int i = 0; i < 1000; ++i) {
      std::optional<std::string> line = next_line();
      if (!line || line->starts_with("*** end of who")) break;
      if (line->starts_with("*** who: ")) entries.push_back(line->substr(9));
    }
    return entries;
  }

  uint16_t local_port() const {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }
  const std::string& greeting() const { return greeting_; }
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  std::string buffer_;
  std::string greeting_;
};

// A chat-client process with a pipe on its stdin and its stdout thrown away.
class ClientProcess {
 public:
  explicit ClientProcess(const std::vector<std::string>& args) {
    std::string path = bin_path("chat-client");
    std::vector<std::string> all{path};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : all) argv.push_back(arg.data());
    argv.push_back(nullptr);
    Pipe input = make_pipe(false);
    UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    pid_ = ::fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(input.read_end.get(), STDIN_FILENO);
      ::dup2(null.get(), STDOUT_FILENO);
      ::execv(path.c_str(), argv.data());
      ::_exit(127);
    }
    stdin_ = std::move(input.write_end);
  }
  ~ClientProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ClientProcess(const ClientProcess&) = delete;
  ClientProcess& operator=(const ClientProcess&) = delete;

  void kill9() { ::kill(pid_, SIGKILL); }
  // Waits for the exit (bounded); the exit status, or -1 (signal, timeout).
  int wait_exit(Millis timeout = 20s) {
    int status = 0;
    bool done = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!done) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd stdin_;
};

// ThreadSanitizer adds a background thread to every process it instruments, once the
// process has started a thread of its own.
#if defined(__SANITIZE_THREAD__)
constexpr size_t kBaseThreads = 2;
#else
constexpr size_t kBaseThreads = 1;
#endif

// The epoll model's threads are fixed: 2 event loops (start_chat's --workers 2) and the 4
// helper threads for file work. What goes with each member there is its socket.
constexpr size_t kEpollThreads = 2 + 4;

// Once only `members` are still connected, under epoll: the two loops' listening sockets
// on the port, and the members' sockets.
void check_epoll_left_but(const ServerProcess& server, size_t members) {
  size_t sockets = 0, threads = 0;
  BOOST_TEST(eventually(
                 [&] {
                   sockets = socket_count(server.pid());
                   threads = thread_count(server.pid());
                   return sockets <= 2 + members && threads == kBaseThreads + kEpollThreads;
                 },
                 20s),
             "sockets " << sockets << ", threads " << threads);
  BOOST_TEST(children_of(server.pid()).empty());
}

// Once only `members` are still connected: as many children (fork) or connection threads
// (thread) as that, and no zombies.
// The processes or threads a model keeps whether or not anyone is connected: the pools'
// workers (start_chat makes room for 64). The event loops are counted apart (above).
size_t standing(const std::string& model) {
  return model == "prefork" || model == "prethread" ? 64 : 0;
}

void check_nothing_left_but(const ServerProcess& server, const std::string& model, size_t members) {
  if (model == "epoll") return check_epoll_left_but(server, members);
  members += standing(model);
  size_t children = 0, threads = 0;
  BOOST_TEST(eventually(
                 [&] {
                   children = children_of(server.pid()).size();
                   threads = thread_count(server.pid());
                   return children <= members && threads <= kBaseThreads + members &&
                          children + threads <= kBaseThreads + members;
                 },
                 20s),
             "children " << children << ", threads " << threads);
  BOOST_TEST(zombie_children(server.pid()) == 0u);
}

// After everyone has left: no children, no zombies, no threads but the main one.
void check_nothing_left(const ServerProcess& server, const std::string& model) {
  check_nothing_left_but(server, model, 0);
}

}  // namespace chat_test

using namespace chat_test;

BOOST_AUTO_TEST_SUITE(chat)

BOOST_DATA_TEST_CASE(fifty_members_get_every_line_of_the_others_once_in_order, kRelayModels,
                     model) {
  constexpr int kMembers = 50, kLines = 20;
  ServerProcess server = start_chat(model);
  std::vector<std::unique_ptr<Member>> members;
  // Each member has joined once its greeting has arrived, so nobody misses a line.
  for (int i = 0; i < kMembers; ++i)
    members.push_back(std::make_unique<Member>(server.port(), "m" + std::to_string(i)));
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < kMembers; ++i) {
    results.push_back(std::async(std::launch::async, [&, i]() -> std::string {
      Member& me = *members[static_cast<size_t>(i)];
      for (int j = 0; j < kLines; ++j) me.say("line " + std::to_string(j));
      std::map<int, int> next;  // sender -> the line number expected next
      int received = 0;
      while (received < (kMembers - 1) * kLines) {
        std::optional<std::string> line = me.next_line(60s);
        if (!line)
          return "member " + std::to_string(i) + ": only " + std::to_string(received) + " lines";
        int sender = 0, number = 0;
        if (std::sscanf(line->c_str(), "[m%d] line %d", &sender, &number) != 2) continue;
        if (sender == i) return "member " + std::to_string(i) + " got its own line back";
        if (number != next[sender]++)
          return "member " + std::to_string(i) + ": out of order: " + *line;
        ++received;
      }
      for (const auto& [sender, count] : next) {
        if (count != kLines)
          return "member " + std::to_string(i) + ": wrong count from m" + std::to_string(sender);
      }
      return "";
    }));
  }
  for (auto& result : results) BOOST_TEST(result.get() == "");
  // Nothing more: a duplicate would show up before the answer to /who.
  std::vector<std::string> who = members[0]->who();
  BOOST_TEST(who.size() == static_cast<size_t>(kMembers));
  for (auto& member : members) member->say("/quit");
  for (auto& member : members) BOOST_TEST(member->rest().ends_with("*** bye\n"));
  check_nothing_left(server, model);
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(a_member_that_stops_reading_is_dropped_and_the_others_carry_on, kRelayModels,
                     model) {
  constexpr int kLines = 2000;
  ServerProcess server = start_chat(model, {"--max-queue", "65536", "--sndbuf", "16384"});
  // A small receive buffer, set before connecting, so the kernel holds little for this member.
  UniqueFd slow_socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int small = 4096;
  ::setsockopt(slow_socket.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(
      ::connect(slow_socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  Member slow(std::move(slow_socket), "slow");
  Member sender(server.port(), "sender");
  Member receiver(server.port(), "receiver");
  std::string payload(1000, 'x');
  std::atomic<int> received = 0;
  // The sender keeps within a few lines of the receiver: the receiver is never slow itself,
  // while the member that reads nothing falls ever further behind.
  auto sending = std::async(std::launch::async, [&] {
    for (int j = 0; j < kLines; ++j) {
      if (!eventually([&] { return j - received < 16; }, 30s)) return;
      sender.say(std::to_string(j) + " " + payload);
    }
  });
  bool slow_left = false;
  while (received < kLines || !slow_left) {
    std::optional<std::string> line = receiver.next_line(60s);
    if (!line) break;
    if (line->starts_with("[sender] ")) ++received;
    if (line->starts_with("*** slow left (too slow")) slow_left = true;
  }
  sending.get();
  BOOST_TEST(received == kLines);
  // The server's log says which side dropped the member (the hub or its own queue), if any.
  BOOST_TEST(slow_left, "never announced; the server's log:\n" << server.log());
  // The slow member is told why, then disconnected.
  BOOST_TEST(slow.rest().find("!!! disconnected: too slow") != std::string::npos);
  BOOST_TEST(receiver.who().size() == 2u);
  BOOST_TEST(server.running());
}

BOOST_DATA_TEST_CASE(a_killed_client_is_announced_and_the_others_carry_on, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  Member a(server.port(), "a");
  Member b(server.port(), "b");
  ClientProcess victim({server.address(), "--nick", "victim"});
  BOOST_REQUIRE(a.wait_for_end("is now known as victim"));
  a.say("hello victim");
  BOOST_REQUIRE(b.wait_for("[a] hello victim"));
  victim.kill9();
  BOOST_TEST(victim.wait_exit() == -1);
  BOOST_TEST(a.wait_for("*** victim left").has_value());
  BOOST_TEST(b.wait_for("*** victim left").has_value());
  a.say("still here");
  BOOST_TEST(b.wait_for("[a] still here").has_value());
  std::vector<std::string> who = b.who();
  BOOST_TEST(who.size() == 2u);
  a.close();
  b.close();
  check_nothing_left(server, model);
}

BOOST_DATA_TEST_CASE(a_reset_connection_is_announced, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  Member a(server.port(), "a");
  auto gone = std::make_unique<Member>(server.port(), "gone");
  // SO_LINGER with a zero timeout: close() sends RST instead of FIN, as a crashed peer might.
  linger hard{1, 0};
  BOOST_REQUIRE(::setsockopt(gone->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
  gone.reset();
  BOOST_TEST(a.wait_for("*** gone left").has_value());
  BOOST_TEST(a.who().size() == 1u);
  check_nothing_left_but(server, model, 1);
}

BOOST_DATA_TEST_CASE(chat_over_a_unix_socket, kRelayModels, model) {
  TempDir directory("chat-unix");  // outlives the server; takes its socket file with it
  std::string path = (directory.path / ("chat-" + std::string(model))).string();
  ServerProcess server("chat-server", {"--listen", "unix:" + path, "--model", model});
  RunResult first = run_program("chat-client", {"unix:" + path, "--nick", "u1"}, "/who\n/quit\n");
  BOOST_TEST(first.exit_code == 0);
  BOOST_TEST(first.out.find("*** who: u1 unix:") != std::string::npos);
  BOOST_TEST(first.out.find("*** bye") != std::string::npos);
}

BOOST_DATA_TEST_CASE(who_lists_exactly_the_members_connected, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  std::vector<std::unique_ptr<Member>> members;
  for (int i = 0; i < 3; ++i)
    members.push_back(std::make_unique<Member>(server.port(), "w" + std::to_string(i)));
  std::vector<std::string> who = members[0]->who();
  BOOST_REQUIRE(who.size() == 3u);
  for (size_t i = 0; i < 3; ++i) {
    std::string expected = "w" + std::to_string(i) +
                           " 127.0.0.1:" + std::to_string(members[i]->local_port()) + " since ";
    BOOST_TEST(who[i].starts_with(expected), who[i] << " should start with " << expected);
  }
  members[2]->say("/quit");
  BOOST_TEST(members[2]->rest().ends_with("*** bye\n"));
  BOOST_TEST(members[0]->wait_for("*** w2 left").has_value());
  who = members[0]->who();
  BOOST_TEST(who.size() == 2u);
  BOOST_TEST(who.at(1).starts_with("w1 "));
}

BOOST_DATA_TEST_CASE(bad_lines_get_an_error_and_the_connection_stays, kAllModels, model) {
  ServerProcess server = start_chat(model, {"--max-line", "100"});
  Member m(server.port());
  BOOST_TEST(m.greeting().starts_with("*** welcome to sockserv chat, you are 127.0.0.1-"));
  m.say(std::string(101, 'x'));
  BOOST_TEST(m.next_line().value_or("").starts_with("!!! line too long"));
  m.say("bad \xff\xfe text");
  BOOST_TEST(m.next_line().value_or("") == "!!! not UTF-8: dropped");
  m.say("/nick no/slashes");
  BOOST_TEST(m.next_line().value_or("").starts_with("!!! invalid nick"));
  m.say("/dance");
  BOOST_TEST(m.next_line().value_or("").starts_with("!!! unknown command /dance"));
  m.say("/nick okay");
  BOOST_TEST(m.next_line().value_or("") == "*** you are now okay");
  BOOST_TEST(m.who().size() == 1u);
  m.say("/quit");
  BOOST_TEST(m.rest() == "*** bye\n");
  BOOST_TEST(server.running());
}

BOOST_DATA_TEST_CASE(nicks_are_unique, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  Member a(server.port(), "same");
  Member b(server.port());
  b.say("/nick same");
  // Notices about others (a's rename, relayed asynchronously) may come first.
  BOOST_TEST(b.wait_for("!!! nick").value_or("") == "!!! nick same is taken");
  b.say("/me waves");
  BOOST_TEST(a.wait_for("* ").value_or("").ends_with(" waves"));
}

BOOST_DATA_TEST_CASE(chat_client_in_a_pipe_leaves_cleanly, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  Member listener(server.port(), "listener");
  RunResult quit =
      run_program("chat-client", {server.address(), "--nick", "piped"}, "hello\n/quit\n");
  BOOST_TEST(quit.exit_code == 0);
  BOOST_TEST(quit.out.find("*** bye") != std::string::npos);
  BOOST_TEST(listener.wait_for("[piped] hello").has_value());
  RunResult eof = run_program("chat-client", {server.address()}, "no quit, just the end\n");
  BOOST_TEST(eof.exit_code == 0);
  BOOST_TEST(listener.wait_for("[").value_or("").ends_with("] no quit, just the end"));
}

BOOST_AUTO_TEST_CASE(chat_client_fails_when_the_server_goes_away) {
  ServerProcess server = start_chat("thread", {"--drain-timeout", "0.2"});
  Member watcher(server.port());
  ClientProcess client({server.address()});
  BOOST_REQUIRE(watcher.wait_for("*** ").value_or("").ends_with(" joined"));  // the client is in
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST(client.wait_exit() == 69);
}

BOOST_AUTO_TEST_SUITE_END()

// A member typing half a line (telnet sends each keystroke) still receives the others'
// lines: the server reads only complete lines after a wait, never waits on the socket alone.
BOOST_DATA_TEST_CASE(a_member_typing_half_a_line_still_receives, kRelayModels, model) {
  ServerProcess server = start_chat(model);
  Member typist(server.port(), "typist");
  Member talker(server.port(), "talker");
  write_all(typist.fd(), std::string_view("hal"), Deadline::after(5s));  // no newline yet
  talker.say("hello");
  BOOST_TEST(typist.wait_for("[talker] hello", 5s).has_value());
  typist.say("f a line");  // completes "half a line"
  BOOST_TEST(talker.wait_for("[typist] half a line", 5s).has_value());
}
