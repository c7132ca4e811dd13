// run<Handler>(): what a server's main() calls. It parses the shared and the service's
// options, opens the sockets, builds the model and serves, and turns every failure into a
// message and a sysexits(3) exit status.
//
//   int main(int argc, char** argv) {
//     return sockserv::run<EchoHandler, EchoDatagramHandler>({.name = "echo-server", .port = 7},
//     argc, argv);
//   }
//
// A handler may declare `using Settings = S;`: S has `void add_options(po::options_description&)`
// binding its members to the service's own options, and the handler's constructor then takes
// `(Connection&, const S&)` or `(DatagramRequest&, const S&)`. Stream and datagram handlers of
// one service share the same Settings type.
#pragma once

#include <concepts>
#include <type_traits>

#include "handler.hpp"
#include "options.hpp"
#include "request_runner.hpp"

namespace sockserv {

/// Placeholder for "this service has no datagram form".
struct NoDatagrams {};
/// The settings of a service without options of its own.
struct NoSettings {
  void add_options(po::options_description&) {}
};

template <typename H>
struct SettingsOf {
  using type = NoSettings;
};
template <typename H>
requires requires {
  typename H::Settings;
}
struct SettingsOf<H> {
  using type = typename H::Settings;
};

/// A service as the non-template part of run() sees it.
struct ServiceDefinition {
  ServiceInfo info;
  std::function<void(po::options_description&)> add_options;
  std::function<void()> validate;  // checks the service's options after parsing
  StreamService stream;
  DatagramService datagram;  // empty: no udp or unixgram
  bool uses_hub = false;     // connections talk to each other (ServiceInfo::uses_hub)
};

/// Parses, opens, serves; returns the exit status.
int run_service(const ServiceDefinition& service, int argc, char** argv);

/// Constructs a handler for one request and runs setup(), handle(), finish().
template <typename Handler, typename Request, typename Settings>
void run_handler(Request& request, const Settings& settings) {
  auto handler = [&] {
    if constexpr (std::is_constructible_v<Handler, Request&, const Settings&>) {
      return Handler(request, settings);
    } else {
      return Handler(request);
    }
  };
  Handler h = handler();
  h.setup();
  try {
    h.handle();
  } catch (...) {
    h.finish();  // finish runs even when handle failed, as in socketserver
    throw;
  }
  h.finish();
}

template <typename Stream, typename Datagram = NoDatagrams>
int run(const ServiceInfo& info, int argc, char** argv) {
  using Settings = typename SettingsOf<Stream>::type;
  Settings settings{};
  ServiceDefinition service;
  service.info = info;
  service.add_options = [&settings](po::options_description& desc) { settings.add_options(desc); };
  service.validate = [&settings] {
    if constexpr (requires { settings.validate(); }) settings.validate();
  };
  service.stream = [&settings](Connection& c) { run_handler<Stream>(c, settings); };
  service.uses_hub = info.uses_hub;
  if constexpr (!std::is_same_v<Datagram, NoDatagrams>) {
    service.datagram = [&settings](DatagramRequest& r) { run_handler<Datagram>(r, settings); };
    service.info.serves_datagrams = true;
  }
  return run_service(service, argc, argv);
}

}  // namespace sockserv
