// Gate 9: UDP services cannot be turned into a ping-pong or a reflector. A forged datagram
// "from" another echo server, or from the server itself, must not start an endless exchange;
// a flood from one source gets at most --udp-rate replies a second. Under every model.
//
// Forging a source address takes a raw socket (CAP_NET_RAW: the suite runs as root in CI);
// counting what the servers send each other takes a packet socket on the loopback interface.
// Without the capability these cases say so and check what they can.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <optional>
#include <thread>

#include "error.hpp"
#include "harness.hpp"

namespace bdata = boost::unit_test::data;
using namespace sockserv;
using namespace sockserv::test;

namespace udp_reflection_test {

ServerProcess start_echo(const std::string& model, const std::string& rate) {
  return ServerProcess("echo-server", {"--listen", "udp:127.0.0.1:0", "--model", model,
                                       "--udp-rate", rate, "--max-children", "200"});
}

// Sends one udp datagram from 127.0.0.1:`from` to 127.0.0.1:`to` whatever port `from` is:
// the IP and UDP headers are written here (IPPROTO_RAW implies IP_HDRINCL; the kernel fills
// in the IP checksum, and a UDP checksum of 0 means "none" over IPv4). nullopt: no raw socket.
std::optional<bool> send_forged(uint16_t from, uint16_t to, const std::string& payload) {
  UniqueFd raw(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!raw) return std::nullopt;
  std::string packet(sizeof(iphdr) + sizeof(udphdr) + payload.size(), '\0');
  auto* ip = reinterpret_cast<iphdr*>(packet.data());
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = IPPROTO_UDP;
  ip->tot_len = htons(static_cast<uint16_t>(packet.size()));
  ip->saddr = htonl(INADDR_LOOPBACK);
  ip->daddr = htonl(INADDR_LOOPBACK);
  auto* udp = reinterpret_cast<udphdr*>(packet.data() + sizeof(iphdr));
  udp->source = htons(from);
  udp->dest = htons(to);
  udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload.size()));
  std::memcpy(packet.data() + sizeof(iphdr) + sizeof(udphdr), payload.data(), payload.size());
  sockaddr_in destination{};
  destination.sin_family = AF_INET;
  destination.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ssize_t n = ::sendto(raw.get(), packet.data(), packet.size(), 0,
                       reinterpret_cast<sockaddr*>(&destination), sizeof destination);
  return n == static_cast<ssize_t>(packet.size());
}

// Counts the udp datagrams on the loopback interface whose source and destination ports are
// both in `ports` (the servers' own exchange), as they pass. nullopt: no packet socket.
class LoopbackCounter {
 public:
  static std::optional<LoopbackCounter> open(std::vector<uint16_t> ports) {
    UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP)));
    if (!fd) return std::nullopt;
    sockaddr_ll lo{};
    lo.sll_family = AF_PACKET;
    lo.sll_protocol = htons(ETH_P_IP);
    lo.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&lo), sizeof lo) < 0) return std::nullopt;
    int size = 8 << 20;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    return LoopbackCounter(std::move(fd), std::move(ports));
  }
  // Counts what passes during `span`.
  size_t count_for(Millis span) {
    size_t count = 0;
    Deadline deadline = Deadline::after(span);
    char packet[2048];
    for (;;) {
      pollfd entry{fd_.get(), POLLIN, 0};
      if (!client_io().wait(std::span(&entry, 1), deadline)) return count;
      sockaddr_ll from{};
      socklen_t length = sizeof from;
      ssize_t n = ::recvfrom(fd_.get(), packet, sizeof packet, MSG_DONTWAIT,
                             reinterpret_cast<sockaddr*>(&from), &length);
      // Loopback shows each packet twice, going out and coming in: count it once.
      if (n < static_cast<ssize_t>(sizeof(iphdr) + sizeof(udphdr)) ||
          from.sll_pkttype == PACKET_OUTGOING)
        continue;
      const auto* ip = reinterpret_cast<const iphdr*>(packet);
      if (ip->protocol != IPPROTO_UDP) continue;
      const auto* udp = reinterpret_cast<const udphdr*>(packet + ip->ihl * 4);
      if (ours(ntohs(udp->source)) && ours(ntohs(udp->dest))) ++count;
    }
  }

 private:
  LoopbackCounter(UniqueFd fd, std::vector<uint16_t> ports)
      : fd_(std::move(fd)), ports_(std::move(ports)) {}
  bool ours(uint16_t port) const {
    return std::find(ports_.begin(), ports_.end(), port) != ports_.end();
  }
  UniqueFd fd_;
  std::vector<uint16_t> ports_;
};

bool echoes(uint16_t port) {
  UniqueFd client = udp_socket();
  return udp_exchange(client.get(), port, "still there?", 5000ms) == "still there?";
}

}  // namespace udp_reflection_test
using namespace udp_reflection_test;

BOOST_AUTO_TEST_SUITE(udp_reflection)

