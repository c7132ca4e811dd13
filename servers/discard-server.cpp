// discard-server: reads and throws away everything it receives (RFC 863, port 9).
//
// Useful to measure how fast a client can send: nothing ever comes back.
// Try it:   discard-server --listen 127.0.0.1:9009 &   head -c 100M /dev/zero | socat -
// TCP:127.0.0.1:9009
#include <array>

#include "run.hpp"

namespace {

class DiscardHandler : public sockserv::StreamHandler {
 public:
  using StreamHandler::StreamHandler;
  void handle() override {
    // 16 KiB, not more: under the epoll model this stack is a fiber's, paid per connection.
    std::array<std::byte, 16 * 1024> sink;
    // Read until the client closes; what arrives is dropped.
    while (connection_.read_some(sink) > 0) {
    }
  }
};

class DiscardDatagramHandler : public sockserv::DatagramHandler {
 public:
  using DatagramHandler::DatagramHandler;
  void handle() override {}  // RFC 863: "the received datagram is thrown away"
};

}  // namespace

int main(int argc, char** argv) {
  return sockserv::run<DiscardHandler, DiscardDatagramHandler>(
      {.name = "discard-server",
       .port = 9,
       .summary = "Discard (RFC 863): reads and drops everything."},
      argc, argv);
}
