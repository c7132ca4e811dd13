// Histogram: log-linear buckets (see histogram.hpp for the layout).
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sockserv {

namespace {
constexpr unsigned kSubBucketBits = 11;  // 2048 exact values at the bottom
constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
constexpr uint64_t kHalf = kSubBuckets / 2;          // sub-buckets per power of two above
constexpr unsigned kTopShift = 43 - kSubBucketBits;  // shift of kHighestTrackable
constexpr size_t kBucketCount = kSubBuckets + kTopShift * kHalf;
}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

// Values under 2048 are their own index. A larger value is shifted right until it has 11
// bits (1024..2047); the shift picks the power of two, the 10 bits below the top one the
// sub-bucket.
size_t Histogram::index_of(uint64_t value) {
  if (value < kSubBuckets) return value;
  unsigned shift = static_cast<unsigned>(std::bit_width(value)) - kSubBucketBits;
  return kSubBuckets + (shift - 1) * kHalf + ((value >> shift) - kHalf);
}

uint64_t Histogram::highest_in_bucket(size_t index) {
  if (index < kSubBuckets) return index;
  size_t above = index - kSubBuckets;
  unsigned shift = static_cast<unsigned>(above / kHalf) + 1;
  uint64_t top_bits = kHalf + above % kHalf;
  return ((top_bits + 1) << shift) - 1;
}

void Histogram::record(uint64_t value) {
  ++counts_[index_of(std::min(value, kHighestTrackable))];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::reset() {
  *this = Histogram();
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  double wanted = std::ceil(std::clamp(percent, 0.0, 100.0) / 100.0 * static_cast<double>(count_));
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    // The bucket holding the largest value answers with that value, exactly.
    if (seen == count_) return max_;
    if (seen >= rank) return std::clamp(highest_in_bucket(i), min(), max_);
  }
  return max_;
}

}  // namespace sockserv
