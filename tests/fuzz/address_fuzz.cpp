// libFuzzer target for what users type as addresses: --listen and a client's ADDR
// (parse_endpoint, parse_port) and the --allow-from/--deny-from ranges (parse_cidr). Any text
// must parse or give a UsageError, and what parses must print back to text that parses to
// the same endpoint (the logs and --help show that text).
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/address)
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "access.hpp"
#include "address.hpp"
#include "error.hpp"

namespace {

bool same(const sockserv::Endpoint& a, const sockserv::Endpoint& b) {
  return a.transport == b.transport && a.host == b.host && a.port == b.port && a.path == b.path;
}

void endpoint_round_trip(std::string_view text) {
  using namespace sockserv;
  try {
    Endpoint endpoint = parse_endpoint(text);
    Endpoint again = parse_endpoint(to_string(endpoint));
    if (!same(endpoint, again)) __builtin_trap();
  } catch (const UsageError&) {
    // Refusing bad text is the expected outcome.
  }
  try {
    parse_port(text);
  } catch (const UsageError&) {
  }
}

void cidr_matches(std::string_view text) {
  using namespace sockserv;
  try {
    Cidr range = parse_cidr(text);
    if (range.prefix < 0 || range.prefix > 128) __builtin_trap();
    // A range always contains its own first address.
    SocketAddress first;
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&first.storage);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, range.bytes.data(), 16);
    first.length = sizeof *v6;
    if (!cidr_contains(range, first)) __builtin_trap();
  } catch (const UsageError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  endpoint_round_trip(text);
  cidr_matches(text);
  return 0;
}
