// chargen-server: sends an endless stream of text lines (RFC 864, port 19).
//
// Over tcp it writes until the client closes: useful to measure how fast a client can read.
// Over udp each datagram is answered with one datagram of 6 pattern lines (444 bytes; the RFC
// allows 0 to 512) — only with --udp-chargen, since a forged source address would otherwise
// make it a traffic reflector.
// Try it:   chargen-server --listen 127.0.0.1:7019 &   socat -u TCP:127.0.0.1:7019 - | head -3
#include "chargen.hpp"
#include "run.hpp"

namespace {

constexpr size_t kLinesPerDatagram = 6;
// A full ring of lines (one per starting character) is built once and then sent round and
// round in large writes, instead of one 74-byte write per line.
std::string one_full_cycle() {
  std::string text;
  for (size_t i = 0; i < sockserv::kChargenRing; ++i) text += sockserv::chargen_line(i);
  return text;
}

class ChargenHandler : public sockserv::StreamHandler {
 public:
  using StreamHandler::StreamHandler;
  void handle() override {
    const std::string cycle = one_full_cycle();
    // Runs until the client goes away: write_all then throws EPIPE/ECONNRESET, which the
    // server logs as "client went away" and which ends only this connection.
    for (;;) connection_.write_all(cycle);
  }
};

class ChargenDatagramHandler : public sockserv::DatagramHandler {
 public:
  using DatagramHandler::DatagramHandler;
  void handle() override {
    std::string reply;
    for (size_t i = 0; i < kLinesPerDatagram; ++i) reply += sockserv::chargen_line(i);
    request_.reply(reply);
  }
};

}  // namespace

int main(int argc, char** argv) {
  return sockserv::run<ChargenHandler, ChargenDatagramHandler>(
      {.name = "chargen-server",
       .port = 19,
       .summary = "Character generator (RFC 864).",
       .udp_reply_allowance = 512,
       .udp_opt_in = "udp-chargen"},
      argc, argv);
}
