// The prefork pool: spawning, the worker's loop, passing descriptors, replacing and sizing.
#include "prefork.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "../error.hpp"
#include "../io_contexts.hpp"
#include "../log.hpp"
#include "worker_accept.hpp"
#include "worker_stats.hpp"

namespace sockserv {
namespace {

// A worker's signal flag: SIGTERM from the parent means "finish this connection, then exit"
// (and if the connection is idle, waiting for a new message, end it now).
std::atomic<bool> g_worker_stop{false};
void on_worker_stop(int) {
  g_worker_stop = true;
  DrainDeadline::stop_in_child();
}

void install_worker_stop_handler(pid_t parent) {
  struct sigaction action {};
  action.sa_handler = on_worker_stop;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a worker waiting for a client returns EINTR and sees the flag at once.
  if (::sigaction(SIGTERM, &action, nullptr) < 0) throw_errno("sigaction");
  // The parent gone (killed with no chance to stop the pool): finish, then exit, rather than
  // keep serving on a port nobody supervises.
  if (::prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) throw_errno("prctl PR_SET_PDEATHSIG");
  // The parent may have died before the prctl (a SIGKILL right after fork): then no signal
  // will come, and the worker would serve on, orphaned, forever.
  if (::getppid() != parent) g_worker_stop = true;
}

// --pass-fd: one connection, its request number and its peer over the channel. The
// descriptor travels as SCM_RIGHTS ancillary data: the kernel installs a copy in the
// receiving process. The peer travels too: behind a proxy it is the client the PROXY header
// named, which getpeername in the worker would not know.
struct PassedRequest {
  uint64_t id = 0;
  SocketAddress peer;
  SocketAddress proxy;  // valid when has_proxy
  bool has_proxy = false;
};

struct PassMessage {
  PassedRequest body;
  iovec data{&body, sizeof body};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};
  PassMessage() {
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
  }
  PassMessage(const PassMessage&) = delete;  // the header points into this object
  PassMessage& operator=(const PassMessage&) = delete;
};

bool send_descriptor(int channel, const Request& request) {
  PassMessage message;
  message.body.id = request.id;
  message.body.peer = request.peer;
  if (request.proxy) {
    message.body.proxy = *request.proxy;
    message.body.has_proxy = true;
  }
  int fd = request.socket.get();
  cmsghdr* header = CMSG_FIRSTHDR(&message.header);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  for (;;) {
    if (::sendmsg(channel, &message.header, MSG_NOSIGNAL) ==
        static_cast<ssize_t>(sizeof message.body))
      return true;
    if (errno != EINTR) return false;
  }
}

// The worker's side: waits for the next descriptor; nullopt when told to stop or orphaned.
std::optional<Request> receive_descriptor(int channel) {
  PassMessage message;
  for (;;) {
    if (g_worker_stop) return std::nullopt;
    // MSG_CMSG_CLOEXEC: the passed descriptor must not leak into programs we exec either.
    ssize_t n = ::recvmsg(channel, &message.header, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // the parent is gone (or closed the channel)
    cmsghdr* header = CMSG_FIRSTHDR(&message.header);
    if (header == nullptr || header->cmsg_type != SCM_RIGHTS)
      throw std::runtime_error("pass-fd: no descriptor");
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    Request request;
    request.socket = UniqueFd(fd);
    if (static_cast<size_t>(n) != sizeof message.body)
      throw std::runtime_error("pass-fd: a short message");
    request.peer = message.body.peer;
    if (message.body.has_proxy) request.proxy = message.body.proxy;
    request.id = message.body.id;
    return request;
  }
}

// CPU seconds and peak RSS of a worker process, from /proc. The CPU time is schedstat's
// nanoseconds on the CPU (a worker has one thread): /proc/PID/stat counts in 10 ms ticks,
// which a worker that served a few short connections never reaches.
void read_proc_usage(pid_t pid, WorkerStats& line) {
  std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream schedstat(dir + "/schedstat");
  if (double nanoseconds = 0; schedstat >> nanoseconds) line.cpu_seconds = nanoseconds / 1e9;
  std::ifstream status(dir + "/status");
  for (std::string row; std::getline(status, row);) {
    if (row.rfind("VmHWM:", 0) == 0) line.peak_rss_mib = std::stod(row.substr(6)) / 1024.0;
  }
}

}  // namespace

PreforkModel::PreforkModel(const ModelOptions& options)
    : options_(options),
      pass_fd_(options.pass_fd),
      scoreboard_(std::max(options.max_workers, options.workers > 0 ? options.workers : 8)),
      children_(scoreboard_.size()) {  // a worker per slot
  if (options_.workers == 0) options_.workers = 8;
  if (options_.accept_lock == AcceptLock::flock) {
    // A file only to lock: memfd_create needs no directory. fcntl record locks belong to the
    // process, so every worker may lock the inherited descriptor on its own (UNP serv03).
    lock_file_ = UniqueFd(::memfd_create("sockserv-accept-lock", MFD_CLOEXEC));
    if (!lock_file_) throw_errno("memfd_create (accept lock)");
  }
  if (options_.min_spare > 0) {
    if (options_.max_spare < options_.min_spare) options_.max_spare = options_.min_spare * 2;
    spare_timer_ = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    if (!spare_timer_) throw_errno("timerfd_create");
    itimerspec every_second{{1, 0}, {1, 0}};
    if (::timerfd_settime(spare_timer_.get(), 0, &every_second, nullptr) < 0)
      throw_errno("timerfd_settime");
  }
}

std::unique_ptr<Hub> PreforkModel::make_hub() {
  return std::make_unique<ProcessHub>(/*reusable_links=*/true);
}

void PreforkModel::start(ServerCore& core) {
  core_ = &core;
  if (!pass_fd_ && core.admission_counts()) {
    log_info(
        "prefork: --max-per-source/--max-rate count in one place: the parent accepts and passes "
        "descriptors");
    pass_fd_ = true;
  }
  for (size_t i = 0; i < options_.workers; ++i) spawn();
}

void PreforkModel::spawn() {
  size_t slot = scoreboard_.free_slot();
  if (slot == scoreboard_.size()) return;  // at --max-workers
  UniqueFd parent_end, child_end;
  if (pass_fd_) {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) < 0)
      throw_errno("socketpair (pass-fd)");
    parent_end = UniqueFd(ends[0]);
    child_end = UniqueFd(ends[1]);
    set_nonblocking(parent_end.get(), true);  // the parent never waits on one worker
  }
  UniqueFd hub_link = core_->before_fork();
  WorkerSlot& entry = scoreboard_.slot(slot);
  entry.busy = false;
  entry.served = 0;
  entry.counts.accepted = 0;
  entry.counts.empty_wakeups = 0;
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    log_error("prefork: fork: ", std::strerror(errno));
    return;
  }
  if (pid == 0) run_child(slot, std::move(child_end), std::move(hub_link), parent);
  entry.pid = pid;
  children_.add(pid, slot);
  Worker& worker = workers_[pid];
  worker.slot = slot;
  worker.channel = std::move(parent_end);
}

