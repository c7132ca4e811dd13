// libFuzzer target for the PROXY protocol header (v1 text, v2 binary) that a trusted proxy
// sends first on a connection. Whatever the bytes: no crash; a complete header is never
// longer than the bytes given nor than kMaxProxyHeader; the same verdict comes back from the
// header's own bytes alone (nothing after it was looked at); one byte less is never complete.
// Build and run: make fuzz-smoke (a fixed number of runs) or make fuzz (seeds: corpus/proxy_header)
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "proxy_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sockserv::ProxyParse;
  auto bytes = std::as_bytes(std::span(data, size));
  ProxyParse parse = sockserv::parse_proxy_header(bytes);
  if (parse.status != ProxyParse::Status::complete) return 0;
  if (parse.length == 0 || parse.length > size || parse.length > sockserv::kMaxProxyHeader)
    __builtin_trap();
  ProxyParse alone = sockserv::parse_proxy_header(bytes.first(parse.length));
  if (alone.status != ProxyParse::Status::complete || alone.length != parse.length)
    __builtin_trap();
  ProxyParse shorter = sockserv::parse_proxy_header(bytes.first(parse.length - 1));
  if (shorter.status == ProxyParse::Status::complete) __builtin_trap();
  if (parse.client && parse.client->family() != AF_INET && parse.client->family() != AF_INET6)
    __builtin_trap();
  return 0;
}
