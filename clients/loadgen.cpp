// loadgen: the suite's load generator, for comparing concurrency models.
//
// `--mode connect`: each of N workers connects, sends one byte, reads it back and closes,
// again and again: connections per second. `--mode roundtrip`: each worker keeps one
// connection and sends --size bytes, waits for their echo, again and again: round trips per
// second, MB/s and latency percentiles. Works against any echo server; prints one line of
// JSON (for scripts/compare-models) or a short table.
//
// Try it:   loadgen 127.0.0.1:7007 --mode roundtrip --connections 50 --duration 5
#include <algorithm>
#include <atomic>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "client.hpp"
#include "error.hpp"
#include "options.hpp"
#include "socket.hpp"

using namespace sockserv;

namespace {

struct WorkerResult {
  uint64_t operations = 0;
  uint64_t errors = 0;
  std::vector<uint32_t> latencies_us;  // one per operation (sampled at most kMaxSamples)
};

constexpr size_t kMaxSamples = 200'000;

// One echo exchange of `payload` over `fd`; throws on any failure.
void echo_once(int fd, const std::string& payload, std::string& reply, Deadline deadline) {
  write_all(fd, payload, deadline, client_io());
  if (read_full(fd, std::as_writable_bytes(std::span(reply)), deadline, client_io()) != reply.size()) {
    throw std::runtime_error("server closed the connection");
  }
}

void run_worker(const Endpoint& server, bool connect_mode, size_t size, Clock::time_point end,
                WorkerResult& result) {
  std::string payload(connect_mode ? 1 : size, 'x');
  std::string reply(payload.size(), '\0');
  UniqueFd fd;
  while (Clock::now() < end) {
    auto start = Clock::now();
    try {
      if (connect_mode || !fd) fd = connect_to(server);
      // No operation outlives the run: a worker still queued when time is up (the iterative
      // model serves one client at a time) stops waiting instead of holding up the results.
      echo_once(fd.get(), payload, reply, Deadline::at(end));
      if (connect_mode) fd.reset();
      ++result.operations;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
      if (result.latencies_us.size() < kMaxSamples) result.latencies_us.push_back(static_cast<uint32_t>(us));
    } catch (const TimeoutError&) {
      fd.reset();  // the run ended while this operation waited: unfinished, not an error
    } catch (const std::exception&) {
      ++result.errors;
      fd.reset();
    }
  }
}

double percentile(std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

nlohmann::json measure(const Endpoint& server, bool connect_mode, size_t connections, size_t size,
                       double seconds) {
  std::vector<WorkerResult> results(connections);
  auto begin = Clock::now();
  auto end = begin + Millis(static_cast<int64_t>(seconds * 1000));
  {
    std::vector<std::jthread> workers;
    for (size_t i = 0; i < connections; ++i) {
      workers.emplace_back([&, i] { run_worker(server, connect_mode, size, end, results[i]); });
    }
  }  // jthreads join here
  double elapsed = std::chrono::duration<double>(Clock::now() - begin).count();
  uint64_t operations = 0, errors = 0;
  std::vector<uint32_t> latencies;
  for (WorkerResult& r : results) {
    operations += r.operations;
    errors += r.errors;
    latencies.insert(latencies.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  std::sort(latencies.begin(), latencies.end());
  double per_second = static_cast<double>(operations) / elapsed;
  return {{"mode", connect_mode ? "connect" : "roundtrip"}, {"connections", connections},
          {"size", connect_mode ? 1 : size}, {"seconds", elapsed}, {"operations", operations},
          {"errors", errors}, {"per_second", per_second},
          {"mb_per_second", per_second * static_cast<double>(connect_mode ? 1 : size) * 2 / 1e6},
          {"p50_us", percentile(latencies, 0.50)}, {"p90_us", percentile(latencies, 0.90)},
          {"p99_us", percentile(latencies, 0.99)}};
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("loadgen options");
  options.add_options()
      ("address", po::value<std::string>()->required(), "echo server: HOST:PORT or unix:PATH")
      ("mode", po::value<std::string>()->default_value("roundtrip"), "connect or roundtrip")
      ("connections", non_negative<size_t>()->default_value(10), "concurrent clients")
      ("size", non_negative<size_t>()->default_value(64), "roundtrip: bytes per request")
      ("duration", non_negative<double>()->default_value(5), "seconds to run")
      ("json", po::bool_switch(), "print one line of JSON");
  po::positional_options_description positional;
  positional.add("address", 1);
  return run_client({"loadgen", "ADDR [--mode connect|roundtrip] [--connections N] [--duration S]",
                     "Drives an echo server and reports operations/s and latency."},
                    argc, argv, options, positional, [](const po::variables_map& values) {
    Endpoint server = parse_endpoint(values["address"].as<std::string>());
    std::string mode = values["mode"].as<std::string>();
    if (mode != "connect" && mode != "roundtrip") throw UsageError("--mode is connect or roundtrip");
    size_t connections = values["connections"].as<size_t>();
    size_t size = values["size"].as<size_t>();
    if (connections == 0 || connections > 10'000 || size == 0 || size > (64u << 20)) {
      throw UsageError("--connections must be 1..10000 and --size 1..64Mi");
    }
    nlohmann::json result = measure(server, mode == "connect", connections, size,
                                    values["duration"].as<double>());
    if (values["json"].as<bool>()) {
      std::cout << result.dump() << "\n";
    } else {
      std::cout << result["mode"].get<std::string>() << ": " << result["per_second"].get<double>()
                << " ops/s, p50 " << result["p50_us"] << " us, p99 " << result["p99_us"]
                << " us, errors " << result["errors"] << "\n";
    }
    return result["errors"].get<uint64_t>() == 0 ? EX_OK : EX_TEMPFAIL;
  });
}