void PreforkModel::run_child(size_t slot, UniqueFd channel, UniqueFd hub_link, pid_t parent) {
  int status = 0;
  try {
    // The parent's ends of the other workers' channels are not ours (the parent must see
    // EOF when a worker dies); with --pass-fd the listeners are the parent's too.
    workers_.clear();
    core_->in_child(std::move(hub_link), /*keep_listeners=*/!pass_fd_);
    install_worker_stop_handler(parent);
    WorkerSlot& entry = scoreboard_.slot(slot);
    if (pass_fd_) {
      serve_passed(entry, channel.get());
    } else {
      serve_accepting(entry);
    }
  } catch (const std::exception& e) {
    log_error("prefork worker: ", e.what());
    status = 1;
  }
  // _exit: not the parent's destructors (they would remove its unix socket files).
  ::_exit(status);
}

void PreforkModel::serve_one(WorkerSlot& slot, Request& request) {
  BlockingContext io(core_->drain());
  slot.busy = true;
  core_->finish_request(request, io);
  slot.busy = false;
  slot.served.fetch_add(1, std::memory_order_relaxed);
}

void PreforkModel::serve_accepting(WorkerSlot& slot) {
  Acceptor acceptor = core_->make_acceptor(/*blocking_sockets=*/true, &slot.counts);
  WorkerAccept waiting(core_->listeners(), -1);
  auto stopping = [this] { return g_worker_stop || scoreboard_.stopping(); };
  while (!stopping() && (options_.max_requests == 0 || slot.served < options_.max_requests)) {
    lock_accept();
    std::optional<Request> request;
    try {
      request = waiting.next(acceptor, stopping);
    } catch (...) {
      unlock_accept();
      throw;
    }
    unlock_accept();
    if (!request) break;
    serve_one(slot, *request);
    core_->request_done(request->id);
  }
}

void PreforkModel::serve_passed(WorkerSlot& slot, int channel) {
  while (options_.max_requests == 0 || slot.served < options_.max_requests) {
    std::optional<Request> request = receive_descriptor(channel);
    if (!request) return;
    slot.counts.accepted.fetch_add(1, std::memory_order_relaxed);
    serve_one(slot, *request);
    // serv05: one byte back says "idle again", and which request ended is the parent's to
    // count (per-source limits live there).
    char done = 1;
    if (::write(channel, &done, 1) != 1) return;
  }
}

