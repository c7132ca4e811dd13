// daytime-server: sends the date and time as one line of text (RFC 867, port 13).
//
// Over tcp the line is sent and the connection closed; over udp any datagram is answered
// with the line. The time is UTC, in ctime's format, as inetd's internal service sends it.
// Try it:   daytime-server --listen 127.0.0.1:7013 &   daytime-client 127.0.0.1:7013
#include <ctime>

#include "clock_formats.hpp"
#include "run.hpp"

namespace {

class DaytimeHandler : public sockserv::StreamHandler {
 public:
  using StreamHandler::StreamHandler;
  // No reading: the client need not send anything. The server closes after the line.
  void handle() override { connection_.write_all(sockserv::daytime_text(std::time(nullptr))); }
};

class DaytimeDatagramHandler : public sockserv::DatagramHandler {
 public:
  using DatagramHandler::DatagramHandler;
  void handle() override { request_.reply(sockserv::daytime_text(std::time(nullptr))); }
};

}  // namespace

int main(int argc, char** argv) {
  return sockserv::run<DaytimeHandler, DaytimeDatagramHandler>(
      {.name = "daytime-server",
       .port = 13,
       .summary = "Daytime (RFC 867): the date as text.",
       .udp_reply_allowance = 64},
      argc, argv);
}
