// The engine of loadgen: one thread's epoll loop driving its share of the connections to an
// echo server, and what it measured.
//
// Each thread of loadgen runs drive_load() on its own LoadPlan, then the results are merged.
// The loop is level-triggered epoll over non-blocking sockets: a load generator must keep
// thousands of connections busy from a few threads, so it never waits on one of them.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "address.hpp"
#include "histogram.hpp"

namespace sockserv {

using Clock = std::chrono::steady_clock;

enum class LoadMode {
  connect,    // connect, send --size bytes, read them back, close; again
  roundtrip,  // persistent connections, one request of --size bytes in flight on each
  stream,     // persistent connections writing and reading the echo at the same time
  idle,       // roundtrip connections, plus connections held open without sending
};

/// Why an operation failed: three causes on the client's side, then five on the server's.
enum class LoadError { eaddrnotavail, emfile, other, refused, reset, timeout, wrong_bytes, closed };
inline constexpr size_t kLoadErrorKinds = 8;

/// The kind of error that a failed socket call's errno stands for.
LoadError classify_errno(int err);
/// True for the causes that lie with the server (refused ... closed).
inline bool is_server_error(LoadError e) {
  return e >= LoadError::refused;
}

/// Bytes to send: `size` bytes of a fixed pseudo-random pattern, so an echo of the wrong
/// bytes (another connection's, shifted, upper-cased) shows.
std::string make_payload(size_t size);

/// Client ports chosen by loadgen itself (--source-ports), [first, last]; empty: the kernel
/// picks. Each closed connection keeps its client port in TIME_WAIT, and the kernel's pick
/// at connect() skips such ports for a second (net.ipv4.tcp_tw_reuse_delay), so in connect
/// mode it runs out of ports near 14,000 connections/s on loopback. Binding each socket to
/// the next port of a range, in turn, lifts that ceiling (docs/benchmarks.md).
struct PortRange {
  uint16_t first = 0, last = 0;
  bool empty() const { return first == 0; }
  size_t size() const { return empty() ? 0 : size_t{last} - first + 1; }
};

/// The wildcard address (0.0.0.0 or ::) of `family` with `port`: what a client binds to when
/// it picks its own port (--source-ports).
SocketAddress any_address(int family, uint16_t port);

/// What one thread does.
struct LoadPlan {
  LoadMode mode = LoadMode::roundtrip;
  SocketAddress server;
  std::string_view payload;        // one request (stream: one write); owned by the caller
  size_t connections = 1;          // active connections of this thread (may be 0)
  size_t idle = 0;                 // idle mode: connections held open without sending
  double rate = 0;                 // open loop: requests/s of this thread; 0 is a closed loop
  Clock::time_point start;         // open loop: the first intended send
  Clock::time_point measure_from;  // end of the warmup: operations started before are not counted
  Clock::time_point end;           // the loop stops; operations still under way are dropped
  Clock::duration timeout = std::chrono::seconds(5);  // per connect, per request, per stall
  PortRange source_ports;  // this thread's client ports (split_load gives each thread a share)
};

/// What one thread measured.
struct LoadResult {
  Histogram latency;          // ns per operation; open loop: from the intended send time
  Histogram connect_latency;  // ns from connect() to the connection being established
  uint64_t operations = 0;    // requests answered in full (stream: --size writes echoed)
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::array<uint64_t, kLoadErrorKinds> errors{};  // indexed by LoadError
  uint64_t idle_held = 0;                          // idle connections still open when the run ended
  uint64_t idle_lost = 0;  // idle connections the server closed or reset during the run

  /// Adds `other`'s counts and histograms to these.
  void merge(const LoadResult& other);
  /// Errors of every kind.
  uint64_t error_total() const;
};

/// Splits a whole run (all its connections, idle connections, rate and source ports) into at
/// most `threads` plans of equal shares, one per thread; the open-loop schedules are
/// staggered by one interval so the threads' sends interleave.
std::vector<LoadPlan> split_load(const LoadPlan& whole, size_t threads);

/// Runs each plan on a thread of its own (drive_load) and returns their merged result.
LoadResult run_threads(const std::vector<LoadPlan>& plans);

/// Runs `plan` on the calling thread until plan.end and returns what it measured. Failures
/// of connections are counted in the result, never thrown; throws only when epoll itself
/// cannot be set up.
LoadResult drive_load(const LoadPlan& plan);

}  // namespace sockserv
