// ForkModel: a new process per request. Python's ForkingMixIn, Stevens' serv01.
//
// The child serves the one client and exits; the parent only accepts and reaps. A crash in
// one child cannot hurt the others. At --max-children the parent stops accepting until a
// child exits: new clients wait in the listen backlog, none is refused.
#pragma once

#include <sys/types.h>

#include <map>

#include "../drain.hpp"
#include "../process_hub.hpp"
#include "children.hpp"
#include "model.hpp"

namespace sockserv {

class ForkModel : public Model {
 public:
  explicit ForkModel(const ModelOptions& options)
      : max_children_(options.max_children), children_(options.max_children) {}
  std::string_view name() const override { return "fork"; }
  IoStyle io_style() const override { return IoStyle::blocking; }
  void start(ServerCore& core) override { core_ = &core; }
  void process_request(Request request, ServerCore& core) override;
  bool has_capacity() const override { return children_.size() < max_children_; }
  void collect_finished() override;
  size_t active() const override { return children_.size(); }
  /// SIGTERM: each child ends its connection now if idle, else after the message in hand.
  void begin_stop() override { children_.signal_all(SIGTERM); }
  void drain_over() override { children_.signal_all(kDrainSignal); }
  bool force_stop() override;
  /// Children are separate processes: the parent relays between them (ProcessHub).
  std::unique_ptr<Hub> make_hub() override;

 private:
  size_t max_children_;
  Children children_;  // child -> the request it serves
  // Request id -> its access log line as the parent knows it (--access-log only): written
  // here if the child is killed before writing its own.
  std::map<uint64_t, AccessRecord> records_;
  // Set once, at start: a store per request would dirty this object's page after each fork.
  ServerCore* core_ = nullptr;  // told when a child is reaped
  bool forced_ = false;         // force_stop has killed the children still running
};

}  // namespace sockserv
