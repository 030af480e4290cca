#include "bench/histogram.h"

#include <algorithm>
#include <cmath>

namespace factlog::bench {

int Histogram::Index(uint64_t v) {
  constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  if (v < kSub) return static_cast<int>(v);
  const int msb = 63 - __builtin_clzll(v);
  const int shift = msb - kSubBits;
  // (v >> shift) is in [kSub, 2 kSub): the top kSubBits+1 bits.
  return static_cast<int>(((shift + 1) << kSubBits) + ((v >> shift) - kSub));
}

uint64_t Histogram::Midpoint(int index) {
  constexpr int kSub = 1 << kSubBits;
  if (index < kSub) return static_cast<uint64_t>(index);
  const int shift = (index >> kSubBits) - 1;
  const uint64_t low = static_cast<uint64_t>((index & (kSub - 1)) + kSub)
                       << shift;
  return low + ((uint64_t{1} << shift) >> 1);
}

void Histogram::Record(int64_t micros) {
  if (micros < 0) micros = 0;
  ++buckets_[Index(static_cast<uint64_t>(micros))];
  ++count_;
  max_ = std::max(max_, micros);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

double Histogram::QuantileMs(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank = std::min<uint64_t>(
      count_ - 1, static_cast<uint64_t>(std::floor(q * (count_ - 1))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen > rank) {
      return std::min<double>(Midpoint(i), max_) / 1000.0;
    }
  }
  return max_ / 1000.0;
}

}  // namespace factlog::bench
