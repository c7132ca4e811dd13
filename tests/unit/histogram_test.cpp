// Histogram: percentiles of known distributions to 3 significant digits, exact max, merge.
#include "histogram.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <memory>

using namespace sockserv;

namespace {

// True when `got` equals `want` to 3 significant digits (relative error under 0.1%).
bool three_digits(uint64_t got, uint64_t want) {
  double error = std::abs(static_cast<double>(got) - static_cast<double>(want));
  return error <= static_cast<double>(want) / 1000.0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(histogram)

BOOST_AUTO_TEST_CASE(empty_reports_zeros) {
  auto h = std::make_unique<Histogram>();
  BOOST_TEST(h->count() == 0U);
  BOOST_TEST(h->percentile(50) == 0U);
  BOOST_TEST(h->max() == 0U);
  BOOST_TEST(h->mean() == 0.0);
}

BOOST_AUTO_TEST_CASE(uniform_1_to_100000) {
  auto h = std::make_unique<Histogram>();
  for (uint64_t v = 1; v <= 100'000; ++v) h->record(v);
  BOOST_TEST(h->count() == 100'000U);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto want = static_cast<uint64_t>(p * 1000);
    BOOST_TEST(three_digits(h->percentile(p), want), "p" << p << " = " << h->percentile(p));
  }
  BOOST_TEST(h->percentile(100) == 100'000U);
  BOOST_TEST(h->min() == 1U);
  BOOST_TEST(h->max() == 100'000U);
  BOOST_TEST(h->mean() == 50'000.5, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(small_values_are_exact) {
  auto h = std::make_unique<Histogram>();
  for (uint64_t v = 0; v < 2000; ++v) h->record(v);
  BOOST_TEST(h->percentile(50) == 999U);
  BOOST_TEST(h->percentile(100) == 1999U);
}

BOOST_AUTO_TEST_CASE(constant_is_exact_at_every_percentile) {
  auto h = std::make_unique<Histogram>();
  for (int i = 0; i < 1000; ++i) h->record(20'123'457);  // 20 ms in ns
  for (double p : {0.0, 50.0, 99.9, 100.0}) BOOST_TEST(h->percentile(p) == 20'123'457U);
  BOOST_TEST(h->mean() == 20'123'457.0);
}

BOOST_AUTO_TEST_CASE(bimodal) {
  // 90% at 1 ms, 10% at 1 s: p50 and p90 in the low mode, p99 in the high one.
  auto h = std::make_unique<Histogram>();
  for (int i = 0; i < 9000; ++i) h->record(1'000'000);
  for (int i = 0; i < 1000; ++i) h->record(1'000'000'000);
  BOOST_TEST(three_digits(h->percentile(50), 1'000'000));
  BOOST_TEST(three_digits(h->percentile(90), 1'000'000));
  BOOST_TEST(three_digits(h->percentile(90.01), 1'000'000'000));
  BOOST_TEST(three_digits(h->percentile(99), 1'000'000'000));
  BOOST_TEST(h->max() == 1'000'000'000U);
}

BOOST_AUTO_TEST_CASE(max_is_exact_and_huge_values_clamp) {
  auto h = std::make_unique<Histogram>();
  h->record(123'456'789);
  h->record(123'456'790);
  BOOST_TEST(h->max() == 123'456'790U);
  BOOST_TEST(h->percentile(100) == 123'456'790U);
  h->record(UINT64_MAX / 2);  // above the trackable range: still the exact max
  BOOST_TEST(h->max() == UINT64_MAX / 2);
  BOOST_TEST(h->percentile(100) == UINT64_MAX / 2);
  BOOST_TEST(three_digits(h->percentile(50), 123'456'790));
}

BOOST_AUTO_TEST_CASE(merge_adds_counts) {
  auto low = std::make_unique<Histogram>();
  auto high = std::make_unique<Histogram>();
  for (uint64_t v = 1; v <= 50'000; ++v) low->record(v);
  for (uint64_t v = 50'001; v <= 100'000; ++v) high->record(v);
  low->merge(*high);
  BOOST_TEST(low->count() == 100'000U);
  BOOST_TEST(low->min() == 1U);
  BOOST_TEST(low->max() == 100'000U);
  BOOST_TEST(three_digits(low->percentile(75), 75'000));
  BOOST_TEST(low->mean() == 50'000.5, boost::test_tools::tolerance(1e-9));
  low->reset();
  BOOST_TEST(low->count() == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
