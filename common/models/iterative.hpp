// IterativeModel: one request at a time, in the server's own thread. Python's plain
// TCPServer, Stevens' serv00. The simplest server there is, and the baseline to compare with.
#pragma once

#include "model.hpp"

namespace sockserv {

class IterativeModel : public Model {
 public:
  std::string_view name() const override { return "iterative"; }
  void process_request(Request request, RequestRunner& runner) override;
};

}  // namespace sockserv
