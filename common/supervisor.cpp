// The supervisor's duties of the server's main thread: start the model, hear signals, reap,
// tell systemd, and stop: stop accepting, drain, end what did not finish in time.
#include <cstdlib>

#include "error.hpp"
#include "log.hpp"
#include "notify.hpp"
#include "server.hpp"

namespace sockserv {
namespace {
constexpr Millis kForceGrace{1000};  // after the drain time, how long connections get to notice
}  // namespace

Server::~Server() {
  // Leaving without a drain (an error escaped serve_forever): end the connections still
  // running, so the model's destructor can join its threads instead of waiting forever.
  if (model_->active() > 0) {
    try {
      drain_.arm(Millis(0));
      drain_.fire();
      model_->drain_over();
    } catch (const std::system_error& e) {
      log_error(e.what());
    }
    model_->force_stop();
  }
}

void Server::start_model() {
  if (started_) return;
  started_ = true;
  model_->start(*this);
}

void Server::serve_forever() {
  start_model();
  notify_ready(status_text());
  while (!stopping_) poll_once(Deadline::never());
  drain_all();
}

void Server::serve_until_idle(Millis idle) {
  start_model();
  notify_ready(status_text());
  Clock::time_point last_busy = Clock::now();
  while (!stopping_) {
    // A connection in flight is not idleness, whoever accepted it (the main loop, or the
    // workers of a pool, which this loop does not see accept).
    if (model_->active() > 0) last_busy = Clock::now();
    if (Clock::now() >= last_busy + idle) {
      log_info("idle for ", idle.count() / 1000.0, "s: exiting until the next request");
      break;
    }
    // Look again at the end of the idle time, and at least every second: a pool's workers
    // accept without waking this loop.
    Deadline deadline = Deadline::at(last_busy + idle).earlier(Deadline::after(Millis(1000)));
    if (poll_once(deadline)) last_busy = Clock::now();
  }
  drain_all();
}

void Server::process_wakeups() {
  WakeupReasons reasons = wakeup_.take();
  if (reasons.child_exited || reasons.worker_done) model_->collect_finished();
  if (reasons.status) {
    log_info("status: ", model_->active(), " in flight, model=", model_->name(),
             stopping_ ? ", stopping" : "");
    log_stats();
  }
  if (reasons.reload) reload();
  if (reasons.stop) begin_stop();
}

void Server::begin_stop() {
  if (stopping_) {
    // Asked twice (a second Ctrl-C): do not wait out the drain time.
    log_info("stop requested again: ending ", model_->active(), " connections now");
    drain_.arm(Millis(0));
    return;
  }
  stopping_ = true;
  notify_stopping(status_text());
  if (settings_.drain_timeout.count() > 0) {
    log_info("stopping: no new connections; waiting up to ",
             settings_.drain_timeout.count() / 1000.0, "s for ", model_->active(), " in flight");
  } else {
    log_info("stopping: no new connections; waiting for ", model_->active(),
             " in flight (no drain limit; stop again to end them)");
  }
  drain_.arm_limit(settings_.drain_timeout);
  // Idle connections (waiting for a new message) end now; busy ones get the drain time.
  drain_.begin_stopping();
  model_->begin_stop();
}

void Server::on_drain_over() {
  drain_.fire();         // threads' blocking sockets are shut down
  model_->drain_over();  // children are told with kDrainSignal
}

void Server::drain_all() {
  // Refuse new connections from now on. Where workers accept (pools, event loops), they stop
  // on begin_stop(); threads among them may still be inside accept4 on the listeners, so
  // those are closed only once the workers are gone (below).
  if (model_->main_thread_accepts()) server_close();
  if (!drain_.armed()) {
    stopping_ = true;
    drain_.arm_limit(settings_.drain_timeout);
    drain_.begin_stopping();
    model_->begin_stop();
  }
  model_->collect_finished();
  std::optional<Clock::time_point> force_at;
  bool forced = false;
  while (model_->active() > 0) {
    PollSet fds{{wakeup_.fd(), POLLIN, 0},
                {drain_.fd(), static_cast<short>(force_at ? 0 : POLLIN), 0}};
    size_t model_first = fds.size();
    model_->add_poll_fds(fds);
    size_t hub_first = fds.size();  // children still talking need the relay while draining
    if (hub_) hub_->add_poll_fds(fds);
    Deadline deadline =
        force_at && !forced ? Deadline::at(*force_at) : Deadline::after(Millis(1000));
    client_io().wait(std::span(fds.data(), fds.size()), deadline);
    if (fds[0].revents != 0) process_wakeups();
    if (!force_at && fds[1].revents != 0) {
      on_drain_over();
      force_at = Clock::now() + kForceGrace;
    }
    std::span<const pollfd> polled(fds.data(), fds.size());
    model_->on_poll(polled.subspan(model_first, hub_first - model_first));
    if (hub_) hub_->on_poll(polled.subspan(hub_first));
    if (force_at && !forced && Clock::now() >= *force_at) {
      forced = true;
      if (!model_->force_stop()) {
        // A thread that ignores the drain cannot be killed; waiting for it could take forever.
        log_error(model_->active(),
                  " connections did not end after the drain time: exiting without them");
        log_stats();
        server_close();  // _Exit runs no destructor: remove the unix socket files now
        std::_Exit(EX_SOFTWARE);
      }
    }
    model_->collect_finished();
  }
  server_close();
  log_stats();
  log_info("stopped");
}

std::string Server::status_text() const {
  return std::string(stopping_ ? "stopping; " : "serving; ") + std::to_string(model_->active()) +
         " requests in flight (model=" + std::string(model_->name()) + ")";
}

bool Server::status_pending() const {
  return notify_ && model_->active() != reported_active_;
}

void Server::report_status() {
  // Only under systemd, only when the count changed, and at most once a second: a busy
  // server would otherwise send process 1 two datagrams per connection (and build the text
  // for nobody when not under systemd). poll_once wakes up in time to send a held change.
  if (!status_pending()) return;
  Clock::time_point now = Clock::now();
  if (now < next_status_) return;
  next_status_ = now + kStatusInterval;
  reported_active_ = model_->active();
  notify_status(status_text());
}

void Server::log_stats() const {
  std::vector<WorkerStats> lines = model_->stats();
  if (lines.empty()) return;
  for (const WorkerStats& s : lines) {
    log_info("stats: ", s.worker, ": accepted ", s.accepted, ", empty wake-ups ", s.empty_wakeups,
             ", cpu ", s.cpu_seconds, " s, peak rss ", s.peak_rss_mib, " MiB");
  }
}

}  // namespace sockserv
