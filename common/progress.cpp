// Drawing the progress bar.
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace sockserv {
namespace {

constexpr uint64_t kMiB = 1 << 20;

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / kMiB;
}

}  // namespace

Progress::Progress(uint64_t done, std::optional<uint64_t> total)
    : done_(done), total_(total), terminal_(::isatty(2) == 1 && (!total || *total > kMiB)) {}

void Progress::add(uint64_t n) {
  done_ += n;
  if (!terminal_) return;
  if (total_) {
    draw_bar();
  } else if (done_ > kMiB) {
    draw_count();
  }
}

void Progress::finish() {
  if (terminal_ && shown_ >= 0 && (!total_ || done_ < *total_)) std::fprintf(stderr, "\n");
  terminal_ = false;
}

void Progress::draw_bar() {
  int percent =
      *total_ == 0 ? 100 : static_cast<int>(std::min<uint64_t>(done_, *total_) * 100 / *total_);
  if (percent == shown_) return;
  shown_ = percent;
  std::fprintf(stderr, "\r[%-50s] %3d%% %.1f/%.1f MiB",
               std::string(static_cast<size_t>(percent / 2), '#').c_str(), percent, mib(done_),
               mib(*total_));
  if (done_ >= *total_) std::fprintf(stderr, "\n");
}

void Progress::draw_count() {
  auto whole = static_cast<int64_t>(done_ / kMiB);
  if (whole == shown_) return;
  shown_ = whole;
  std::fprintf(stderr, "\r%.0f MiB received", mib(done_));
}

}  // namespace sockserv
