// DatagramGuard: which received UDP datagrams are answered at all.
//
// UDP has no handshake, so a datagram's source address is whatever its sender wrote. One
// forged datagram "from" another echo server (or from this server itself) would make the two
// answer each other forever: the classic UDP ping-pong (CERT CA-1996-01). The guard drops,
// before any handler, child or thread is spent on it, a datagram
//   - whose source is this server's own socket (address it arrived on, and one of our ports),
//   - whose source port is 0 (nothing can be sent there) or the well-known port of a service
//     that answers whatever it receives (is_reflector_port),
//   - from an address that has used up its replies (--udp-rate N a second, token bucket).
// A loop between two servers on ordinary ports is ended by the rate limit: it bounces far
// faster than N a second, so the bucket empties within a second and the next bounce is dropped.
// Drops are counted and logged at most once per log interval, with the busiest source.
//
// One guard per server, used only by the main loop (the one thread that receives datagrams),
// so it needs no lock.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "address.hpp"
#include "io.hpp"

namespace sockserv {

/// True for the well-known port of a service that answers any datagram: echo 7, discard 9
/// (answers nothing, but a forged "from discard" is never a real client), daytime 13, qotd
/// 17, chargen 19, time 37, and the reflectors of the amplification advisories (CERT
/// TA14-017A): dns 53, ntp 123, netbios-ns 137, snmp 161, ldap 389, ssdp 1900, memcached
/// 11211. No client sends from these ports.
bool is_reflector_port(uint16_t port);

/// Asks the kernel to report the destination address of each datagram received on the udp
/// socket `fd` (IP_PKTINFO, IPV6_RECVPKTINFO): a server bound to every address then knows
/// which of its addresses a datagram was sent to. Throws on failure.
void report_destination_addresses(int fd, int family);

/// recvmsg(2) of one datagram into `buffer`, with MSG_TRUNC (returns the datagram's real
/// length even when it did not fit) and MSG_DONTWAIT. Fills `peer`, and `arrived_on`: the
/// destination address the kernel reported with `local`'s port, or `local` itself. -1 and
/// errno as recvmsg.
ssize_t receive_with_destination(int fd, std::span<char> buffer, const SocketAddress& local,
                                 SocketAddress& peer, SocketAddress& arrived_on);

struct DatagramGuardSettings {
  size_t rate_per_source = 100;  // replies a second to one address (0: no limit); also the burst
  Millis log_interval{10'000};   // drops are logged at most once per interval
};

class DatagramGuard {
 public:
  enum class Verdict { serve, own_address, reflector_port, rate_limited };

  explicit DatagramGuard(DatagramGuardSettings settings);

  /// Our own udp ports (every udp listener's): a datagram from one of them on our own
  /// address comes from this server.
  void add_own_port(uint16_t port) { own_ports_.push_back(port); }

  /// Decides about one datagram from `peer` that arrived at `arrived_on` (the local address
  /// it was sent to: IP_PKTINFO's, or the listener's). Counts and logs (throttled) the drops.
  Verdict check(const SocketAddress& peer, const SocketAddress& arrived_on, Clock::time_point now);

  /// Datagrams dropped so far, by reason (Verdict order; [0] unused).
  const std::array<uint64_t, 4>& dropped() const { return dropped_; }

 private:
  // One token bucket. The table has a fixed number of slots, indexed by a hash of the
  // address: a flood from many forged sources cannot grow it. A slot whose owner has been
  // quiet long enough to refill is taken over; otherwise two addresses share one bucket.
  struct Bucket {
    std::array<uint8_t, 16> address{};
    double tokens = 0;
    Clock::time_point refilled;
    bool used = false;
  };
  static constexpr size_t kBuckets = 4096;

  bool take_token(const std::array<uint8_t, 16>& address, Clock::time_point now);
  void count_drop(Verdict why, const SocketAddress& peer, Clock::time_point now);

  DatagramGuardSettings settings_;
  std::vector<uint16_t> own_ports_;
  std::vector<Bucket> buckets_;        // kBuckets of them, made at the first rate-limited datagram
  std::array<uint64_t, 4> dropped_{};  // since the start
  std::array<uint64_t, 4> since_log_{};  // since the last drop warning
  Clock::time_point last_log_{};         // when drops were last logged
  std::string busiest_;                  // the source of the last drop, for the warning
};

}  // namespace sockserv
