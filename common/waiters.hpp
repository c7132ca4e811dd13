// CutWaiter: the waiter of connections run by a server. It polls like PollWaiter but also
// watches the server's cut descriptor (and, in the iterative model, its wakeup pipe).
#pragma once

#include <functional>

#include "io.hpp"

namespace sockserv {

class CutWaiter : public Waiter {
 public:
  /// `cut_fd` readable: throw ConnectionCut. `wakeup_fd` (optional, -1 for none) readable:
  /// call `on_wakeup` and keep waiting.
  explicit CutWaiter(int cut_fd, int wakeup_fd = -1, std::function<void()> on_wakeup = {});
  bool wait(std::span<pollfd> fds, Deadline deadline) override;

 private:
  int cut_fd_;
  int wakeup_fd_;
  std::function<void()> on_wakeup_;
};

}  // namespace sockserv
