// Server: the socketserver core. It holds the listening sockets, the model that decides who
// accepts and who runs a connection, and the supervisor's duties: signals, reaping, drain.
//
// What happens, in call order (as socketserver.py's docstring tells it):
//
//   run()                       options, sockets, model (run.cpp)
//   Server(...)                 the model, admission, drain deadline, wakeup pipe
//   add_listener()              for each socket (bound here, or from systemd/inetd)
//   serve_forever()             supervisor loop (supervisor.cpp):
//     model->start()              pools start their workers, which accept themselves
//     poll()                      the wakeup pipe, the listeners, the hub's and model's fds
//     accept_connection()         (models whose main thread accepts) Acceptor::accept →
//       verify_request()            the PROXY header (--proxy-protocol), then admission:
//                                   --allow-from, --max-per-source...
//       model->process_request()    who runs it: here, a child, a thread, a worker
//         finish_request()          RequestRunner::run: handler setup/handle/finish, close
//     process_wakeups()           SIGCHLD → reap; SIGTERM → begin_stop(); SIGHUP → reload()
//   drain()                     stop accepting, wait --drain-timeout, end the rest
//   server_close()              close the listeners (unlink unix socket files)
//
//   Python socketserver          sockserv
//   serve_forever()              serve_forever()
//   handle_request()             handle_request(deadline)
//   shutdown()                   shutdown()         (safe from any thread or signal handler)
//   server_close()               server_close()
//   verify_request()             verify_request()
//   handle_error()               RequestRunner::log_error_of()
//   service_actions()            service_actions()
//   process_request()            Model::process_request()
//   finish_request()             finish_request()
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "acceptor.hpp"
#include "access.hpp"
#include "access_log.hpp"
#include "admission.hpp"
#include "datagram_guard.hpp"
#include "drain.hpp"
#include "fd.hpp"
#include "hub.hpp"
#include "models/model.hpp"
#include "notify.hpp"
#include "proxy_protocol.hpp"
#include "request.hpp"
#include "request_runner.hpp"
#include "server_settings.hpp"
#include "signals.hpp"
#include "socket.hpp"
#include "tls_server.hpp"

namespace sockserv {

class Server : private ServerCore {
 public:
  Server(ServerSettings settings, std::unique_ptr<Model> model, StreamService stream,
         DatagramService datagram);
  virtual ~Server();

  /// Adds a socket to serve (opened by open_listener, or handed over by systemd/inetd).
  void add_listener(Listener listener);
  const std::vector<Listener>& listeners() const override { return listeners_; }

  /// Serves until shutdown() or SIGTERM/SIGINT, then drains: stops accepting, lets
  /// requests in flight finish for up to the drain time, ends the rest, and returns.
  void serve_forever();
  /// Like serve_forever, but also returns once no request has come for `idle` and none is in
  /// flight: a service given its listening or udp socket by systemd or inetd ("wait") exits,
  /// and systemd or inetd starts it again on the next client.
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

  /// SIGHUP: reopens the access log (after a rotation by rename) and reloads the TLS
  /// certificate and key, and logs what it did: the server keeps serving, no connection is
  /// dropped. Main thread only.
  void reload() override;

  /// Requests in flight (children, threads, connections).
  size_t active_requests() const { return model_->active(); }
  const Model& model() const { return *model_; }

 protected:
  /// Return false to refuse a client (it is closed at once, a datagram dropped). Default:
  /// behind a proxy, its PROXY header names the client (--proxy-protocol); then the access
  /// rules judge that client (--allow-from, --deny-from, --max-per-source, --max-rate).
  virtual bool verify_request(Request& request) {
    return proxy_gate_.admit(request) && admission_.admit(request);
  }
  /// Called once per pass of the serve_forever loop.
  virtual void service_actions() {}

 private:
  // ServerCore, for the models.
  bool finish_request(Request& request, IoContext& io) override;
  void request_done(uint64_t id) override { admission_.done(id); }
  UniqueFd before_fork() override { return hub_ ? hub_->open_link() : UniqueFd(); }
  void in_child(UniqueFd hub_link, bool keep_listeners) override;
  Acceptor make_acceptor(bool blocking_sockets, AcceptStats* stats) override;
  bool admission_counts() const override { return admission_.counts(); }
  DrainDeadline& drain() override { return drain_; }
  int wakeup_fd() const override { return wakeup_.fd(); }
  void process_wakeups() override;
  Hub* hub() override { return hub_.get(); }
  void request_refused(const Request& request, std::string_view why) override {
    runner_.log_refused(request, why);
  }
  std::optional<AccessRecord> parent_record(const Request& request) const override {
    return runner_.parent_record(request);
  }
  void request_killed(AccessRecord record, pid_t child, int signo, bool by_drain) override {
    runner_.log_killed(std::move(record), child, signo, by_drain);
  }
  /// verify_request, and the access log line of a refused client.
  bool admit(Request& request);

  // The main loop (server.cpp).
  bool poll_once(Deadline deadline);
  void accept_connection(const Listener& listener);
  void receive_datagram(const Listener& listener);
  // The supervisor's duties (supervisor.cpp).
  void start_model();
  void begin_stop();
  void on_drain_over();
  void drain_all();
  void report_status();
  bool status_pending() const;
  std::string status_text() const;
  void log_stats() const;

  ServerSettings settings_;
  std::unique_ptr<Hub> hub_;        // only for services whose connections talk to each other
  AccessLog access_log_;            // opened before the privileges are dropped
  std::unique_ptr<TlsServer> tls_;  // --tls-cert: loaded before the privileges are dropped
  RequestRunner runner_;
  std::vector<Listener> listeners_;
  ProxyGate proxy_gate_;
  Admission admission_;
  DatagramGuard datagram_guard_;  // the main loop's: drops ping-pong and over-rate datagrams
  Wakeup wakeup_;
  DrainDeadline drain_;
  DescriptorShortage shortage_;    // EMFILE: one spare descriptor and one warning for all acceptors
  Acceptor acceptor_;              // the main loop's, for models whose main thread accepts
  pid_t main_pid_;                 // the server's process: children check it is still their parent
  bool notify_ = notify_wanted();  // under systemd (Type=notify): STATUS= is heard
  size_t reported_active_ = 0;     // the count in the last STATUS= sent to systemd
  Clock::time_point next_status_{};  // the earliest time for the next STATUS=
  static constexpr Millis kStatusInterval{1000};
  bool started_ = false;
  bool stopping_ = false;
  // Declared last, so destroyed first: its threads use the members above until joined.
  std::unique_ptr<Model> model_;
};

}  // namespace sockserv
