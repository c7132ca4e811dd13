// Server: the socketserver core. It owns the listening sockets, accepts connections and
// receives datagrams, and hands each request to its concurrency model.
//
//   Python socketserver          sockserv
//   serve_forever()              serve_forever()
//   handle_request()             handle_request(deadline)
//   shutdown()                   shutdown()         (safe from any thread or signal handler)
//   server_close()               server_close()
//   verify_request()             verify_request()
//   handle_error()               handle_error()
//   service_actions()            service_actions()
//   process_request()            Model::process_request()
//   finish_request()             finish_request()
#pragma once

#include <sys/types.h>

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "access.hpp"
#include "connection.hpp"
#include "fd.hpp"
#include "handler.hpp"
#include "hub.hpp"
#include "models/model.hpp"
#include "request.hpp"
#include "signals.hpp"
#include "socket.hpp"

namespace sockserv {

/// Runs one connection: constructs the service's handler and calls setup/handle/finish.
using StreamService = std::function<void(Connection&)>;
/// Runs one datagram the same way.
using DatagramService = std::function<void(DatagramRequest&)>;

struct ServerSettings {
  std::string name = "sockserv";
  SocketOptions socket;
  Millis idle_timeout{300'000};  // per wait for a client; 0 disables
  Millis drain_timeout{10'000};  // how long stopping waits for connections in flight
  size_t udp_reply_allowance = 0;  // a datagram reply may be this large whatever the request
  AccessSettings access;           // --allow-from, --deny-from, --max-per-source, --max-rate
};

class Server : private RequestRunner {
 public:
  Server(ServerSettings settings, std::unique_ptr<Model> model, StreamService stream,
         DatagramService datagram);
  virtual ~Server();

  /// Adds a socket to serve (opened by open_listener, or handed over by systemd/inetd).
  void add_listener(Listener listener);
  const std::vector<Listener>& listeners() const { return listeners_; }

  /// Serves until shutdown() or SIGTERM/SIGINT, then drains: stops accepting, lets
  /// requests in flight finish for up to the drain time, ends the rest, and returns.
  void serve_forever();
  /// Like serve_forever, but also returns once no request has come for `idle` and none is in
  /// flight: a socket-activated datagram service exits and systemd or inetd starts it again.
  void serve_until_idle(Millis idle);
  /// Waits (until `deadline`) for one request and serves it; false when none came.
  bool handle_request(Deadline deadline);
  /// Asks serve_forever to stop. Safe from any thread and from a signal handler.
  static void shutdown() { Wakeup::request_stop(); }
  /// Closes the listening sockets (removing unix socket files).
  void server_close();
  /// Serves one already connected socket with the stream handler (inetd's "nowait").
  void serve_one_connection(UniqueFd socket);

  /// Gives the service a hub (Connection::hub) of the kind the model needs. Call before
  /// serving. A process hub's descriptors are then polled by this server's main loop.
  void enable_hub() { hub_ = model_->make_hub(); }

  /// Requests in flight (children, threads).
  size_t active_requests() const { return model_->active(); }
  const Model& model() const { return *model_; }

 protected:
  /// Return false to refuse a client (it is closed at once, a datagram dropped). Default:
  /// the access rules (--allow-from, --deny-from, --max-per-source, --max-rate).
  virtual bool verify_request(const SocketAddress& peer);
  /// Called with the error that ended one request; logs it with the peer.
  virtual void handle_error(const std::string& peer, std::exception_ptr error);
  /// Called once per pass of the serve_forever loop.
  virtual void service_actions() {}

 private:
  // RequestRunner, for the models.
  bool finish_request(Request& request, Waiter& waiter) override;
  void prepare_child() override;
  int cut_fd() const override { return cut_timer_.get(); }
  int wakeup_fd() const override { return wakeup_.fd(); }
  void process_wakeups() override;
  void request_done(uint64_t id) override { access_.closed(id); }

  bool poll_once(Deadline deadline);
  void poll_hub(std::vector<pollfd>& fds, size_t first);
  void accept_connection(const Listener& listener);
  void receive_datagram(const Listener& listener);
  void on_accept_error(int err, const Listener& listener);
  void begin_stop();
  void arm_cut(Millis delay);
  void drain();
  void run_stream(Request& request, Waiter& waiter);
  void run_datagram(Request& request);
  bool admit(Request& request);
  void report_status();
  std::string status_text() const;

  ServerSettings settings_;
  std::unique_ptr<Hub> hub_;  // only for services whose connections talk to each other
  StreamService stream_service_;
  DatagramService datagram_service_;
  std::vector<Listener> listeners_;
  AccessPolicy access_;
  uint64_t next_request_id_ = 0;
  size_t reported_active_ = 0;  // the count in the last STATUS= sent to systemd
  Wakeup wakeup_;
  UniqueFd cut_timer_;    // timerfd: fires when the drain time is over
  UniqueFd spare_fd_;     // kept open to survive EMFILE (see on_accept_error)
  bool stopping_ = false;
  bool cut_armed_ = false;
  Clock::time_point accept_paused_until_{};
  Clock::time_point last_emfile_log_{};
  // Declared last, so destroyed first: its threads use the members above until joined.
  std::unique_ptr<Model> model_;
};

}  // namespace sockserv
