// ForkModel: a new process per request. Python's ForkingMixIn, Stevens' serv01.
//
// The child serves the one client and exits; the parent only accepts and reaps. A crash in
// one child cannot hurt the others. At --max-children the parent stops accepting until a
// child exits: new clients wait in the listen backlog, none is refused.
#pragma once

#include <sys/types.h>

#include <map>

#include "../process_hub.hpp"
#include "model.hpp"

namespace sockserv {

class ForkModel : public Model {
 public:
  explicit ForkModel(size_t max_children) : max_children_(max_children) {}
  std::string_view name() const override { return "fork"; }
  void process_request(Request request, RequestRunner& runner) override;
  bool has_capacity() const override { return children_.size() < max_children_; }
  void collect_finished() override;
  size_t active() const override { return children_.size(); }
  void force_stop() override;
  /// Children are separate processes: the parent relays between them (ProcessHub).
  std::unique_ptr<Hub> make_hub() override;

 private:
  size_t max_children_;
  std::map<pid_t, uint64_t> children_;  // child -> the request it serves
  RequestRunner* runner_ = nullptr;     // told when a child is reaped
  ProcessHub* hub_ = nullptr;  // owned by the server; set when the service has a hub
};

}  // namespace sockserv