void PreforkModel::lock_accept() {
  if (options_.accept_lock == AcceptLock::mutex) {
    scoreboard_.lock_accept();
  } else if (options_.accept_lock == AcceptLock::flock) {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    // F_SETLKW sleeps until the lock is free; a signal (stop) interrupts it with EINTR.
    while (::fcntl(lock_file_.get(), F_SETLKW, &lock) < 0) {
      if (errno != EINTR) throw_errno("fcntl F_SETLKW (accept lock)");
      if (g_worker_stop) return;
    }
  }
}

void PreforkModel::unlock_accept() {
  if (options_.accept_lock == AcceptLock::mutex) {
    scoreboard_.unlock_accept();
  } else if (options_.accept_lock == AcceptLock::flock) {
    struct flock lock {};
    lock.l_type = F_UNLCK;
    lock.l_whence = SEEK_SET;
    ::fcntl(lock_file_.get(), F_SETLK, &lock);
  }
}

void PreforkModel::process_request(Request request, ServerCore& core) {
  for (auto& [pid, worker] : workers_) {
    if (worker.busy || !worker.channel) continue;
    if (!send_descriptor(worker.channel.get(), request)) {
      log_warning("prefork: passing a connection to worker ", pid, ": ", std::strerror(errno));
      continue;
    }
    worker.busy = true;
    worker.request_id = request.id;
    return;  // the parent's copy of the socket closes here; the worker has its own
  }
  log_warning("prefork: no idle worker for ", to_string(request.peer), ": closing it");
  core.request_refused(request, "limit");
  core.request_done(request.id);
}

bool PreforkModel::has_capacity() const {
  if (!pass_fd_) return true;
  for (const auto& [pid, worker] : workers_) {
    if (!worker.busy && worker.channel) return true;
  }
  return false;  // every worker is busy: clients wait in the backlog
}

size_t PreforkModel::idle_workers() const {
  size_t idle = 0;
  for (const auto& [pid, worker] : workers_) idle += scoreboard_.slot(worker.slot).busy ? 0 : 1;
  return idle;
}

size_t PreforkModel::active() const {
  // Serving: connections in flight. Stopping: the workers still to be reaped.
  return stopping_ ? workers_.size() : workers_.size() - idle_workers();
}

void PreforkModel::add_poll_fds(PollSet& fds) {
  for (const auto& [pid, worker] : workers_) {
    if (worker.channel) fds.push_back({worker.channel.get(), POLLIN, 0});
  }
  if (spare_timer_ && !stopping_) fds.push_back({spare_timer_.get(), POLLIN, 0});
}

void PreforkModel::on_poll(std::span<const pollfd> fds) {
  for (const pollfd& entry : fds) {
    if (entry.revents == 0) continue;
    if (spare_timer_ && entry.fd == spare_timer_.get()) {
      uint64_t expirations = 0;
      [[maybe_unused]] ssize_t n = ::read(entry.fd, &expirations, sizeof expirations);
      keep_spares();
      continue;
    }
    for (auto& [pid, worker] : workers_) {
      if (worker.channel.get() != entry.fd) continue;
      char done[64];
      ssize_t n = ::read(entry.fd, done, sizeof done);
      if (n > 0 && worker.busy) {
        worker.busy = false;
        core_->request_done(worker.request_id);
        if (stopping_) worker.channel.reset();  // its last request: let it see EOF and exit
      } else if (n == 0) {
        worker.channel.reset();  // the worker is gone; SIGCHLD brings the rest
      }
    }
  }
}

void PreforkModel::keep_spares() {
  size_t idle = idle_workers();
  if (idle < options_.min_spare) {
    // Apache doubles the spawn rate each second while short; one step to the minimum is
    // enough for a pool this size.
    for (size_t i = idle; i < options_.min_spare && workers_.size() < options_.max_workers; ++i)
      spawn();
    log_info("prefork: ", idle, " idle workers (--min-spare ", options_.min_spare, "): pool now ",
             workers_.size());
  } else if (idle > options_.max_spare && workers_.size() > options_.workers) {
    for (const auto& [pid, worker] : workers_) {
      if (scoreboard_.slot(worker.slot).busy) continue;
      ::kill(pid, SIGTERM);  // finishes nothing: it is idle; it exits and is not replaced
      log_info("prefork: ", idle, " idle workers (--max-spare ", options_.max_spare, "): retiring ",
               pid);
      break;
    }
  }
}

void PreforkModel::collect_finished() {
  children_.reap([this](pid_t pid, uint64_t slot, int status, const rusage& usage) {
    if (options_.stats) remember_stats(static_cast<size_t>(slot), pid, usage);
    on_worker_exit(pid, static_cast<size_t>(slot), status);
  });
}

