// ping: ICMP echo requests to a host, the replies and their round-trip times (seed 001).
//
// Output and exit status as iputils ping(8): 0 when a reply came, 1 when none did, 2 on
// any other error. It opens an unprivileged datagram ICMP socket where
// net.ipv4.ping_group_range allows it, else a raw one (root or CAP_NET_RAW); docs/ping.md
// explains both. Addresses print as numbers: no reverse DNS.
//
// Try it:   ping -c 3 127.0.0.1      ping -6 -c 3 -i 0.2 ::1      ping -v localhost
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "client.hpp"
#include "error.hpp"
#include "icmp_socket.hpp"
#include "options.hpp"
#include "pinger.hpp"

using namespace sockserv;

namespace {

constexpr double kMinUserInterval = 0.2;  // ping(8)'s flood protection for non-root users
constexpr double kMaxSeconds = 2147483;   // -i and -W, as ping(8): about 24 days

int64_t nanoseconds(double seconds, const char* option) {
  if (seconds > kMaxSeconds)
    throw UsageError(std::string(option) + " must be at most 2147483 seconds");
  return std::llround(seconds * 1e9);
}

IcmpSocketChoice socket_choice(const std::string& name) {
  if (name == "auto") return IcmpSocketChoice::automatic;
  if (name == "datagram") return IcmpSocketChoice::datagram;
  if (name == "raw") return IcmpSocketChoice::raw;
  throw UsageError("--socket must be auto, datagram or raw, not '" + name + "'");
}

PingSettings settings_from(const po::variables_map& values, int family) {
  PingSettings s;
  s.host = values["host"].as<std::string>();
  if (values.count("count") != 0U) {
    s.count = values["count"].as<uint64_t>();
    if (*s.count == 0) throw UsageError("-c must be at least 1");
  }
  double interval = values["interval"].as<double>();
  if (interval < kMinUserInterval && ::geteuid() != 0) {
    std::ostringstream shown;
    shown << interval;  // "0.1", as typed, not std::to_string's "0.100000"
    throw UsageError("-i " + shown.str() +
                     ": intervals below 0.2 seconds are for root only (flood protection)");
  }
  s.interval_ns = nanoseconds(interval, "-i");
  double timeout = values["timeout"].as<double>();
  if (timeout <= 0) throw UsageError("-W must be more than 0 seconds");
  s.timeout_ns = nanoseconds(timeout, "-W");
  s.quiet = values["quiet"].as<bool>();
  s.payload_bytes = values["size"].as<size_t>();
  if (s.payload_bytes > kMaxPayloadBytes)
    throw UsageError("-s must be at most " + std::to_string(kMaxPayloadBytes) + " bytes");
  s.target = resolve_host(s.host, family);  // after the checks: a usage error is no lookup
  return s;
}

int ping(const po::variables_map& values) {
  bool v4 = values["ipv4"].as<bool>(), v6 = values["ipv6"].as<bool>();
  if (v4 && v6) throw UsageError("-4 and -6 exclude each other");
  int family = v4 ? AF_INET : v6 ? AF_INET6 : AF_UNSPEC;
  IcmpSocketChoice choice = socket_choice(values["socket"].as<std::string>());
  std::optional<int> ttl;
  if (values.count("ttl") != 0U) {
    ttl = values["ttl"].as<int>();
    if (*ttl < 1 || *ttl > 255) throw UsageError("-t must be between 1 and 255");
  }
  PingSettings settings = settings_from(values, family);
  IcmpSocket socket = open_icmp_socket(settings.target.family(), choice);
  if (values["verbose"].as<bool>()) std::cerr << "ping: using " << describe(socket) << "\n";
  if (ttl) set_hop_limit(socket, *ttl);
  return run_ping(socket, settings, std::cout);
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("ping options");
  options.add_options()("host", po::value<std::string>()->required(),
                        "the host: a name or an IPv4/IPv6 address")(
      "count,c", non_negative<uint64_t>(), "stop after sending COUNT requests (default: Ctrl-C)")(
      "interval,i", non_negative<double>()->default_value(1.0),
      "seconds between requests (fractions allowed; below 0.2 for root only)")(
      "timeout,W", non_negative<double>()->default_value(10.0),
      "seconds each request waits for its reply; a reply after it is printed (late) and its "
      "packet counts as lost")("size,s", non_negative<size_t>()->default_value(56),
                               "payload bytes (the first 8 carry the send time)")(
      "ttl,t", non_negative<int>(), "time to live (IPv6: hop limit) of the requests, 1-255")(
      "ipv4,4", po::bool_switch(), "IPv4 only")("ipv6,6", po::bool_switch(), "IPv6 only")(
      "socket", po::value<std::string>()->default_value("auto"),
      "auto (datagram, else raw), datagram (net.ipv4.ping_group_range) or raw (CAP_NET_RAW)")(
      "quiet,q", po::bool_switch(), "print only the first line and the summary")(
      "verbose,v", po::bool_switch(), "say which kind of ICMP socket is used");
  po::positional_options_description positional;
  positional.add("host", 1);
  int status = run_client({"ping",
                           "[-c COUNT] [-i INTERVAL] [-W TIMEOUT] [-s SIZE] [-t TTL] "
                           "[-4|-6] [-q] [-v] HOST",
                           "Sends ICMP echo requests to HOST and prints the replies.\n"
                           "Exit status: 0 a reply came, 1 no reply, 2 any other error."},
                          argc, argv, options, positional, ping);
  // ping(8)'s statuses, which scripts test: every failure that is not "no reply" is 2.
  return status <= 1 ? status : 2;
}
