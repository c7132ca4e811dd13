// io helpers and Connection against a socketpair whose other end moves one byte at a time.
#include "io.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "connection.hpp"
#include "error.hpp"
#include "fd.hpp"

using namespace sockserv;
using namespace std::chrono_literals;

namespace {

struct SocketPair {
  UniqueFd ours, theirs;
  SocketPair() {
    int fds[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    ours = UniqueFd(fds[0]);
    theirs = UniqueFd(fds[1]);
  }
};

// Writes `data` one byte per write(2), then closes: the worst case of "sticky packets"
// turned inside out, every read sees at most one byte.
std::thread trickle(UniqueFd fd, std::string data) {
  return std::thread([fd = std::move(fd), data]() mutable {
    for (char c : data) {
      write_all(fd.get(), std::string_view(&c, 1), Deadline::never(), client_io());
      std::this_thread::yield();
    }
  });
}

// Reads everything from `fd` until EOF, one byte per read(2).
std::string drain_one_by_one(int fd) {
  std::string got;
  char c;
  while (read_some(fd, std::as_writable_bytes(std::span(&c, 1)), Deadline::after(5000ms),
                   client_io()) == 1)
    got += c;
  return got;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io)

BOOST_AUTO_TEST_CASE(read_full_collects_single_bytes) {
  SocketPair pair;
  std::thread writer = trickle(std::move(pair.theirs), "hello, world");
  char buffer[12];
  BOOST_TEST(read_full(pair.ours.get(), std::as_writable_bytes(std::span(buffer)),
                       Deadline::after(5000ms), client_io()) == 12u);
  BOOST_TEST(std::string(buffer, 12) == "hello, world");
  writer.join();
}

BOOST_AUTO_TEST_CASE(read_full_stops_short_at_eof) {
  SocketPair pair;
  std::thread writer = trickle(std::move(pair.theirs), "abc");
  char buffer[10];
  BOOST_TEST(read_full(pair.ours.get(), std::as_writable_bytes(std::span(buffer)),
                       Deadline::never(), client_io()) == 3u);
  writer.join();
}

BOOST_AUTO_TEST_CASE(write_all_survives_partial_writes) {
  SocketPair pair;
  int small = 4096;
  ::setsockopt(pair.ours.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  set_nonblocking(pair.ours.get(), true);  // partial writes and EAGAIN guaranteed
  std::string data(1 << 20, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  std::string got;
  std::thread reader([&] { got = drain_one_by_one(pair.theirs.get()); });
  write_all(pair.ours.get(), data, Deadline::after(30000ms), client_io());
  pair.ours.reset();
  reader.join();
  BOOST_TEST((got == data));
}

BOOST_AUTO_TEST_CASE(read_some_times_out) {
  SocketPair pair;
  set_nonblocking(pair.ours.get(), true);
  char c;
  BOOST_CHECK_THROW(read_some(pair.ours.get(), std::as_writable_bytes(std::span(&c, 1)),
                              Deadline::after(50ms), client_io()),
                    TimeoutError);
}

BOOST_AUTO_TEST_CASE(connection_read_line_over_single_bytes) {
  SocketPair pair;
  std::thread writer =
      trickle(std::move(pair.theirs), "first\r\nsecond\n" + std::string(50, 'z') + "\nlast");
  Connection connection(std::move(pair.ours), SocketAddress{}, client_io(), {.idle = 5000ms},
                        SocketSetup{});
  Line line = connection.read_line(20);
  BOOST_TEST((line.status == Line::Status::ok));
  BOOST_TEST(line.text == "first");
  BOOST_TEST(connection.read_line(20).text == "second");
  BOOST_TEST((connection.read_line(20).status == Line::Status::too_long));
  line = connection.read_line(20);
  BOOST_TEST((line.status == Line::Status::ok));
  BOOST_TEST(line.text == "last");
  BOOST_TEST((connection.read_line(20).status == Line::Status::eof));
  writer.join();
}

BOOST_AUTO_TEST_CASE(connection_read_some_returns_read_ahead_bytes_first) {
  SocketPair pair;
  std::thread writer = trickle(std::move(pair.theirs), "header\nbody bytes");
  Connection connection(std::move(pair.ours), SocketAddress{}, client_io(), {.idle = 5000ms},
                        SocketSetup{});
  BOOST_TEST(connection.read_line(100).text == "header");
  char body[10];
  BOOST_TEST(connection.read_full(std::as_writable_bytes(std::span(body))) == 10u);
  BOOST_TEST(std::string(body, 10) == "body bytes");
  writer.join();
}

BOOST_AUTO_TEST_CASE(wait_readable_reports_the_other_descriptor) {
  SocketPair pair;
  Pipe pipe = make_pipe(true);
  Connection connection(std::move(pair.ours), SocketAddress{}, client_io(), {.idle = 5000ms},
                        SocketSetup{});
  BOOST_TEST(!connection.wait_readable({pipe.read_end.get()}, Deadline::after(20ms)).any());
  write_all(pipe.write_end.get(), "!", Deadline::never(), client_io());
  Readiness ready = connection.wait_readable({pipe.read_end.get()}, Deadline::after(2000ms));
  BOOST_TEST(!ready.connection);
  BOOST_REQUIRE(ready.others.size() == 1u);
  BOOST_TEST(ready.others[0] == pipe.read_end.get());
}

BOOST_AUTO_TEST_CASE(deadline_arithmetic) {
  BOOST_TEST(Deadline::never().poll_timeout() == -1);
  BOOST_TEST(Deadline::after_or_never(0ms).is_never());
  BOOST_TEST(Deadline::after(10ms).poll_timeout() <= 10);
  BOOST_TEST(Deadline::after(-5ms).poll_timeout() == 0);
  BOOST_TEST(Deadline::after(-5ms).expired());
}

BOOST_AUTO_TEST_SUITE_END()