// A worker has exited: its counts are still in its scoreboard slot, and wait4 told its CPU
// time and peak RSS. Kept before the slot is reused, so the report at exit has every worker.
void PreforkModel::remember_stats(size_t slot, pid_t pid, const rusage& usage) {
  WorkerStats line = stats_line(slot, pid);
  line.cpu_seconds = cpu_seconds(usage);
  line.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
  if (stopping_) {  // no worker is replaced now: one per slot at most
    ended_[slot] = line;
    return;
  }
  ++replaced_count_;
  replaced_.accepted += line.accepted;
  replaced_.empty_wakeups += line.empty_wakeups;
  replaced_.cpu_seconds += line.cpu_seconds;
  // They did not all live at once: the largest, not the sum.
  replaced_.peak_rss_mib = std::max(replaced_.peak_rss_mib, line.peak_rss_mib);
}

void PreforkModel::on_worker_exit(pid_t pid, size_t slot, int status) {
  WorkerSlot& entry = scoreboard_.slot(slot);
  uint64_t served = entry.served;
  entry.pid = 0;
  auto worker = workers_.find(pid);
  if (worker != workers_.end()) {
    if (worker->second.busy) core_->request_done(worker->second.request_id);
    workers_.erase(worker);
  }
  if (stopping_) return;
  bool retired = options_.max_requests > 0 && served >= options_.max_requests;
  if (retired) {
    log_info("prefork: worker ", pid, " served ", served,
             " connections (--max-requests): replacing it");
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    // It was asked to stop (SIGTERM: keep_spares retiring an idle worker, or an admin, or a
    // signal to the whole process group that reached it before us): not replaced.
    log_info("prefork: worker ", pid, " stopped when asked; the pool is ", workers_.size());
    return;
  } else {
    log_warning("prefork: worker ", pid, " ended unexpectedly: replacing it");
  }
  spawn();
}

void PreforkModel::begin_stop() {
  stopping_ = true;
  scoreboard_.set_stopping();
  // Each worker finishes the connection it serves (if any), then exits.
  children_.signal_all(SIGTERM);
  // With --pass-fd an idle worker waits in recvmsg: closing its channel ends that wait
  // whenever the signal lands (between its check of the stop flag and recvmsg, it would not).
  for (auto& [pid, worker] : workers_) {
    if (!worker.busy) worker.channel.reset();
  }
}

void PreforkModel::drain_over() {
  children_.signal_all(kDrainSignal);
}

bool PreforkModel::force_stop() {
  children_.kill_all("worker still running after the drain time");
  return true;
}

WorkerStats PreforkModel::stats_line(size_t slot, pid_t pid) const {
  const WorkerSlot& entry = scoreboard_.slot(slot);
  return WorkerStats{
      .worker = "worker " + std::to_string(slot + 1) + " (pid " + std::to_string(pid) + ")",
      .accepted = entry.counts.accepted,
      .empty_wakeups = entry.counts.empty_wakeups};
}

std::vector<WorkerStats> PreforkModel::stats() const {
  if (!options_.stats) return {};
  // The workers that have ended (all of them, at exit), then the running ones, read from /proc.
  std::vector<WorkerStats> lines;
  for (const auto& [slot, line] : ended_) lines.push_back(line);
  for (const auto& [pid, worker] : workers_) {
    WorkerStats& line = lines.emplace_back(stats_line(worker.slot, pid));
    read_proc_usage(pid, line);
  }
  rusage self{};
  ::getrusage(RUSAGE_SELF, &self);  // the parent's own, its workers not included
  lines.push_back(WorkerStats{.worker = "parent",
                              .cpu_seconds = cpu_seconds(self),
                              .peak_rss_mib = static_cast<double>(self.ru_maxrss) / 1024.0});
  // The tree: every line's counts and CPU time; peak RSS summed over the processes of the
  // last pool and the parent (the replaced workers' largest is on their own line).
  WorkerStats total{.worker = "total"};
  for (const WorkerStats& line : lines) {
    total.accepted += line.accepted;
    total.empty_wakeups += line.empty_wakeups;
    total.cpu_seconds += line.cpu_seconds;
    total.peak_rss_mib += line.peak_rss_mib;
  }
  if (replaced_count_ > 0) {
    WorkerStats& replaced = *lines.insert(lines.end() - 1, replaced_);  // before the parent's
    replaced.worker = std::to_string(replaced_count_) + " workers replaced earlier";
    total.accepted += replaced_.accepted;
    total.empty_wakeups += replaced_.empty_wakeups;
    total.cpu_seconds += replaced_.cpu_seconds;
  }
  lines.push_back(total);
  return lines;
}

}  // namespace sockserv
