// daytime-client: prints what a daytime server (RFC 867) says.
//
// With --tls the stream is TLS, and the answer counts only when the server ends it with
// close_notify (docs/tls-client.md).
//
// Try it:   daytime-client 127.0.0.1:7013      daytime-client udp:127.0.0.1:7013
//           daytime-client --tls --ca ca.pem localhost:7443
#include <iostream>

#include "client.hpp"
#include "client_stream.hpp"
#include "error.hpp"
#include "fetch.hpp"
#include "options.hpp"

using namespace sockserv;

int main(int argc, char** argv) {
  po::options_description options("daytime-client options");
  options.add_options()("address", po::value<std::string>()->required(),
                        "server: HOST:PORT or udp:HOST:PORT")(
      "timeout", non_negative<double>()->default_value(5),
      "seconds to wait for the answer (0: no limit)");
  add_tls_client_options(options, true);
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client({"daytime-client", "ADDR", "Prints the date a daytime server sends."}, argc,
                    argv, options, positional, [](const po::variables_map& values) {
                      Endpoint server = parse_endpoint(values["address"].as<std::string>());
                      auto tls = tls_context_for(values, server);
                      std::string text = fetch_reply(
                          server, seconds_option(values["timeout"].as<double>(), "timeout"), 512,
                          tls.get());
                      // The line ends in CR LF on the wire; print it as a normal line.
                      while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                        text.pop_back();
                      if (text.empty())
                        throw ProtocolError("empty answer from " + to_string(server));
                      std::cout << text << "\n";
                      return EX_OK;
                    });
}
