// echo-server under every model: sizes, concurrency, transports, signals, limits, leaks.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "address.hpp"
#include "error.hpp"
#include "harness.hpp"
#include "namespaces.hpp"
#include "socket.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace {
const auto kModels = bdata::make(all_models());

ServerProcess start_echo(const std::string& model, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--model", model};
  args.insert(args.end(), extra.begin(), extra.end());
  return ServerProcess("echo-server", args);
}

// A fresh unix socket path in a directory of this test run, removed when the run ends (the
// servers are killed, so they cannot remove their socket files themselves).
std::string unique_path(const std::string& stem) {
  static const TempDir directory("unix");
  return (directory.path /
          (stem + "-" + std::to_string(Clock::now().time_since_epoch().count() % 1000000)))
      .string();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(echo)

BOOST_DATA_TEST_CASE(round_trips_of_1_byte_64k_and_8m, kModels, model) {
  ServerProcess server = start_echo(model);
  for (size_t size : {size_t{1}, size_t{64 * 1024}, size_t{8 * 1024 * 1024}}) {
    std::string data = random_bytes(size, static_cast<unsigned>(size));
    BOOST_TEST(exchange(server.port(), data) == data, "round trip of " << size << " bytes");
  }
  BOOST_TEST(server.stop() == 0);
}

BOOST_DATA_TEST_CASE(fifty_concurrent_clients, kModels, model) {
  ServerProcess server = start_echo(model);
  std::vector<std::future<bool>> results;
  for (unsigned i = 0; i < 50; ++i) {
    results.push_back(std::async(std::launch::async, [&server, i] {
      std::string data = random_bytes(100'000, i);
      return exchange(server.port(), data) == data;
    }));
  }
  size_t good = 0;
  for (auto& r : results) good += r.get() ? 1 : 0;
  BOOST_TEST(good == 50u);
}

BOOST_DATA_TEST_CASE(upper_replies_upper_cased, kModels, model) {
  ServerProcess server = start_echo(model, {"--upper"});
  BOOST_TEST(exchange(server.port(), "hello, World 123\n") == "HELLO, WORLD 123\n");
}

BOOST_DATA_TEST_CASE(one_byte_writes_and_merged_writes_give_identical_output, kModels, model) {
  ServerProcess server = start_echo(model, {"--upper"});
  std::string conversation = "line one\nline two\r\nthird line without end";
  UniqueFd fd = connect_tcp(server.port());
  for (char c : conversation) write_all(fd.get(), std::string_view(&c, 1));
  ::shutdown(fd.get(), SHUT_WR);
  std::string from_single_bytes = read_to_eof(fd.get());
  std::string from_merged = exchange(server.port(), conversation);
  BOOST_TEST(from_single_bytes == from_merged);
  BOOST_TEST(from_merged == "LINE ONE\nLINE TWO\r\nTHIRD LINE WITHOUT END");
}

// TCP urgent data (telnet sends it for an interrupt): a read stops short at its mark with the
// rest still queued. The epoll model waits for a new edge after a short read, unless the
// connection has had urgent data; without that exception "def" would wait for the client's
// next bytes. The client sends no EOF: that would be a new edge and hide the stall.
BOOST_DATA_TEST_CASE(urgent_data_does_not_stall_the_bytes_behind_it, kModels, model) {
  ServerProcess server = start_echo(model);
  for (int i = 0; i < 10; ++i) {
    UniqueFd fd = connect_tcp(server.port());
    BOOST_REQUIRE(::send(fd.get(), "abc", 3, 0) == 3);
    BOOST_REQUIRE(::send(fd.get(), "!", 1, MSG_OOB) == 1);  // out of band: not echoed
    BOOST_REQUIRE(::send(fd.get(), "def", 3, 0) == 3);
    std::string reply(6, '\0');
    size_t got =
        read_full(fd.get(), std::as_writable_bytes(std::span(reply)), Deadline::after(3000ms));
    BOOST_TEST(reply.substr(0, got) == "abcdef", "connection " << i);
  }
}

BOOST_DATA_TEST_CASE(udp_datagrams_of_9000_and_65507_bytes_come_back_intact, kModels, model) {
  ServerProcess server("echo-server", {"--listen", "udp:127.0.0.1:0", "--model", model});
  UniqueFd socket = udp_socket();
  for (size_t size : {size_t{1}, size_t{9000}, size_t{65507}}) {
    std::string data = random_bytes(size, 7);
    BOOST_TEST(udp_exchange(socket.get(), server.port(), data) == data, size << "-byte datagram");
  }
}

// With --max-rate, prefork's parent accepts and passes descriptors; a datagram cannot travel
// that way, so the parent answers it (a worker given one died, and nothing came back).
BOOST_DATA_TEST_CASE(udp_is_answered_when_limits_count_in_one_place, kModels, model) {
  ServerProcess server("echo-server", {"--listen", "127.0.0.1:0", "--listen", "udp:127.0.0.1:0",
                                       "--model", model, "--max-rate", "50"});
  UniqueFd socket = udp_socket();
  BOOST_TEST(udp_exchange(socket.get(), server.port(1), "ping") == "ping");
  BOOST_TEST(exchange(server.port(0), "pong") == "pong");
  BOOST_TEST(server.running());
}

BOOST_DATA_TEST_CASE(unix_stream_and_datagram, kModels, model) {
  std::string stream_path = unique_path("echo");
  std::string dgram_path = unique_path("echo-dg");
  {
    ServerProcess server("echo-server",
                         {"--listen", "unix:" + stream_path, "--listen", "unixgram:" + dgram_path,
                          "--model", model, "--upper", "--unix-mode", "0600"});
    struct stat st {};
    BOOST_REQUIRE(::stat(stream_path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    // Each listener is named as a client would be given it.
    BOOST_TEST(server.wait_for_log("listening on unix:" + stream_path + " (unix,"), server.log());
    BOOST_TEST(server.wait_for_log("listening on unixgram:" + dgram_path + " (unixgram,"),
               server.log());
    RunResult r =
        run_program("echo-client", {"unix:" + stream_path, "--message", "abc", "--count", "3"});
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(r.out == "ABC\nABC\nABC\n");
    RunResult d = run_program("echo-client", {"unixgram:" + dgram_path, "--message", "xyz"});
    BOOST_TEST(d.exit_code == 0, d.err);
    BOOST_TEST(d.out == "XYZ\n");
    BOOST_TEST(server.stop() == 0);
  }
  BOOST_TEST(::access(stream_path.c_str(), F_OK) != 0, "socket file removed on exit");
}

// A unixgram client that sends and never reads fills its own receive queue after a few
// replies (net.unix.max_dgram_qlen, 10 by default). The server must then drop the replies
// to it, with a warning at most once a second, instead of blocking in sendto for good.
BOOST_DATA_TEST_CASE(a_unixgram_peer_that_never_reads_does_not_block_the_server, kModels, model) {
  std::string server_path = unique_path("echo-dg");
  std::string deaf_path = unique_path("echo-deaf");
  ServerProcess server("echo-server", {"--listen", "unixgram:" + server_path, "--model", model});
  auto started = Clock::now();
  UniqueFd deaf(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  SocketAddress own = unix_address(deaf_path);
  BOOST_REQUIRE(::bind(deaf.get(), own.get(), own.length) == 0);
  SocketAddress to = unix_address(server_path);
  // MSG_DONTWAIT and a deadline: a server stuck in sendto stops reading its own queue, and
  // this loop must not then block forever in its turn. 1,000 replies are many times what the
  // deaf peer's queue holds (net.unix.max_dgram_qlen: 10 to a few hundred). The deadline is
  // generous for sanitizer builds, where the fork model's fork per datagram takes ~25 ms.
  constexpr int kDatagrams = 1000;
  int sent = 0;
  Deadline deadline = Deadline::after(60000ms);
  while (sent < kDatagrams && !deadline.expired()) {
    if (::sendto(deaf.get(), "ping", 4, MSG_DONTWAIT, to.get(), to.length) == 4) {
      ++sent;
    } else {
      BOOST_REQUIRE_MESSAGE(errno == EAGAIN, "sendto: " << std::strerror(errno));
      std::this_thread::sleep_for(1ms);
    }
  }
  BOOST_TEST(sent == kDatagrams, "the server stopped reading after " << sent << " datagrams");
  std::vector<std::string> ask{"unixgram:" + server_path, "--message", "still there?", "--timeout",
                               "2"};
  RunResult other = run_program("echo-client", ask, "", 5000ms);
  BOOST_TEST(other.exit_code == 0, other.err);
  BOOST_TEST(other.out == "still there?\n");
  BOOST_TEST(server.wait_for_log("dropped a reply to unix:" + deaf_path), server.log());
  // At most one warning a second, however many replies were dropped.
  std::string log = server.log();
  size_t warnings = 0;
  for (size_t at = log.find("dropped a reply"); at != std::string::npos;
       at = log.find("dropped a reply", at + 1)) {
    ++warnings;
  }
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  BOOST_TEST(warnings <= static_cast<size_t>(seconds) + 1,
             warnings << " warnings in " << seconds << " s");
  BOOST_TEST(server.stop() == 0);
  ::unlink(deaf_path.c_str());
}

// A unixgram server busy with a flood has a full queue for a moment: a client's send then says
// EAGAIN on its non-blocking socket. The client waits for room, as a blocking send would,
// instead of giving up with "send: Resource temporarily unavailable".
BOOST_AUTO_TEST_CASE(a_unixgram_client_waits_for_room_in_a_full_server_queue) {
  std::string server_path = unique_path("echo-full");
  UniqueFd server(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));  // a server that is slow
  SocketAddress at = unix_address(server_path);
  BOOST_REQUIRE(::bind(server.get(), at.get(), at.length) == 0);
  UniqueFd filler(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  int queued = 0;  // net.unix.max_dgram_qlen datagrams fill it: 10 to a few hundred
  while (queued < 100'000 &&
         ::sendto(filler.get(), "fill", 4, MSG_DONTWAIT, at.get(), at.length) == 4) {
    ++queued;
  }
  BOOST_REQUIRE_MESSAGE(queued < 100'000 && errno == EAGAIN,
                        "filling the queue: " << queued << " sent, " << std::strerror(errno));
  auto client = std::async(std::launch::async, [&] {
    return run_program("echo-client",
                       {"unixgram:" + server_path, "--message", "room?", "--timeout", "10"}, "",
                       20000ms);
  });
  std::this_thread::sleep_for(300ms);  // the client meets the full queue
  // Now the server catches up: it reads the flood, then answers the client's datagram.
  std::string got(64, '\0');
  std::string request;
  SocketAddress from;
  for (int read = 0; read < queued + 1 && request.empty(); ++read) {
    pollfd entry{server.get(), POLLIN, 0};
    BOOST_REQUIRE_MESSAGE(::poll(&entry, 1, 10000) == 1, "no datagram from the client");
    from.length = sizeof from.storage;
    ssize_t n = ::recvfrom(server.get(), got.data(), got.size(), 0, from.get(), &from.length);
    BOOST_REQUIRE(n >= 0);
    std::string payload(got.data(), static_cast<size_t>(n));
    if (payload != "fill") request = payload;
  }
  BOOST_TEST(request == "room?");
  BOOST_REQUIRE(::sendto(server.get(), request.data(), request.size(), 0, from.get(),
                         from.length) == static_cast<ssize_t>(request.size()));  // the echo
  RunResult r = client.get();
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out == "room?\n");
  ::unlink(server_path.c_str());
}

BOOST_AUTO_TEST_CASE(stale_unix_socket_is_replaced_but_a_live_one_is_not) {
  std::string path = unique_path("stale");
  {
    // A socket file nobody listens on: what a crashed server leaves behind.
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    BOOST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ServerProcess live("echo-server", {"--listen", "unix:" + path});
  RunResult second = run_program("echo-server", {"--listen", "unix:" + path}, "", 5000ms);
  BOOST_TEST(second.exit_code != 0);
  BOOST_TEST(second.err.find("another server answers") != std::string::npos, second.err);
  RunResult r = run_program("echo-client", {"unix:" + path, "--message", "still mine"});
  BOOST_TEST(r.out == "still mine\n");
}

// Defect: a socket file this user may not connect to (left by a server that ran with
// --unix-mode 0500) was taken for a live server: "another server answers on it".
BOOST_AUTO_TEST_CASE(a_socket_file_that_cannot_be_probed_is_named_as_such) {
  TempDir dir("unprobed");
  std::filesystem::permissions(dir.path, std::filesystem::perms(0755));  // nobody may look in
  std::string path = (dir.path / "s.sock").string();
  {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    SocketAddress address = unix_address(path);
    BOOST_REQUIRE(::bind(fd.get(), address.get(), address.length) == 0);
  }
  BOOST_REQUIRE(::chmod(path.c_str(), 0500) == 0);  // nobody listens, and nobody may connect
  std::vector<std::string> args{"--listen", "unix:" + path};
  // Root may connect to any socket file: as root, become nobody to meet the refusal.
  RunResult r = run_unprivileged("echo-server", args, 10000ms);
  BOOST_TEST(r.exit_code == EX_NOPERM, r.err);
  BOOST_TEST(r.err.find("whether a server answers failed: Permission denied") != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("another server answers") == std::string::npos, r.err);
  BOOST_TEST(::access(path.c_str(), F_OK) == 0, "the file is left alone");
}

BOOST_AUTO_TEST_CASE(five_hundred_short_connections_leave_no_zombies) {
  ServerProcess server = start_echo("fork");
  for (int i = 0; i < 500; ++i) {
    BOOST_REQUIRE(exchange(server.port(), "x") == "x");
  }
  BOOST_TEST(eventually([&] { return children_of(server.pid()).empty(); }, 10000ms),
             "children left: " << children_of(server.pid()).size());
  BOOST_TEST(zombie_children(server.pid()) == 0u);
}

BOOST_AUTO_TEST_CASE(max_children_2_serves_all_10_clients) {
  ServerProcess server = start_echo("fork", {"--max-children", "2"});
  std::vector<std::future<std::string>> replies;
  for (int i = 0; i < 10; ++i) {
    replies.push_back(std::async(std::launch::async, [&server, i] {
      UniqueFd fd = connect_tcp(server.port());
      std::string message = "client " + std::to_string(i);
      write_all(fd.get(), message);
      ::usleep(100'000);  // hold the slot a while, so the others must queue in the backlog
      ::shutdown(fd.get(), SHUT_WR);
      return read_to_eof(fd.get());
    }));
  }
  for (int i = 0; i < 10; ++i) BOOST_TEST(replies[i].get() == "client " + std::to_string(i));
}

BOOST_AUTO_TEST_CASE(max_threads_2_serves_all_10_clients) {
  ServerProcess server = start_echo("thread", {"--max-threads", "2"});
  std::vector<std::future<std::string>> replies;
  for (int i = 0; i < 10; ++i) {
    replies.push_back(std::async(std::launch::async, [&server, i] {
      return exchange(server.port(), "thread client " + std::to_string(i));
    }));
  }
  for (int i = 0; i < 10; ++i) BOOST_TEST(replies[i].get() == "thread client " + std::to_string(i));
}

BOOST_DATA_TEST_CASE(sigterm_during_a_transfer_lets_it_finish_and_exits_0, kModels, model) {
  ServerProcess server = start_echo(model);
  UniqueFd fd = connect_tcp(server.port());
  write_all(fd.get(), "first half ");
  char echoed[11];
  BOOST_REQUIRE(read_full(fd.get(), std::as_writable_bytes(std::span(echoed)),
                          Deadline::after(5000ms)) == 11);
  ::kill(server.pid(), SIGTERM);
  ::usleep(200'000);
  write_all(fd.get(), "second half");
  ::shutdown(fd.get(), SHUT_WR);
  BOOST_TEST(read_to_eof(fd.get()) == "second half");
  BOOST_TEST(server.stop(0 /* just wait */) == 0);
}

BOOST_DATA_TEST_CASE(drain_timeout_ends_a_connection_that_will_not_finish, kModels, model) {
  ServerProcess server = start_echo(model, {"--drain-timeout", "0.5"});
  UniqueFd fd = connect_tcp(server.port());
  write_all(fd.get(), "hi");
  char echoed[2];
  BOOST_REQUIRE(
      read_full(fd.get(), std::as_writable_bytes(std::span(echoed)), Deadline::after(5000ms)) == 2);
  auto start = Clock::now();
  BOOST_TEST(server.stop(SIGTERM, 10000ms) == 0);
  BOOST_TEST((Clock::now() - start) < 5000ms);
  BOOST_TEST(read_to_eof(fd.get(), 5000ms) == "");
}

BOOST_DATA_TEST_CASE(a_client_that_resets_mid_stream_does_not_disturb_others,
                     bdata::make(concurrent_models()), model) {
  ServerProcess server = start_echo(model);
  std::string data = random_bytes(4 * 1024 * 1024, 3);
  auto other = std::async(std::launch::async, [&] { return exchange(server.port(), data); });
  {
    UniqueFd rude = connect_tcp(server.port());
    write_all(rude.get(), random_bytes(200'000, 9));
    linger hard{1, 0};  // linger 0: close sends RST instead of FIN
    ::setsockopt(rude.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }
  BOOST_TEST(other.get() == data);
  BOOST_TEST(exchange(server.port(), "after") == "after");
}

BOOST_AUTO_TEST_CASE(thousand_connections_to_thread_model_leak_no_threads_or_fds) {
  ServerProcess server = start_echo("thread");
  BOOST_REQUIRE(exchange(server.port(), "warm up") == "warm up");
  // The idle server has its main thread (plus a sanitizer's helper thread, in those builds).
  BOOST_REQUIRE(eventually([&] { return thread_count(server.pid()) <= 2; }));
  ::usleep(200'000);
  size_t threads_before = thread_count(server.pid());
  size_t fds_before = fd_count(server.pid());
  for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(exchange(server.port(), "y") == "y");
  BOOST_TEST(eventually([&] { return thread_count(server.pid()) == threads_before; }),
             "threads: " << thread_count(server.pid()) << " before: " << threads_before);
  BOOST_TEST(eventually([&] { return fd_count(server.pid()) == fds_before; }),
             "fds: " << fd_count(server.pid()));
}

BOOST_DATA_TEST_CASE(a_storm_of_unrelated_signals_fails_no_request, kModels, model) {
  ServerProcess server = start_echo(model);
  std::atomic<bool> done{false};
  std::thread storm([&] {
    for (int i = 0; i < 20000 && !done; ++i) {
      for (pid_t pid : children_of(server.pid())) ::kill(pid, SIGWINCH);
      ::kill(server.pid(), i % 3 == 0 ? SIGUSR1 : (i % 3 == 1 ? SIGCHLD : SIGWINCH));
      ::usleep(200);
    }
  });
  bool all_good = true;
  for (int i = 0; i < 100 && all_good; ++i) {
    std::string data = random_bytes(20'000, static_cast<unsigned>(i));
    all_good = exchange(server.port(), data) == data;
  }
  done = true;
  storm.join();
  BOOST_TEST(all_good);
  BOOST_TEST(server.running());
}

BOOST_AUTO_TEST_CASE(ipv4_mapped_peers_are_logged_as_ipv4) {
  // The dual-stack default takes IPv4 clients; their addresses must not print as ::ffff:.
  ServerProcess server("echo-server", {"--listen", "[::]:0", "--log-level", "debug"});
  BOOST_REQUIRE(exchange(server.port(), "v4") == "v4");
  BOOST_TEST(server.wait_for_log("connection from 127.0.0.1:"), server.log());
  BOOST_TEST(server.log().find("::ffff:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(second_server_on_the_same_port_fails_naming_the_port) {
  ServerProcess first = start_echo("fork");
  RunResult second = run_program("echo-server", {"--listen", first.address()}, "", 5000ms);
  BOOST_TEST(second.exit_code == EX_UNAVAILABLE);
  BOOST_TEST(second.err.find("another server is using port " + std::to_string(first.port())) !=
                 std::string::npos,
             second.err);
}

// Defect: a port held only by connections in TIME_WAIT (of a server that did not set
// SO_REUSEADDR, which closed first) was reported as "another server is using port N".
BOOST_AUTO_TEST_CASE(a_port_held_by_time_wait_is_not_blamed_on_a_server) {
  uint16_t port = 0;
  {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // no SO_REUSEADDR
    SocketAddress any = resolve(parse_endpoint("127.0.0.1:0"), true).front();
    BOOST_REQUIRE(::bind(listener.get(), any.get(), any.length) == 0);
    BOOST_REQUIRE(::listen(listener.get(), 1) == 0);
    port = local_address(listener.get()).port();
    UniqueFd client = connect_tcp(port);
    UniqueFd served(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    BOOST_REQUIRE(served);
    served.reset();  // the server's end closes first: its connection waits in TIME_WAIT
    BOOST_REQUIRE(read_to_eof(client.get(), 5000ms).empty());
  }
  RunResult restart =
      run_program("echo-server", {"--listen", "127.0.0.1:" + std::to_string(port)}, "", 5000ms);
  BOOST_TEST(restart.exit_code == EX_UNAVAILABLE, restart.err);
  BOOST_TEST(
      restart.err.find("no server listens on port " + std::to_string(port)) != std::string::npos,
      restart.err);
  BOOST_TEST(restart.err.find("TIME_WAIT") != std::string::npos, restart.err);
}

// Port 0 lets the kernel pick a free port of net.ipv4.ip_local_port_range. When none is free
// (every one bound, or held by connections in TIME_WAIT after a connect-heavy benchmark), the
// message said "no server listens on port 0" and suggested `ss ... sport = :0`. In a network
// namespace of its own, the range shrinks to two ports; two servers take them, and a third
// must name the range.
BOOST_AUTO_TEST_CASE(port_0_with_no_free_port_names_the_port_range,
                     *boost::unit_test::precondition(have_namespaces)) {
  std::vector<std::string> args = *namespace_options();
  const std::string script =
      "PATH=/usr/sbin:/sbin:$PATH; ip link set lo up || exit 97; "
      "echo '40000 40001' > /proc/sys/net/ipv4/ip_local_port_range || exit 98; "
      "\"$1\" --listen 127.0.0.1:0 2>/dev/null & a=$!; "
      "\"$1\" --listen 127.0.0.1:0 2>/dev/null & b=$!; "
      "for i in $(seq 100); do [ \"$(ss -Htln | wc -l)\" -ge 2 ] && break; sleep 0.05; done; "
      "timeout 5 \"$1\" --listen 127.0.0.1:0; rc=$?; kill $a $b; wait; exit $rc";
  args.insert(args.end(), {"sh", "-c", script, "sh", bin_path("echo-server")});
  RunResult third = run_program(kUnshare, args, "", 20000ms);
  BOOST_TEST_REQUIRE((third.exit_code != 97 && third.exit_code != 98), third.err);
  BOOST_TEST(third.exit_code == EX_UNAVAILABLE, third.err);
  BOOST_TEST(third.err.find("no port of net.ipv4.ip_local_port_range is free") != std::string::npos,
             third.err);
  BOOST_TEST(third.err.find("sport = :0") == std::string::npos, third.err);
}

// UDP too: there SO_REUSEADDR would let both bind the port (UDP has no TIME_WAIT to need it),
// and the second server would start silently and take some of the first one's datagrams.
BOOST_AUTO_TEST_CASE(second_udp_server_on_the_same_port_fails_naming_the_port) {
  ServerProcess first("echo-server", {"--listen", "udp:127.0.0.1:0"});
  std::string address = "udp:127.0.0.1:" + std::to_string(first.port());
  RunResult second = run_program("echo-server", {"--listen", address}, "", 5000ms);
  BOOST_TEST(second.exit_code == EX_UNAVAILABLE, second.err);
  BOOST_TEST(second.err.find("another server is using port " + std::to_string(first.port())) !=
                 std::string::npos,
             second.err);
}

BOOST_AUTO_TEST_CASE(bad_listen_forms_and_unknown_options_are_usage_errors) {
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"--listen", "1.2.3"},
                                             {"--listen", "127.0.0.1:99999"},
                                             {"--listen", "[::1:7"},
                                             {"--listen", "::1:7"},
                                             {"--listen", "unix:"},
                                             {"--no-such-option"},
                                             {"--model", "telepathy"},
                                             {"--idle-timeout", "-1"}}) {
    RunResult r = run_program("echo-server", args, "", 5000ms);
    BOOST_TEST(r.exit_code == EX_USAGE, args[0] << " " << (args.size() > 1 ? args[1] : ""));
    BOOST_TEST(r.err.find("--help") != std::string::npos, r.err);
  }
}

BOOST_AUTO_TEST_CASE(running_out_of_descriptors_neither_spins_nor_floods_the_log) {
  // 16 descriptors: a few held clients use them all up, so accept() fails with EMFILE.
  ServerProcess server("/usr/bin/prlimit", {"--nofile=16:16", bin_path("echo-server"), "--listen",
                                            "127.0.0.1:0", "--model", "thread"});
  std::vector<UniqueFd> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(connect_tcp(server.port()));
    write_all(held.back().get(), "x");
  }
  BOOST_TEST(server.wait_for_log("too many open files"), server.log());
  auto cpu_ticks = [&] {
    std::ifstream stat("/proc/" + std::to_string(server.pid()) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;
    long utime = 0, stime = 0;
    fields >> utime >> stime;
    return utime + stime;
  };
  long before = cpu_ticks();
  for (int i = 0; i < 40; ++i) UniqueFd extra = connect_tcp(server.port());  // more pressure
  ::sleep(1);
  // A busy loop would burn ~100 ticks in that second; backing off uses a handful.
  BOOST_TEST(cpu_ticks() - before < 50);
  std::string text = server.log();
  size_t lines = 0;
  for (size_t at = 0; (at = text.find("too many open files", at)) != std::string::npos; ++at)
    ++lines;
  BOOST_TEST(lines <= 4u, lines << " EMFILE lines in about 2 s");
  held.clear();  // the held clients leave: descriptors come back
  BOOST_TEST(eventually(
      [&] {
        try {
          return exchange(server.port(), "back", 2000ms) == "back";
        } catch (const std::exception&) {
          return false;
        }
      },
      10000ms));
}

BOOST_AUTO_TEST_CASE(idle_client_is_disconnected_after_idle_timeout) {
  ServerProcess server = start_echo("thread", {"--idle-timeout", "0.3"});
  UniqueFd fd = connect_tcp(server.port());
  BOOST_TEST(read_to_eof(fd.get(), 5000ms) == "");
  BOOST_TEST(server.wait_for_log("timed out"));
}

BOOST_AUTO_TEST_SUITE_END()
