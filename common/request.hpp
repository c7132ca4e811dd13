// Request: one unit of work handed from the server to its concurrency model, and ServerCore,
// what a model needs from the server to get requests served. Python's socketserver calls
// these process_request (the model decides who runs it) and finish_request (run the handler).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "access_log.hpp"
#include "address.hpp"
#include "fd.hpp"
#include "io.hpp"

namespace sockserv {

class Acceptor;
struct AcceptStats;
class DrainDeadline;
class Hub;
class Listener;

/// An accepted connection, or one received datagram with a socket to answer on.
struct Request {
  UniqueFd socket;                     // the connection, or a duplicate of the datagram socket
  SocketSetup setup;                   // what the acceptor already set on the socket
  SocketAddress peer;                  // the client (as a trusted proxy named it, behind a proxy)
  std::optional<SocketAddress> proxy;  // the proxy's own address, when one relayed it
  bool is_datagram = false;
  std::string datagram;                      // the datagram's bytes (datagram requests only)
  uint64_t id = 0;                           // numbers the request for request_done()
  Clock::time_point started = Clock::now();  // accepted or received: the access log's duration
  std::string_view refusal;  // set when admission refuses it: "denied", "per-source", "rate",
                             // "untrusted-proxy", "proxy-header"
};

/// What a model needs from the server.
class ServerCore {
 public:
  virtual ~ServerCore() = default;
  /// Runs the handler for `request`, waiting with `io`; logs and swallows every error of
  /// that one request. Returns false when the request failed.
  virtual bool finish_request(Request& request, IoContext& io) = 0;
  /// Once the request numbered `id` is over (its child reaped, its thread done, or served in
  /// place): per-source limits count requests in flight. Safe from any thread.
  virtual void request_done(uint64_t id) = 0;
  /// Right before fork(), in the parent: what the child will need (its link to the hub).
  virtual UniqueFd before_fork() = 0;
  /// In the child right after fork(), given what before_fork() made: drop what belongs to the
  /// parent (the wakeup pipe, other children's hub links, and the listening sockets unless
  /// `keep_listeners`: a prefork worker accepts on them) and join the hub.
  virtual void in_child(UniqueFd hub_link, bool keep_listeners) = 0;
  /// The listening sockets (stream and datagram), for models whose workers accept.
  virtual const std::vector<Listener>& listeners() const = 0;
  /// A new acceptor for one worker: accept4 with EMFILE handling and admission.
  virtual Acceptor make_acceptor(bool blocking_sockets, AcceptStats* stats) = 0;
  /// True when --max-per-source or --max-rate count requests: they hold across workers only
  /// where one thread admits (or threads share a lock), not across processes.
  virtual bool admission_counts() const = 0;
  /// The drain deadline every connection watches.
  virtual DrainDeadline& drain() = 0;
  /// The main loop's wakeup pipe and what to do when it is readable: a handler that runs in
  /// the main loop's own thread (iterative) must hear signals in its waits.
  virtual int wakeup_fd() const = 0;
  virtual void process_wakeups() = 0;
  /// The service's hub, or null.
  virtual Hub* hub() = 0;
  /// `request` will not be served after all (no child, thread or worker for it: `why` is
  /// "limit"): its access log line says so. Its socket is closed by the caller.
  virtual void request_refused(const Request& request, std::string_view why) = 0;
  /// Before fork(), in the parent: the access log line of `request` as far as the parent
  /// can know it (peer, local address, start), kept in case the child dies before writing
  /// its own; nullopt when there is no per-connection log.
  virtual std::optional<AccessRecord> parent_record(const Request& request) const = 0;
  /// The child `child` serving `record` died by signal `signo` and wrote no line: the parent
  /// writes it. end=killed (kill -9, a crash), or end=drain when `by_drain`: the server
  /// itself killed it when the drain time ran out.
  virtual void request_killed(AccessRecord record, pid_t child, int signo, bool by_drain) = 0;
  /// SIGHUP: reopen the access log and reload what can be reloaded. Main thread only.
  virtual void reload() = 0;
};

}  // namespace sockserv
