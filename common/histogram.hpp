// Histogram: counts of non-negative integer values (loadgen records nanoseconds) kept to three
// significant digits, in the log-linear layout of Gil Tene's HdrHistogram.
//
// Values below 2048 are counted exactly; above, each power of two [2^k, 2^(k+1)) is cut into
// 1024 equal sub-buckets, so a value is known to within 1/1024 (under 0.1%) of itself. The
// memory is fixed (about 280 KB) whatever the number of values, recording is a few
// instructions, and histograms of several threads add up exactly with merge().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sockserv {

class Histogram {
 public:
  /// Largest value told apart from larger ones (2^43 - 1: 2.4 hours in nanoseconds).
  static constexpr uint64_t kHighestTrackable = (uint64_t{1} << 43) - 1;

  /// An empty histogram.
  Histogram();

  /// Counts one occurrence of `value`; values above kHighestTrackable count as that value
  /// in the buckets, but max() and mean() still see them exactly.
  void record(uint64_t value);
  /// Adds every count of `other` to this histogram (the two may be of different threads).
  void merge(const Histogram& other);
  /// Forgets every value.
  void reset();

  /// Number of values recorded.
  uint64_t count() const { return count_; }
  /// Smallest and largest value recorded, exactly (0 when empty).
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  /// Exact arithmetic mean of the values recorded (0 when empty).
  double mean() const;
  /// The value at `percent` (0..100): at least `percent`% of the values are at most this
  /// value, to 3 significant digits, never above max(); 0 when empty.
  uint64_t percentile(double percent) const;

 private:
  static size_t index_of(uint64_t value);
  static uint64_t highest_in_bucket(size_t index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace sockserv
