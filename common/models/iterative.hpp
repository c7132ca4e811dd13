// IterativeModel: one request at a time, in the server's own thread. Python's plain
// TCPServer, Stevens' serv00. The simplest server there is, and the baseline to compare with.
#pragma once

#include "model.hpp"

namespace sockserv {

class IterativeModel : public Model {
 public:
  explicit IterativeModel(const ModelOptions&) {}
  std::string_view name() const override { return "iterative"; }
  IoStyle io_style() const override { return IoStyle::poll; }
  void process_request(Request request, ServerCore& core) override;
};

}  // namespace sockserv
