// Waiting for a connection while listening for the server's "time is up".
#include "waiters.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "error.hpp"

namespace sockserv {

CutWaiter::CutWaiter(int cut_fd, int wakeup_fd, std::function<void()> on_wakeup)
    : cut_fd_(cut_fd), wakeup_fd_(wakeup_fd), on_wakeup_(std::move(on_wakeup)) {}

bool CutWaiter::wait(std::span<pollfd> fds, Deadline deadline) {
  // A handful of descriptors at most: keep them on the stack, this runs for every wait.
  constexpr size_t kMaxWatched = 16;
  if (fds.size() + 2 > kMaxWatched) throw std::length_error("CutWaiter: too many descriptors");
  std::array<pollfd, kMaxWatched> storage;
  std::copy(fds.begin(), fds.end(), storage.begin());
  size_t count = fds.size();
  size_t cut_index = count;
  storage[count++] = {cut_fd_, POLLIN, 0};
  if (wakeup_fd_ >= 0) storage[count++] = {wakeup_fd_, POLLIN, 0};
  std::span<pollfd> all(storage.data(), count);
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
