// time-client: asks a time server (RFC 868) and prints its time as a date.
//
// The 4 bytes are seconds since 1900 in network byte order; ntohl turns them into a number
// on any machine. --raw prints the number itself.
// With --tls the stream is TLS, and the answer counts only when the server ends it with
// close_notify (docs/tls-client.md).
//
// Try it:   time-client 127.0.0.1:7037      time-client udp:127.0.0.1:7037 --raw
//           time-client --tls --ca ca.pem localhost:7437
#include <arpa/inet.h>

#include <cstring>
#include <ctime>
#include <iostream>

#include "client.hpp"
#include "client_stream.hpp"
#include "clock_formats.hpp"
#include "error.hpp"
#include "fetch.hpp"
#include "options.hpp"

using namespace sockserv;

int main(int argc, char** argv) {
  po::options_description options("time-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT or udp:HOST:PORT")(
      "raw", po::bool_switch(), "print the seconds since 1900 instead of a date")(
      "timeout", non_negative<double>()->default_value(5),
      "seconds to wait for the answer (0: no limit)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client(
      {"time-client", "ADDR [--raw]", "Prints the time a time server (RFC 868) sends."}, argc, argv,
      options, positional, [](const po::variables_map& values) {
        Endpoint server = parse_endpoint(values["address"].as<std::string>());
        auto tls = tls_context_for(values, server);
        std::string reply = fetch_reply(
            server, seconds_option(values["timeout"].as<double>(), "timeout"), 4, tls.get());
        if (reply.size() != 4)
          throw ProtocolError("expected 4 bytes, got " + std::to_string(reply.size()));
        uint32_t network_order;
        std::memcpy(&network_order, reply.data(), 4);
        uint32_t since_1900 = ntohl(network_order);
        if (values["raw"].as<bool>()) {
          std::cout << since_1900 << "\n";
          return EX_OK;
        }
        std::time_t now = std::time(nullptr);
        std::time_t remote = unix_from_rfc868(since_1900, now);
        std::string date = daytime_text(remote);
        date.resize(date.size() - 2);  // drop CR LF
        std::cout << date << " UTC (" << (remote - now >= 0 ? "+" : "") << (remote - now)
                  << " s from this machine's clock)\n";
        return EX_OK;
      });
}
