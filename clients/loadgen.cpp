// loadgen: the suite's load generator, for comparing concurrency models.
//
// Drives an echo server (RFC 862) from --threads epoll loops (common/load_driver) and checks
// every byte of every reply. Modes: `connect` (connect, --size bytes there and back, close:
// connections/s), `roundtrip` (--connections persistent connections, one request of --size
// bytes in flight on each: round trips/s and latency), `stream` (every connection writes and
// reads at once: MB/s each way), `idle` (roundtrip, plus --idle connections held open without
// sending, all of which must stay connected). Closed loop by default; with --rate, requests
// leave on a fixed schedule and latency counts from the intended send time, so a stalled
// server shows in the percentiles (coordinated omission). Exit status 0, 75 when any error
// was counted, 77 when --source-ports names ports below 1024 that only root may bind.
//
// Try it:   echo-server --listen 127.0.0.1:7007 --model thread &
//           loadgen 127.0.0.1:7007 --mode roundtrip -c 50 --duration 5
//           loadgen 127.0.0.1:7007 -c 50 --rate 20000 --json
#include <sys/resource.h>
#include <sys/utsname.h>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "address.hpp"
#include "client.hpp"
#include "error.hpp"
#include "fd.hpp"
#include "load_driver.hpp"

using namespace sockserv;

#ifndef SOCKSERV_CXXFLAGS
// The Makefile passes the real optimisation and sanitizer flags; a build outside it is
// assumed to use the Makefile's default OPTFLAGS.
#define SOCKSERV_CXXFLAGS "-O2"
#endif

