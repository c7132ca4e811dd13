// Model: who accepts a connection and who runs it, chosen at run time (--model). The
// counterpart of Python's ForkingMixIn / ThreadingMixIn, held by the server instead of mixed
// into its class. Every model is one row of kModels (model_table.cpp), which --model,
// --help, --list-models, the tests and scripts/compare-models all read:
//
//   model      who accepts                           who runs the connection
//   iterative  the main thread                       the main thread, inline
//   fork       the main thread                       a new child process
//   thread     the main thread                       a new thread
//   prefork    N worker processes (or the parent,    the worker, inline
//              passing descriptors: --pass-fd)
//   prethread  N worker threads (or the main         the worker, inline
//              thread into a queue: --main-accept)
//   epoll      N event-loop threads                  a coroutine on the loop
#pragma once

#include <poll.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../request.hpp"

namespace sockserv {

/// How the model's connections wait (see io_contexts.hpp).
enum class IoStyle { poll, blocking, fiber };

/// How prefork workers take turns at accept (UNP serv02-04).
enum class AcceptLock { none, flock, mutex };

/// What the models take from the options.
struct ModelOptions {
  size_t max_children = 40;  // fork: as Python's ForkingMixIn.max_children
  size_t max_threads = 128;  // thread
  size_t workers = 0;        // prefork, prethread, epoll: 0 means the model's default
  AcceptLock accept_lock = AcceptLock::none;  // prefork, prethread
  bool pass_fd = false;      // prefork: the parent accepts and passes descriptors (serv05)
  size_t min_spare = 0;      // prefork: grow the pool when fewer workers are idle (0: fixed)
  size_t max_spare = 0;      // prefork: shrink it when more are idle
  size_t max_workers = 256;  // prefork: the pool never grows past this
  size_t max_requests = 0;   // prefork: a worker exits after this many connections (0: never)
  bool main_accept = false;  // prethread: the main thread accepts into a queue (serv08)
  size_t queue_size = 1024;  // prethread --main-accept: connections waiting for a worker
  bool stats = false;        // --stats: print per-worker counts on exit and on SIGUSR1
};

/// One line of --stats: a worker (or the tree's total).
struct WorkerStats {
  std::string worker;          // "worker 3 (pid 1234)", "loop 1", "total"
  uint64_t accepted = 0;       // connections taken
  uint64_t empty_wakeups = 0;  // woke for a client another worker took
  double cpu_seconds = 0;      // user + system
  double peak_rss_mib = 0;     // VmHWM (processes), or the process's (threads)
};

class Model {
 public:
  virtual ~Model() = default;
  /// The row of kModels.
  virtual std::string_view name() const = 0;
  virtual IoStyle io_style() const = 0;

  /// True: the server's main loop accepts and calls process_request. False: start() makes
  /// workers that accept on their own.
  virtual bool main_thread_accepts() const { return true; }
  /// How many listening sockets each TCP port gets: one per worker for a model whose workers
  /// accept from sockets of their own (open_listener_per_worker); 1: they share one.
  virtual size_t listeners_per_port() const { return 1; }
  /// True when process_request takes datagrams too; false: the main loop answers them
  /// itself (a pool whose workers take only passed connection descriptors).
  virtual bool takes_datagrams() const { return main_thread_accepts(); }
  /// Once the listeners are open and before the first request: pools and event loops start
  /// their workers; every model may keep `core` (it outlives the model).
  virtual void start(ServerCore& core) { (void)core; }
  /// Gets `request` served: here and now, in a child process, in a thread, by a worker.
  virtual void process_request(Request request, ServerCore& core) = 0;
  /// False while no one can take another request: the main loop stops accepting, and new
  /// clients wait in the listen backlog until a slot frees up.
  virtual bool has_capacity() const { return true; }
  /// Collects children or threads that have finished (after SIGCHLD or a worker's notice).
  virtual void collect_finished() {}
  /// Children, threads or connections still running: the server exits when none is left.
  virtual size_t active() const { return 0; }
  /// Each pass of the main loop: pools grow, shrink and replace workers here.
  virtual void service_actions() {}
  /// Descriptors the main loop must poll for the model (pass-fd channels), and their results.
  virtual void add_poll_fds(PollSet& fds) { (void)fds; }
  virtual void on_poll(std::span<const pollfd> fds) { (void)fds; }

  /// The server is stopping: workers stop accepting and end when their connection does.
  virtual void begin_stop() {}
  /// The drain time is over: connections still running must end now (children get
  /// kDrainSignal; threads are reached through DrainDeadline::fire).
  virtual void drain_over() {}
  /// Some requests ignored the drain: end them. False when that is impossible (a thread
  /// cannot be killed): the server then exits without waiting for them.
  virtual bool force_stop() { return true; }

  /// The hub for services whose connections talk to each other (chat): by default one
  /// in-process hub, right for models whose connections share this process.
  virtual std::unique_ptr<Hub> make_hub();
  /// --stats: one line per worker.
  virtual std::vector<WorkerStats> stats() const { return {}; }
};

/// A row of the table of models.
struct ModelSpec {
  std::string_view name;
  std::string_view who_accepts;
  std::string_view who_runs;
  std::string_view counterpart;  // Python socketserver, UNP, muduo
  std::unique_ptr<Model> (*make)(const ModelOptions&);
};

/// Every model, in the order of --help and of the comparison tables.
std::span<const ModelSpec> model_table();
/// "iterative, fork, thread, prefork, prethread, epoll"
std::string model_names();
/// The row called `name`; throws UsageError naming the choices for an unknown name.
const ModelSpec& find_model(std::string_view name);
/// The --max-per-source a model gets when none is given: half the pool of prefork and
/// prethread (at least 1), so one address cannot take every worker; 0 (no limit) for the
/// others, whose excess clients wait in the backlog or cost only a coroutine.
size_t default_max_per_source(std::string_view name, const ModelOptions& options);
/// Creates the model called `name` (throws UsageError as find_model).
std::unique_ptr<Model> make_model(std::string_view name, const ModelOptions& options);

}  // namespace sockserv
