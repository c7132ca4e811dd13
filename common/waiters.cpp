// Waiting for a connection while listening for the server's "time is up".
#include "waiters.hpp"

#include <vector>

#include "error.hpp"

namespace sockserv {

CutWaiter::CutWaiter(int cut_fd, int wakeup_fd, std::function<void()> on_wakeup)
    : cut_fd_(cut_fd), wakeup_fd_(wakeup_fd), on_wakeup_(std::move(on_wakeup)) {}

bool CutWaiter::wait(std::span<pollfd> fds, Deadline deadline) {
  std::vector<pollfd> all(fds.begin(), fds.end());
  size_t cut_index = all.size();
  all.push_back({cut_fd_, POLLIN, 0});
  if (wakeup_fd_ >= 0) all.push_back({wakeup_fd_, POLLIN, 0});
  for (;;) {
    if (!plain_waiter().wait(all, deadline)) return false;
    if (all[cut_index].revents != 0) throw ConnectionCut("server stopping: drain time is over");
    if (wakeup_fd_ >= 0 && all[cut_index + 1].revents != 0) {
      on_wakeup_();  // may arm the cut timer; loop to notice it
      bool others_ready = false;
      for (size_t i = 0; i < cut_index; ++i) others_ready |= all[i].revents != 0;
      if (!others_ready) continue;
    }
    for (size_t i = 0; i < fds.size(); ++i) fds[i].revents = all[i].revents;
    return true;
  }
}

}  // namespace sockserv