namespace {

struct Settings {
  Endpoint server;
  LoadMode mode = LoadMode::roundtrip;
  std::string mode_name;
  size_t connections = 0, threads = 0, size = 0, idle = 0;
  double rate = 0, duration = 0, warmup = 0, timeout = 0;
  PortRange source_ports;
  bool json = false;
};

// An integer option within [low, high]: read as a signed number so "-1" is an error, not 2^64-1.
size_t bounded(const po::variables_map& values, const char* name, int64_t low, int64_t high) {
  int64_t n = values[name].as<int64_t>();
  if (n < low || n > high) {
    throw UsageError("--" + std::string(name) + " must be " + std::to_string(low) + ".." +
                     std::to_string(high));
  }
  return static_cast<size_t>(n);
}

double seconds(const po::variables_map& values, const char* name, bool zero_allowed) {
  double s = values[name].as<double>();
  if (!std::isfinite(s) || s < 0 || (s == 0 && !zero_allowed) || s > 1e6) {
    throw UsageError("--" + std::string(name) + (zero_allowed ? " must be >= 0" : " must be > 0"));
  }
  return s;
}

// --source-ports FIRST-LAST, e.g. 10000-65535.
PortRange source_ports(const std::string& text) {
  size_t dash = text.find('-');
  if (dash == std::string::npos) throw UsageError("--source-ports is FIRST-LAST, e.g. 10000-65535");
  PortRange range{parse_port(text.substr(0, dash)), parse_port(text.substr(dash + 1))};
  if (range.first == 0 || range.first > range.last)
    throw UsageError("--source-ports: FIRST must be 1..LAST, e.g. 10000-65535");
  return range;
}

Settings read_settings(const po::variables_map& values) {
  Settings s;
  if (values.count("address") == 0U) throw UsageError("the server's ADDR is missing");
  s.server = parse_endpoint(values["address"].as<std::string>());
  if (s.server.transport != Transport::tcp && s.server.transport != Transport::unix_stream) {
    throw UsageError("loadgen drives stream servers: HOST:PORT or unix:PATH");
  }
  s.mode_name = values["mode"].as<std::string>();
  const std::pair<const char*, LoadMode> modes[] = {{"connect", LoadMode::connect},
                                                    {"roundtrip", LoadMode::roundtrip},
                                                    {"stream", LoadMode::stream},
                                                    {"idle", LoadMode::idle}};
  auto found = std::find_if(std::begin(modes), std::end(modes),
                            [&](const auto& m) { return s.mode_name == m.first; });
  if (found == std::end(modes)) throw UsageError("--mode is connect, roundtrip, stream or idle");
  s.mode = found->second;
  s.connections = bounded(values, "connections", 1, 100'000);
  s.threads = bounded(values, "threads", 1, 64);
  s.size = bounded(values, "size", 1, 64 << 20);
  s.idle = bounded(values, "idle", 0, 100'000);
  if (s.idle > 0 && s.mode != LoadMode::idle) throw UsageError("--idle needs --mode idle");
  s.rate = values["rate"].as<double>();
  if (!std::isfinite(s.rate) || s.rate < 0 || s.rate > 1e7)
    throw UsageError("--rate must be 0..10000000");
  if (s.rate > 0 && s.mode == LoadMode::stream) throw UsageError("--rate does not apply to stream");
  s.duration = seconds(values, "duration", false);
  s.warmup = seconds(values, "warmup", true);
  s.timeout = seconds(values, "timeout", false);
  s.json = values["json"].as<bool>();
  if (values.count("source-ports") != 0U) {
    if (s.server.transport != Transport::tcp) throw UsageError("--source-ports needs a TCP server");
    s.source_ports = source_ports(values["source-ports"].as<std::string>());
    if (s.source_ports.size() < s.threads)
      throw UsageError("--source-ports needs at least one port per thread");
  }
  return s;
}

// Ports below net.ipv4.ip_unprivileged_port_start are root's: without the right, every bind
// would fail with EACCES and the whole run would count client errors. Said once, up front.
void check_source_ports_allowed(const PortRange& ports, int family) {
  if (ports.empty()) return;
  UniqueFd probe(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) throw_errno("socket");
  SocketAddress from = any_address(family, ports.first);
  int one = 1;  // as each connection binds: a port in TIME_WAIT is not a refusal
  if (::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    throw_errno("setsockopt SO_REUSEADDR");
  if (::bind(probe.get(), from.get(), from.length) == 0 || errno != EACCES) return;
  throw FatalError(EX_NOPERM, "--source-ports " + std::to_string(ports.first) + "-" +
                                  std::to_string(ports.last) + ": port " +
                                  std::to_string(ports.first) +
                                  " needs root or CAP_NET_BIND_SERVICE (it is below "
                                  "net.ipv4.ip_unprivileged_port_start)");
}

SocketAddress resolve_server(const Endpoint& server) {
  if (is_unix(server.transport)) return unix_address(server.path);
  return resolve(server, false).front();
}

// Thousands of idle connections need thousands of descriptors: take all the hard limit allows.
void raise_nofile_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

// The whole run as one plan; split_load() shares it out among the threads.
LoadPlan whole_plan(const Settings& s, const SocketAddress& server, std::string_view payload) {
  auto span = [](double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  LoadPlan plan{.mode = s.mode,
                .server = server,
                .payload = payload,
                .connections = s.connections,
                .idle = s.idle,
                .rate = s.rate,
                .start = Clock::now(),
                .measure_from = {},
                .end = {},
                .timeout = span(s.timeout),
                .source_ports = s.source_ports};
  plan.measure_from = plan.start + span(s.warmup);
  plan.end = plan.measure_from + span(s.duration);
  return plan;
}

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

std::string first_line_of(const std::string& path, const std::string& prefix) {
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.rfind(prefix, 0) == 0)
      return line.substr(line.find_first_not_of(" \t:", prefix.size()));
  }
  return "unknown";
}

nlohmann::json environment() {
  utsname host{};
  ::uname(&host);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  std::string somaxconn = first_line_of("/proc/sys/net/core/somaxconn", "");
  return {{"cpu_model", first_line_of("/proc/cpuinfo", "model name")},
          {"cpus", std::thread::hardware_concurrency()},
          {"kernel", std::string(host.sysname) + " " + host.release},
          {"compiler", __VERSION__},
          {"cxxflags", SOCKSERV_CXXFLAGS},
          {"somaxconn", somaxconn == "unknown" ? -1 : std::stoi(somaxconn)},
          {"nofile_limit", files.rlim_cur}};
}

// null when nothing was timed (stream mode times no request): zeros would read as "instant".
nlohmann::json microseconds(const Histogram& h) {
  if (h.count() == 0) return nullptr;
  auto us = [](double ns) { return std::round(ns / 10.0) / 100.0; };  // to 0.01 us
  return {{"p50", us(static_cast<double>(h.percentile(50)))},
          {"p90", us(static_cast<double>(h.percentile(90)))},
          {"p99", us(static_cast<double>(h.percentile(99)))},
          {"p999", us(static_cast<double>(h.percentile(99.9)))},
          {"max", us(static_cast<double>(h.max()))},
          {"mean", us(h.mean())}};
}

nlohmann::json report(const Settings& s, const LoadResult& r, size_t threads, double cpu) {
  auto e = [&](LoadError kind) { return r.errors[static_cast<size_t>(kind)]; };
  double ops_per_s = static_cast<double>(r.operations) / s.duration;
  nlohmann::json j = {{"mode", s.mode_name},
                      {"address", to_string(s.server)},
                      {"connections", s.connections},
                      {"threads", threads},
                      {"size", s.size},
                      {"duration_s", s.duration},
                      {"warmup_s", s.warmup},
                      {"operations", r.operations},
                      {"ops_per_s", ops_per_s},
                      {"bytes_sent", r.bytes_sent},
                      {"bytes_received", r.bytes_received},
                      {"mb_per_s",
                       {{"sent", static_cast<double>(r.bytes_sent) / s.duration / 1e6},
                        {"received", static_cast<double>(r.bytes_received) / s.duration / 1e6}}},
                      {"latency_us", microseconds(r.latency)},
                      {"connect_latency_us", microseconds(r.connect_latency)},
                      {"errors",
                       {{"client",
                         {{"eaddrnotavail", e(LoadError::eaddrnotavail)},
                          {"emfile", e(LoadError::emfile)},
                          {"other", e(LoadError::other)}}},
                        {"server",
                         {{"refused", e(LoadError::refused)},
                          {"reset", e(LoadError::reset)},
                          {"timeout", e(LoadError::timeout)},
                          {"wrong_bytes", e(LoadError::wrong_bytes)},
                          {"closed", e(LoadError::closed)}}},
                        {"total", r.error_total()}}},
                      {"loadgen_cpu_s", cpu},
                      {"env", environment()}};
  if (s.rate > 0) {
    j["rate"] = {
        {"asked", s.rate}, {"achieved", ops_per_s}, {"fell_short", ops_per_s < 0.95 * s.rate}};
  }
  if (s.mode == LoadMode::idle) j["idle"] = {{"held", r.idle_held}, {"lost", r.idle_lost}};
  return j;
}

void print_latency(const char* what, const nlohmann::json& us) {
  if (us.is_null()) {
    std::cout << "  " << what << ": none timed\n";
    return;
  }
  std::cout << "  " << what << " us: p50 " << us["p50"] << "  p90 " << us["p90"] << "  p99 "
            << us["p99"] << "  p99.9 " << us["p999"] << "  max " << us["max"] << "\n";
}

void print_summary(const nlohmann::json& j) {
  std::cout << std::fixed << std::setprecision(1) << "loadgen " << j["mode"].get<std::string>()
            << " " << j["address"].get<std::string>() << ": " << j["connections"]
            << " connections, threads " << j["threads"] << ", size " << j["size"] << ", "
            << j["duration_s"].get<double>() << " s\n"
            << "  " << j["operations"] << " operations, " << j["ops_per_s"].get<double>()
            << "/s; MB/s sent " << j["mb_per_s"]["sent"].get<double>() << ", received "
            << j["mb_per_s"]["received"].get<double>() << "\n";
  print_latency("latency", j["latency_us"]);
  print_latency("connect", j["connect_latency_us"]);
  if (j.contains("idle")) {
    std::cout << "  idle connections held " << j["idle"]["held"] << ", lost " << j["idle"]["lost"]
              << "\n";
  }
  const nlohmann::json& e = j["errors"];
  std::cout << "  errors " << e["total"] << ": client " << e["client"].dump() << ", server "
            << e["server"].dump() << "\n";
  if (j.contains("rate")) {
    std::cout << "  rate asked " << j["rate"]["asked"].get<double>() << "/s, achieved "
              << j["rate"]["achieved"].get<double>() << "/s\n";
    if (j["rate"]["fell_short"].get<bool>()) {
      std::cout << "  warning: the achieved rate is under 95% of the asked rate\n";
    }
  }
  std::cout << std::setprecision(2) << "  loadgen cpu " << j["loadgen_cpu_s"].get<double>()
            << " s\n";
}

int run(const po::variables_map& values) {
  Settings settings = read_settings(values);
  raise_nofile_limit();
  SocketAddress server = resolve_server(settings.server);
  check_source_ports_allowed(settings.source_ports, server.family());
  std::string payload = make_payload(settings.size);
  std::vector<LoadPlan> plans = split_load(whole_plan(settings, server, payload), settings.threads);
  LoadResult result = run_threads(plans);
  nlohmann::json j = report(settings, result, plans.size(), cpu_seconds());
  if (settings.json) {
    std::cout << j.dump() << "\n";
  } else {
    print_summary(j);
  }
  return result.error_total() == 0 ? EX_OK : EX_TEMPFAIL;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("loadgen options");
  options.add_options()("address", po::value<std::string>(), "echo server: HOST:PORT or unix:PATH")(
      "mode", po::value<std::string>()->default_value("roundtrip"),
      "connect, roundtrip, stream or idle")(
      "connections,c", po::value<int64_t>()->default_value(10), "active connections, 1..100000")(
      "threads,t", po::value<int64_t>()->default_value(1), "epoll loops (threads), 1..64")(
      "size,s", po::value<int64_t>()->default_value(64),
      "bytes per request (stream: per write), 1..64Mi")(
      "idle", po::value<int64_t>()->default_value(0),
      "idle mode: connections held open without sending")(
      "rate", po::value<double>()->default_value(0),
      "open loop: requests/s in total (0: closed loop)")(
      "duration,d", po::value<double>()->default_value(5), "seconds measured")(
      "warmup", po::value<double>()->default_value(0), "seconds run first and not measured")(
      "timeout", po::value<double>()->default_value(5), "seconds per connect, request or stall")(
      "source-ports", po::value<std::string>(),
      "FIRST-LAST: bind each connection to the next of these client ports, in turn, instead "
      "of the kernel's pick (connect mode beyond ~14,000/s: docs/benchmarks.md; ports below "
      "1024 need root)")("json", po::bool_switch(), "print one JSON object instead of the summary");
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client(
      {"loadgen", "ADDR [--mode connect|roundtrip|stream|idle] [-c N] [-t T] [--rate R]",
       "Drives an echo server, checks every byte, and reports operations/s, MB/s and "
       "latency percentiles."},
      argc, argv, options, positional, run);
}
