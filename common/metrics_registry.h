#ifndef FACTLOG_COMMON_METRICS_REGISTRY_H_
#define FACTLOG_COMMON_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

// A small Prometheus metrics registry: counters, histograms with fixed
// buckets, and gauges or counters read from elsewhere when scraped, each a
// family of children told apart by label values. Render() writes the text
// exposition format 0.0.4 (HELP and TYPE lines, escaped label values,
// cumulative histogram buckets ending in +Inf, families sorted by name).
//
// The hot path is lock-free: Counter::Increment and Histogram::Observe are
// relaxed atomic adds. Looking a child up by label values takes a shared
// lock (an exclusive one the first time those values are seen), so a caller
// whose labels are fixed looks the child up once and keeps the pointer;
// children live as long as the registry.
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
// [a-zA-Z_][a-zA-Z0-9_]*; registering a bad or duplicate name is a
// programming error and aborts. Thread-safe.
namespace factlog::metrics {

// Label values of one child, in the order of its family's label names.
using LabelValues = std::vector<std::string>;

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Observations counted into fixed buckets, with their count and sum.
class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, strictly increasing; +Inf is
  // implicit.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    // Cumulative: cumulative[i] observations were <= bounds[i]; the last
    // element (one past bounds) is the +Inf bucket and equals count.
    std::vector<uint64_t> cumulative;
    uint64_t count = 0;
    double sum = 0;
  };
  // Consistent in itself (count is the +Inf bucket), though concurrent
  // observations may land on either side of it.
  Snapshot Read() const;

  // The q-quantile (0 < q < 1) estimated as Prometheus' histogram_quantile
  // does: linear within the bucket that holds it. 0 without observations;
  // the highest finite bound when it falls in the +Inf bucket.
  static double Quantile(const Snapshot& snapshot, double q);

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Bucket bounds: `count` bounds from `start`, each `factor` times the last.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// Children of one metric told apart by label values.
template <typename T>
class Family {
 public:
  Family(std::vector<std::string> label_names,
         std::function<std::unique_ptr<T>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child with these label values (as many as the family has label
  // names; aborts otherwise), created on first use. Never null.
  T* Get(const LabelValues& values);
  // The one child of a family without labels.
  T* Get() { return Get(LabelValues()); }

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls `fn` for every child, in label-value order.
  void ForEach(
      const std::function<void(const LabelValues&, const T&)>& fn) const;

 private:
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<T>()> make_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

// One sample of a metric read at scrape time.
struct Sample {
  LabelValues labels;
  double value = 0;
};

enum class Type { kCounter, kGauge, kHistogram };

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The returned families live as long as the registry.
  Family<Counter>* AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Histogram>* AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds);

  // A counter or gauge whose samples `collect` reads from elsewhere at every
  // Render (a value some other module already keeps, such as the hub's
  // subscriber count or a RocksDB property). `collect` runs on the
  // scraping thread and must be thread-safe; each sample carries one value
  // per label name.
  void AddCallback(Type type, std::string name, std::string help,
                   std::vector<std::string> label_names,
                   std::function<std::vector<Sample>()> collect);

  // The text exposition format, version 0.0.4.
  std::string Render() const;

 private:
  struct Entry {
    Type type;
    std::string help;
    std::vector<std::string> label_names;
    std::unique_ptr<Family<Counter>> counters;
    std::unique_ptr<Family<Histogram>> histograms;
    std::function<std::vector<Sample>()> collect;
  };
  Entry* Add(std::string name, Type type, std::string help,
             std::vector<std::string> label_names);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// `value` escaped for a label value: backslash, double quote and newline.
std::string EscapeLabelValue(absl::string_view value);
// `value` as the exposition format writes it: shortest round-trip decimal,
// +Inf, -Inf or NaN.
std::string FormatValue(double value);

// ---- Family<T> ---------------------------------------------------------

void CheckLabelCount(size_t names, size_t values);

template <typename T>
T* Family<T>::Get(const LabelValues& values) {
  CheckLabelCount(label_names_.size(), values.size());
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& child = children_[values];
  if (child == nullptr) child = make_();
  return child.get();
}

template <typename T>
void Family<T>::ForEach(
    const std::function<void(const LabelValues&, const T&)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : children_) fn(values, *child);
}

}  // namespace factlog::metrics

#endif  // FACTLOG_COMMON_METRICS_REGISTRY_H_
