// libFuzzer target for chat's input: the bytes a member sends, cut into lines by the
// connection's line reader (Connection::try_read_line / read_line, with a length limit) and
// checked as UTF-8, as chat-server does before it looks at a line. Any bytes must give
// lines no longer than the limit, "too long" or EOF: never a crash, an overread or a hang.
// (chat-server's command words, /nick /who /me /quit, are compared inside its handler.)
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/chat_line)
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "connection.hpp"
#include "error.hpp"
#include "utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sockserv;
  if (size == 0 || size > 60000) return 0;  // the socket buffer must hold the whole input
  // The first byte picks the line limit (1..256): short limits reach the "too long" path.
  size_t max_line = 1 + data[0];
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0) return 0;
  UniqueFd ours(pair[0]), theirs(pair[1]);
  if (::send(theirs.get(), data + 1, size - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(size - 1))
    return 0;
  theirs.reset();  // the member hangs up: the reader ends with EOF
  SocketAddress peer;
  Connection connection(std::move(ours), peer, client_io(),
                        ConnectionTimeouts{.idle = Millis(1000), .message = Millis(1000)},
                        SocketSetup{});
  size_t lines = 0;
  for (;;) {
    Line line =
        lines % 2 == 0 ? connection.try_read_line(max_line) : connection.read_line(max_line);
    if (line.status == Line::Status::eof) break;
    if (line.status == Line::Status::ok && line.text.size() > max_line) __builtin_trap();
    if (line.status == Line::Status::ok) (void)is_valid_utf8(line.text);
    if (++lines > size + 1) __builtin_trap();  // every line consumes at least one byte
  }
  return 0;
}
