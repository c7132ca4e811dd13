// Model: who runs a request, chosen at run time (--model). The counterpart of Python's
// ForkingMixIn / ThreadingMixIn, held by the server instead of mixed into its class.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "../io.hpp"
#include "../request.hpp"

namespace sockserv {

class Hub;

class Model {
 public:
  virtual ~Model() = default;
  /// "iterative", "fork", "thread"...
  virtual std::string_view name() const = 0;
  /// Gets `request` served: here and now, in a child process, or in a thread.
  virtual void process_request(Request request, RequestRunner& runner) = 0;
  /// False while at the limit of children or threads: the server then stops accepting,
  /// and new clients wait in the listen backlog until a slot frees up.
  virtual bool has_capacity() const { return true; }
  /// Collects children or threads that have finished (after SIGCHLD or a worker's notice).
  virtual void collect_finished() {}
  /// Requests still being served.
  virtual size_t active() const { return 0; }
  /// The drain time is over and some requests ignore the cut: force them to end.
  virtual void force_stop() {}
  /// The hub for services whose connections talk to each other (chat): by default one
  /// in-process hub, right for models whose connections share this process.
  virtual std::unique_ptr<Hub> make_hub();
};

/// Limits the models take from the options.
struct ModelLimits {
  size_t max_children = 40;  // fork: as Python's ForkingMixIn.max_children
  size_t max_threads = 128;  // thread
};

/// The names --model accepts.
inline constexpr std::string_view kModelNames = "iterative, fork, thread";

/// Creates the model called `name`; throws UsageError for an unknown name.
std::unique_ptr<Model> make_model(std::string_view name, const ModelLimits& limits);

}  // namespace sockserv
