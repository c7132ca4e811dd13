// The table of models: one row each, read by --model, --help, --list-models and the tests.
#include <algorithm>

#include "../error.hpp"
#include "../hub.hpp"
#include "epoll.hpp"
#include "fork.hpp"
#include "iterative.hpp"
#include "prefork.hpp"
#include "prethread.hpp"
#include "thread.hpp"

namespace sockserv {
namespace {

template <typename M>
std::unique_ptr<Model> make(const ModelOptions& options) {
  return std::make_unique<M>(options);
}

constexpr ModelSpec kModels[] = {
    {"iterative", "the main thread", "the main thread, one connection at a time",
     "TCPServer; UNP serv00", make<IterativeModel>},
    {"fork", "the main thread", "a new child process per connection", "ForkingMixIn; UNP serv01",
     make<ForkModel>},
    {"thread", "the main thread", "a new thread per connection", "ThreadingMixIn; UNP serv06",
     make<ThreadModel>},
    {"prefork", "--workers processes (the parent with --pass-fd)", "the worker process",
     "UNP serv02-05; Apache prefork MPM", make<PreforkModel>},
    {"prethread", "--workers threads (the main thread with --main-accept)", "the worker thread",
     "UNP serv07-08", make<PrethreadModel>},
    {"epoll", "--workers event-loop threads", "a coroutine on the event loop",
     "muduo's reactors; gevent", make<EpollModel>},
};

}  // namespace

std::unique_ptr<Hub> Model::make_hub() {
  return std::make_unique<ThreadHub>();
}

size_t default_max_per_source(std::string_view name, const ModelOptions& options) {
  // The pools' own defaults when --workers is 0: see PreforkModel and PrethreadModel.
  size_t pool = 0;
  if (name == "prefork") pool = options.workers > 0 ? options.workers : 8;
  if (name == "prethread") pool = options.workers > 0 ? options.workers : 16;
  if (pool == 0) return 0;
  return std::max<size_t>(1, pool / 2);
}

std::span<const ModelSpec> model_table() {
  return kModels;
}

std::string model_names() {
  std::string names;
  for (const ModelSpec& spec : kModels)
    names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names;
}

const ModelSpec& find_model(std::string_view name) {
  for (const ModelSpec& spec : kModels) {
    if (spec.name == name) return spec;
  }
  throw UsageError("unknown model '" + std::string(name) + "' (use " + model_names() + ")");
}

std::unique_ptr<Model> make_model(std::string_view name, const ModelOptions& options) {
  return find_model(name).make(options);
}

}  // namespace sockserv
