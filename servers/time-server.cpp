// time-server: sends the time as 4 bytes, seconds since 1900-01-01 (RFC 868, port 37).
//
// Note the epoch: 1900, not Unix's 1970 (muduo's example got this wrong). The number is sent
// in network byte order (big-endian), so any machine reads it the same way.
// Try it:   time-server --listen 127.0.0.1:7037 &   time-client 127.0.0.1:7037
#include <arpa/inet.h>

#include <cstring>
#include <ctime>

#include "clock_formats.hpp"
#include "run.hpp"

namespace {

std::string time_bytes() {
  uint32_t network_order = htonl(sockserv::rfc868_time(std::time(nullptr)));
  return std::string(reinterpret_cast<const char*>(&network_order), sizeof network_order);
}

class TimeHandler : public sockserv::StreamHandler {
 public:
  using StreamHandler::StreamHandler;
  void handle() override { connection_.write_all(time_bytes()); }
};

class TimeDatagramHandler : public sockserv::DatagramHandler {
 public:
  using DatagramHandler::DatagramHandler;
  void handle() override { request_.reply(time_bytes()); }
};

}  // namespace

int main(int argc, char** argv) {
  return sockserv::run<TimeHandler, TimeDatagramHandler>(
      {.name = "time-server",
       .port = 37,
       .summary = "Time (RFC 868): seconds since 1900, 4 bytes.",
       .udp_reply_allowance = 4},
      argc, argv);
}
