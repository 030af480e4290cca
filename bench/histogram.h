// Histogram: a fixed-size log-linear latency histogram (about 3% relative
// precision from 1 µs to hours), cheap enough to keep one per client or per
// subscriber and merge at the end. Values are microseconds.
//
// Not thread-safe: one writer at a time; merge after the writers are done.
#ifndef FACTLOG_BENCH_HISTOGRAM_H_
#define FACTLOG_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace factlog::bench {

class Histogram {
 public:
  void Record(int64_t micros);
  void Merge(const Histogram& other);
  uint64_t count() const { return count_; }
  // The value at quantile q in [0, 1], in milliseconds; 0 when empty.
  double QuantileMs(double q) const;
  double MaxMs() const { return max_ / 1000.0; }

 private:
  static constexpr int kSubBits = 5;  // 32 buckets per power of two
  static constexpr int kBuckets = (64 - kSubBits + 1) << kSubBits;
  static int Index(uint64_t v);
  static uint64_t Midpoint(int index);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_HISTOGRAM_H_