BOOST_DATA_TEST_CASE(two_echo_servers_cannot_be_made_to_ping_pong,
                     bdata::make(one_model_per_io_context()), model) {
  constexpr size_t kRate = 20;
  ServerProcess a = start_echo(model, std::to_string(kRate));
  ServerProcess b = start_echo(model, std::to_string(kRate));
  std::optional<LoopbackCounter> counter = LoopbackCounter::open({a.port(), b.port()});
  if (!counter) {
    BOOST_WARN_MESSAGE(false, "no packet socket (CAP_NET_RAW): ping-pong not tried");
    return;
  }
  // One datagram to A that claims to come from B: A answers B, B answers A...
  std::optional<bool> sent = send_forged(b.port(), a.port(), "ping-pong");
  BOOST_REQUIRE_MESSAGE(sent.has_value(), "no raw socket");
  BOOST_REQUIRE(*sent);
  // Each server answers at most its burst (kRate) plus kRate a second. A fast exchange (tens
  // of thousands a second on loopback, unchecked) empties the bucket within a second, the
  // next bounce is dropped and the exchange is over. A slow one (fork on a loaded machine
  // takes tens of ms a bounce) may go on, but never faster than that: over the first 2 s at
  // most 2 × (kRate + 2 kRate), over the next second at most 2 × (what is left of the burst
  // + kRate).
  size_t during = counter->count_for(2000ms);
  size_t after = counter->count_for(1000ms);
  BOOST_TEST(during >= 2u, "the forged datagram never started the exchange");
  BOOST_TEST(during <= 2 * kRate * 3 + 2, during << " datagrams between the servers in 2 s");
  BOOST_TEST(after <= 4 * kRate, after << " datagrams between the servers in the next second");
  BOOST_TEST_MESSAGE(model << ": " << during << " datagrams in the first 2 s, " << after
                           << " in the next second (--udp-rate " << kRate << ")");
  if (after == 0) {
    // The exchange ended: only a dropped bounce ends it, and the server says why.
    bool limited = a.wait_for_log("over --udp-rate") || b.wait_for_log("over --udp-rate");
    BOOST_TEST(limited, a.log() << b.log());
  }
  BOOST_TEST(echoes(a.port()));
  BOOST_TEST(echoes(b.port()));
}

BOOST_DATA_TEST_CASE(a_datagram_from_the_servers_own_address_or_a_reflector_port_is_dropped,
                     bdata::make(one_model_per_io_context()), model) {
  // --udp-rate 0: no rate limit, so only the source checks can stop these.
  ServerProcess server = start_echo(model, "0");
  std::optional<LoopbackCounter> counter = LoopbackCounter::open({server.port()});
  std::optional<bool> sent = send_forged(server.port(), server.port(), "talk to yourself");
  if (!sent || !counter) {
    BOOST_WARN_MESSAGE(false, "no raw or packet socket (CAP_NET_RAW): forged sources not tried");
    return;
  }
  BOOST_REQUIRE(*sent);
  BOOST_TEST(server.wait_for_log("1 from this server's own address"), server.log());
  // Only the forged datagram itself passed: the server did not answer itself.
  BOOST_TEST(counter->count_for(1000ms) == 1u);
  for (uint16_t port : {0, 7, 19, 123}) BOOST_REQUIRE(send_forged(port, server.port(), "x"));
  BOOST_TEST(echoes(server.port()));
  // The drops after the first warning are counted into the next one, at most every 10 s.
  BOOST_TEST(server.log().find("udp: dropped") != std::string::npos, server.log());
  BOOST_TEST(server.log().find("udp: dropped", server.log().find("udp: dropped") + 1) ==
             std::string::npos);
}

BOOST_DATA_TEST_CASE(a_flood_from_one_source_gets_at_most_the_per_source_rate,
                     bdata::make(one_model_per_io_context()), model) {
  constexpr size_t kRate = 50;
  ServerProcess server = start_echo(model, std::to_string(kRate));
  UniqueFd client = udp_socket();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // 10,000 datagrams in about a second: 100 batches of 100, 10 ms apart.
  auto start = Clock::now();
  for (int batch = 0; batch < 100; ++batch) {
    for (int i = 0; i < 100; ++i) {
      ::sendto(client.get(), "flood", 5, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    std::this_thread::sleep_for(10ms);
  }
  // Replies until 2 s of quiet (forked children may answer late under a sanitizer).
  size_t replies = 0;
  auto last_reply = Clock::now();
  char reply[64];
  for (int i = 0; i < 100'000; ++i) {
    pollfd entry{client.get(), POLLIN, 0};
    if (!client_io().wait(std::span(&entry, 1), Deadline::after(2000ms))) break;
    if (::recv(client.get(), reply, sizeof reply, MSG_DONTWAIT) > 0) {
      ++replies;
      last_reply = Clock::now();
    }
  }
  // A token bucket of kRate a second that starts full: at most kRate * (1 + seconds), where
  // the seconds run to the last reply (a slow model still drains its queue after the flood).
  double seconds = std::chrono::duration<double>(last_reply - start).count();
  auto most = static_cast<size_t>(kRate * (1 + seconds)) + 1;
  BOOST_TEST(replies <= most, replies << " replies in " << seconds << " s; at most " << most);
  BOOST_TEST(replies >= kRate, "the first " << kRate << " should be answered: " << replies);
  BOOST_TEST_MESSAGE(model << ": " << replies << " replies to 10,000 datagrams in " << seconds
                           << " s (--udp-rate " << kRate << ")");
}

BOOST_AUTO_TEST_SUITE_END()
