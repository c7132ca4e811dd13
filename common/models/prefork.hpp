// PreforkModel: a pool of worker processes forked in advance. Stevens' serv02-05, and the
// pool management of Apache's prefork MPM.
//
// Each worker accepts and serves one connection at a time, inline: no process is created
// per connection, which is why a pool beats fork-per-connection at short connections.
//   --accept-lock none    every worker waits on the listener (serv02); EPOLLEXCLUSIVE
//                         wakes one per client
//   --accept-lock flock   they take turns with a POSIX record lock on a shared file (serv03)
//   --accept-lock mutex   with a process-shared mutex in shared memory (serv04)
//   --pass-fd             the parent accepts and passes each descriptor to an idle worker
//                         over a unix socket with SCM_RIGHTS (serv05); also chosen when
//                         --max-per-source or --max-rate must count across the pool
// The parent replaces a worker that dies or has served --max-requests connections, and with
// --min-spare/--max-spare grows and shrinks the pool with the load, checked each second.
#pragma once

#include <atomic>
#include <map>
#include <memory>

#include "../fd.hpp"
#include "../process_hub.hpp"
#include "children.hpp"
#include "model.hpp"
#include "scoreboard.hpp"

namespace sockserv {

class PreforkModel : public Model {
 public:
  explicit PreforkModel(const ModelOptions& options);
  std::string_view name() const override { return "prefork"; }
  IoStyle io_style() const override { return IoStyle::blocking; }
  bool main_thread_accepts() const override { return pass_fd_; }
  // A passed descriptor carries no datagram: the parent answers those itself.
  bool takes_datagrams() const override { return false; }
  void start(ServerCore& core) override;
  void process_request(Request request, ServerCore& core) override;
  bool has_capacity() const override;
  void collect_finished() override;
  size_t active() const override;
  void add_poll_fds(PollSet& fds) override;
  void on_poll(std::span<const pollfd> fds) override;
  void begin_stop() override;
  void drain_over() override;
  bool force_stop() override;
  std::unique_ptr<Hub> make_hub() override;
  std::vector<WorkerStats> stats() const override;

 private:
  struct Worker {
    size_t slot = 0;
    UniqueFd channel;   // --pass-fd: the parent's end of the descriptor channel
    bool busy = false;  // --pass-fd: a descriptor was passed and not yet answered
    uint64_t request_id = 0;
  };
  void spawn();
  [[noreturn]] void run_child(size_t slot, UniqueFd channel, UniqueFd hub_link, pid_t parent);
  void serve_accepting(WorkerSlot& slot);
  void serve_passed(WorkerSlot& slot, int channel);
  WorkerStats stats_line(size_t slot, pid_t pid) const;
  void remember_stats(size_t slot, pid_t pid, const rusage& usage);
  void serve_one(WorkerSlot& slot, Request& request);
  void lock_accept();
  void unlock_accept();
  void on_worker_exit(pid_t pid, size_t slot, int status);
  void keep_spares();
  size_t idle_workers() const;

  ModelOptions options_;
  bool pass_fd_;
  Scoreboard scoreboard_;
  UniqueFd lock_file_;    // --accept-lock flock
  UniqueFd spare_timer_;  // --min-spare: the pool is checked each second
  ServerCore* core_ = nullptr;
  Children children_;  // pid -> slot
  std::map<pid_t, Worker> workers_;
  bool stopping_ = false;
  // --stats of workers that have exited: one line each for those that ended with the server
  // (the whole pool, at exit), and one line summing those replaced before (--max-requests,
  // crashes, spare workers retired), which over a long run may be thousands.
  std::map<size_t, WorkerStats> ended_;  // by slot: printed in the pool's order
  WorkerStats replaced_;
  size_t replaced_count_ = 0;
};

}  // namespace sockserv
