// echo-client: talks to an echo server (RFC 862).
//
// Interactive, as in the tutorials: type a line, see the server's reply. Scripted:
// --message TEXT --count N sends TEXT N times and prints each reply. Exits non-zero when the
// server goes away or a reply is not what was sent (letter case aside, for --upper servers).
//
// With --tls the stream is TLS (the server's certificate verified, see docs/tls.md).
//
// Try it:   echo-client 127.0.0.1:7007      echo-client udp:127.0.0.1:7007 --message hi
//           echo-client --tls --ca ca.pem localhost:7443 --message hi
#include <algorithm>
#include <cctype>
#include <functional>
#include <iostream>

#include "client.hpp"
#include "client_stream.hpp"
#include "connection.hpp"
#include "datagram_client.hpp"
#include "error.hpp"
#include "options.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// One request and its echo over a stream: send the line, read back exactly as many bytes.
std::string stream_round_trip(ClientStream& stream, const std::string& line, Deadline deadline) {
  stream.write_all(as_bytes(line), deadline);
  std::string reply(line.size(), '\0');
  size_t n = stream.read_full(std::as_writable_bytes(std::span(reply)), deadline);
  if (n < reply.size()) throw std::runtime_error("server closed the connection");
  return reply;
}

// Sends each line that `next_line` gives (as the user types it, or scripted) and checks
// the echo.
int talk(const Endpoint& server, const std::function<bool(std::string&)>& next_line, Millis timeout,
         const TlsClientContext* tls) {
  std::unique_ptr<DatagramClient> datagrams;
  std::optional<ClientStream> stream;
  if (is_stream(server.transport)) {
    stream.emplace(open_client_stream(server, timeout, tls));
  } else {
    datagrams = std::make_unique<DatagramClient>(server);
  }
  for (std::string text; next_line(text);) {
    std::string reply;
    if (stream) {
      reply = stream_round_trip(*stream, text + "\n", Deadline::after_or_never(timeout));
      reply.pop_back();  // the "\n" we sent
    } else {
      std::optional<std::string> answer = datagrams->exchange(text, timeout);
      if (!answer) throw TimeoutError("no reply from " + to_string(server));
      reply = *answer;
    }
    std::cout << reply << std::endl;
    if (!same_ignoring_case(reply, text)) {
      std::cerr << "echo-client: wrong reply: sent '" << text << "', got '" << reply << "'\n";
      return EX_PROTOCOL;
    }
  }
  return EX_OK;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("echo-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT, udp:HOST:PORT, unix:PATH, unixgram:PATH")(
      "message", po::value<std::string>(), "send this text instead of reading lines from stdin")(
      "count", non_negative<int>()->default_value(1), "with --message: how many times")(
      "timeout", non_negative<double>()->default_value(10),
      "seconds to wait for each reply (0: no limit)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client(
      {"echo-client", "ADDR [--message TEXT [--count N]]",
       "Sends lines to an echo server and prints the replies."},
      argc, argv, options, positional, [](const po::variables_map& values) {
        Endpoint server = parse_endpoint(values["address"].as<std::string>());
        Millis timeout = seconds_option(values["timeout"].as<double>(), "timeout");
        std::unique_ptr<TlsClientContext> tls = tls_context_for(values, server);
        const TlsClientContext* context = tls.get();
        if (values.count("message") == 0U) {
          return talk(
              server,
              [](std::string& line) { return static_cast<bool>(std::getline(std::cin, line)); },
              timeout, context);
        }
        int count = values["count"].as<int>();
        std::string message = values["message"].as<std::string>();
        return talk(
            server,
            [&](std::string& line) {
              line = message;
              return count-- > 0;
            },
            timeout, context);
      });
}
