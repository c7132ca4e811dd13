// daytime-client: prints what a daytime server (RFC 867) says.
//
// Try it:   daytime-client 127.0.0.1:7013      daytime-client udp:127.0.0.1:7013
#include <iostream>

#include "client.hpp"
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
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client({"daytime-client", "ADDR", "Prints the date a daytime server sends."}, argc,
                    argv, options, positional, [](const po::variables_map& values) {
                      Endpoint server = parse_endpoint(values["address"].as<std::string>());
                      std::string text = fetch_reply(
                          server, seconds_option(values["timeout"].as<double>(), "timeout"), 512);
                      // The line ends in CR LF on the wire; print it as a normal line.
                      while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
                        text.pop_back();
                      if (text.empty())
                        throw ProtocolError("empty answer from " + to_string(server));
                      std::cout << text << "\n";
                      return EX_OK;
                    });
}
