// echo-server: sends back whatever it receives (RFC 862, port 7).
//
// Over tcp and unix every byte comes back in order; over udp and unixgram each datagram is
// answered with one datagram of the same bytes. --upper replies upper-cased, like the
// tutorials' first server.
//
// Try it:   echo-server --listen 127.0.0.1:7007 --model thread
//           echo-client 127.0.0.1:7007        (or: nc 127.0.0.1 7007)
#include <algorithm>
#include <array>
#include <cctype>

#include "run.hpp"

namespace {

struct EchoSettings {
  bool upper = false;
  void add_options(sockserv::po::options_description& desc) {
    desc.add_options()("upper", sockserv::po::bool_switch(&upper), "reply in upper case");
  }
};

void to_upper(std::span<std::byte> bytes) {
  // ASCII only: upper-casing UTF-8 text byte by byte leaves multi-byte characters intact.
  for (std::byte& b : bytes) b = std::byte(std::toupper(static_cast<unsigned char>(b)));
}

class EchoHandler : public sockserv::StreamHandler {
 public:
  using Settings = EchoSettings;
  EchoHandler(sockserv::Connection& connection, const EchoSettings& settings)
      : StreamHandler(connection), settings_(settings) {}

  void handle() override {
    // 16 KiB: this buffer lives on the connection's stack, and under the epoll model each
    // stack is a fiber's, with every touched page paid for per connection (16 KiB is also
    // what the kernel hands a read of a loopback socket at a time, so echoing is not slower).
    std::array<std::byte, 16 * 1024> buffer;
    // Whatever arrives goes straight back; how the client cut it into writes does not
    // matter, TCP is a byte stream. read_some returns 0 when the client is done sending.
    while (size_t n = connection_.read_some(buffer)) {
      std::span<std::byte> chunk(buffer.data(), n);
      if (settings_.upper) to_upper(chunk);
      connection_.write_all(chunk);
    }
  }

 private:
  const EchoSettings& settings_;
};

class EchoDatagramHandler : public sockserv::DatagramHandler {
 public:
  EchoDatagramHandler(sockserv::DatagramRequest& request, const EchoSettings& settings)
      : DatagramHandler(request), settings_(settings) {}

  void handle() override {
    std::string reply(request_.data());
    if (settings_.upper) to_upper(std::as_writable_bytes(std::span(reply)));
    request_.reply(reply);
  }

 private:
  const EchoSettings& settings_;
};

}  // namespace

int main(int argc, char** argv) {
  return sockserv::run<EchoHandler, EchoDatagramHandler>(
      {.name = "echo-server", .port = 7, .summary = "Echo (RFC 862): sends back what it receives."},
      argc, argv);
}
