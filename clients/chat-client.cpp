// chat-client: joins a chat-server room; lines from stdin go to the room, what the room says
// is printed (seed 002's chat client, with poll(2) on both instead of two threads).
//
// Works on a terminal and in a pipe. /quit (or the end of input, which sends /quit) leaves:
// exit 0 once the server has said goodbye and closed. Exit 69 when the server goes away first,
// 76 when it sends a line over --max-line without its end (bytes held are bounded), 65 for such
// a line typed.
// What the server sends is printed line by line with control characters escaped (\x1b...):
// a server that is not ours may relay anything, and it must not act on this terminal.
// With --tls the connection is TLS (the server's certificate verified, docs/tls-client.md).
//
// Try it:   chat-client 127.0.0.1:9999 --nick ann        printf 'hi\n' | chat-client 127.0.0.1:9999
//           chat-client --tls --ca ca.pem localhost:9443 --nick ann
#include <unistd.h>

#include <array>
#include <iostream>
#include <optional>

#include "client.hpp"
#include "client_stream.hpp"
#include "error.hpp"
#include "escape.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

constexpr Millis kGoodbyeTimeout{10'000};    // after /quit, how long the server may take to close
constexpr Millis kHandshakeTimeout{30'000};  // connecting and the TLS handshake
// chat-server's lines are at most 65536 bytes (its --max-line) plus the sender's nick: twice
// that leaves room, and bounds what a server that never sends a newline can make us hold.
constexpr size_t kDefaultMaxLine = 128 * 1024;

class ChatClient {
 public:
  ChatClient(ClientStream server, size_t max_line)
      : server_(std::move(server)), max_line_(max_line) {}

  int run() {
    std::array<std::byte, 16 * 1024> buffer;
    for (;;) {
      // Listen to the server always, and to stdin until we have said /quit. Lines TLS has
      // already decrypted are not in the socket any more: poll would not see them.
      std::array<pollfd, 2> fds{
          {{server_.socket(), POLLIN, 0}, {quitting_ ? -1 : STDIN_FILENO, POLLIN, 0}}};
      if (server_.has_buffered_input()) {
        fds[0].revents = POLLIN;
        fds[1].fd = -1;  // the room first; stdin on the next turn
      } else if (!client_io().wait(fds, quitting_ ? quit_deadline_ : Deadline::never())) {
        throw TimeoutError("the server did not close after /quit");
      }
      if (fds[0].revents != 0) {
        size_t n = server_.read_some(buffer, Deadline::never());
        if (n == 0) return server_closed();
        received_.append(reinterpret_cast<const char*>(buffer.data()), n);
        print_received_lines();
        if (received_.size() > max_line_)
          throw ProtocolError("the server sent a line over " + std::to_string(max_line_) +
                              " bytes (--max-line)");
      }
      if (fds[1].revents != 0) {
        size_t n = read_some(STDIN_FILENO, buffer, Deadline::never(), client_io());
        if (n == 0) {
          if (!typed_.empty()) send_line(std::exchange(typed_, {}));
          if (!quitting_) send_line("/quit");  // end of input: leave politely
        } else {
          typed_.append(reinterpret_cast<const char*>(buffer.data()), n);
          send_typed_lines();
          if (typed_.size() > max_line_)
            throw FatalError(EX_DATAERR, "a line of input over " + std::to_string(max_line_) +
                                             " bytes (--max-line): not sent");
        }
      }
    }
  }

  void send_line(const std::string& line) {
    std::string wire = line + "\n";
    server_.write_all(as_bytes(wire), Deadline::never());
    if (line == "/quit") {
      quitting_ = true;
      quit_deadline_ = Deadline::after(kGoodbyeTimeout);
    }
  }

 private:
  void send_typed_lines() {
    for (size_t end; !quitting_ && (end = typed_.find('\n')) != std::string::npos;) {
      std::string line = typed_.substr(0, end);
      typed_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      send_line(line);
    }
  }

  // Prints each whole line escaped; a partial line waits for its end (its bytes could be the
  // first half of a UTF-8 character, or of an escape sequence).
  void print_received_lines() {
    std::string shown;
    for (size_t end; (end = received_.find('\n')) != std::string::npos;) {
      std::string_view line(received_.data(), end);
      if (line.ends_with('\r')) line.remove_suffix(1);
      shown += escape_text(line, EscapeStyle::terminal) + "\n";
      received_.erase(0, end + 1);
    }
    write_all(STDOUT_FILENO, shown, Deadline::never(), client_io());
  }

  int server_closed() {
    if (!received_.empty()) received_ += '\n';  // the last line had no end: show it anyway
    print_received_lines();
    if (quitting_) return EX_OK;
    std::cerr << "chat-client: the server closed the connection\n";
    return EX_UNAVAILABLE;
  }

  ClientStream server_;
  size_t max_line_;       // the longest line held, either way
  std::string typed_;     // stdin bytes not yet making a whole line
  std::string received_;  // server bytes not yet making a whole line
  bool quitting_ = false;
  Deadline quit_deadline_ = Deadline::never();
};

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("chat-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT or unix:PATH")("nick", po::value<std::string>(),
                                                          "take this nick on arrival")(
      "max-line", po::value<size_t>()->default_value(kDefaultMaxLine),
      "longest line in bytes, from the server or typed (a longer one ends the chat)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client({"chat-client", "ADDR [--nick NAME]",
                     "Chats in a chat-server room: stdin to the room, the room to stdout."},
                    argc, argv, options, positional, [](const po::variables_map& values) {
                      Endpoint server = parse_endpoint(values["address"].as<std::string>());
                      if (!is_stream(server.transport))
                        throw UsageError("chat runs over tcp or unix only");
                      auto tls = tls_context_for(values, server);
                      // A chat waits for people without a limit; the TLS handshake does not.
                      size_t max_line = values["max-line"].as<size_t>();
                      if (max_line < 1 || max_line > (size_t{1} << 30))
                        throw UsageError("--max-line must be 1 to 1 GiB");
                      ChatClient client(open_client_stream(server, kHandshakeTimeout, tls.get()),
                                        max_line);
                      if (values.count("nick") != 0U)
                        client.send_line("/nick " + values["nick"].as<std::string>());
                      return client.run();
                    });
}
