// Choosing a model by name.
#include "model.hpp"

#include "../error.hpp"
#include "../hub.hpp"
#include "fork.hpp"
#include "iterative.hpp"
#include "thread.hpp"

namespace sockserv {

std::unique_ptr<Hub> Model::make_hub() { return std::make_unique<ThreadHub>(); }

std::unique_ptr<Model> make_model(std::string_view name, const ModelLimits& limits) {
  if (name == "iterative") return std::make_unique<IterativeModel>();
  if (name == "fork") return std::make_unique<ForkModel>(limits.max_children);
  if (name == "thread") return std::make_unique<ThreadModel>(limits.max_threads);
  throw UsageError("unknown model '" + std::string(name) + "' (use " + std::string(kModelNames) + ")");
}

}  // namespace sockserv
