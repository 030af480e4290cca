#include "common/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace factlog::metrics {
namespace {

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "factlog metrics: %s\n", why.c_str());
  std::abort();
}

bool ValidName(absl::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || (colon && c == ':') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// HELP text escapes only backslash and newline.
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// `{a="x",b="y"}`, with `extra` (already formatted, e.g. le="0.5") last;
// empty when there is nothing to put in it.
std::string LabelSet(const std::vector<std::string>& names,
                     const LabelValues& values, absl::string_view extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out.append(extra.data(), extra.size());
  }
  out += '}';
  return out;
}

absl::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

void CheckLabelCount(size_t names, size_t values) {
  if (names != values) {
    Die(absl::StrCat("expected ", names, " label values, got ", values));
  }
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));  // not 1e+06
  }
  char buffer[64];
  const std::to_chars_result result = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  return std::string(buffer, result.ptr);
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

// ---- Histogram -------------------------------------------------------------

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (i > 0 && !(bounds_[i] > bounds_[i - 1])) {
      Die("histogram bounds must be strictly increasing");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  // Prometheus buckets are "less than or equal": the first bound >= value.
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value,
                                     std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

double Histogram::Quantile(const Snapshot& snapshot, double q) {
  if (snapshot.count == 0) return 0;
  const double rank = q * static_cast<double>(snapshot.count);
  size_t i = 0;
  while (i < snapshot.bounds.size() &&
         static_cast<double>(snapshot.cumulative[i]) < rank) {
    ++i;
  }
  if (i == snapshot.bounds.size()) {
    return snapshot.bounds.empty() ? 0 : snapshot.bounds.back();
  }
  const double lower = i == 0 ? 0 : snapshot.bounds[i - 1];
  const double upper = snapshot.bounds[i];
  const double below =
      i == 0 ? 0 : static_cast<double>(snapshot.cumulative[i - 1]);
  const double in_bucket = static_cast<double>(snapshot.cumulative[i]) - below;
  if (in_bucket <= 0) return upper;
  return lower + (upper - lower) * (rank - below) / in_bucket;
}

// ---- Registry --------------------------------------------------------------

Registry::Entry* Registry::Add(std::string name, Type type, std::string help,
                               std::vector<std::string> label_names) {
  if (!ValidName(name, /*colon=*/true)) Die("bad metric name: " + name);
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*colon=*/false) || absl::StartsWith(label, "__") ||
        (type == Type::kHistogram && label == "le")) {
      Die(absl::StrCat("bad label name for ", name, ": ", label));
    }
  }
  absl::MutexLock lock(&mu_);
  auto [it, added] = entries_.try_emplace(std::move(name));
  if (!added) Die("metric registered twice: " + it->first);
  Entry& entry = it->second;
  entry.type = type;
  entry.help = std::move(help);
  entry.label_names = std::move(label_names);
  return &entry;
}

Family<Counter>* Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  Entry* entry =
      Add(std::move(name), Type::kCounter, std::move(help), label_names);
  entry->counters = std::make_unique<Family<Counter>>(
      std::move(label_names), [] { return std::make_unique<Counter>(); });
  return entry->counters.get();
}

Family<Histogram>* Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  Entry* entry =
      Add(std::move(name), Type::kHistogram, std::move(help), label_names);
  Histogram check(bounds);  // aborts here, not at first use, on bad bounds
  entry->histograms = std::make_unique<Family<Histogram>>(
      std::move(label_names), [bounds = std::move(bounds)] {
        return std::make_unique<Histogram>(bounds);
      });
  return entry->histograms.get();
}

void Registry::AddCallback(Type type, std::string name, std::string help,
                           std::vector<std::string> label_names,
                           std::function<std::vector<Sample>()> collect) {
  if (type == Type::kHistogram) Die("a callback metric cannot be a histogram");
  Entry* entry =
      Add(std::move(name), type, std::move(help), std::move(label_names));
  entry->collect = std::move(collect);
}

std::string Registry::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& item : entries_) {
    // Plain references, not structured bindings: the lambdas below capture
    // them, which C++17 allows only for variables (clang enforces it).
    const std::string& name = item.first;
    const auto& entry = item.second;
    absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(entry.help), "\n",
                    "# TYPE ", name, " ", TypeName(entry.type), "\n");
    const std::vector<std::string>& names = entry.label_names;
    if (entry.collect) {
      std::vector<Sample> samples = entry.collect();
      std::sort(
          samples.begin(), samples.end(),
          [](const Sample& a, const Sample& b) { return a.labels < b.labels; });
      for (const Sample& sample : samples) {
        CheckLabelCount(names.size(), sample.labels.size());
        absl::StrAppend(&out, name, LabelSet(names, sample.labels), " ",
                        FormatValue(sample.value), "\n");
      }
    } else if (entry.counters) {
      entry.counters->ForEach(
          [&](const LabelValues& values, const Counter& counter) {
            absl::StrAppend(&out, name, LabelSet(names, values), " ",
                            counter.Value(), "\n");
          });
    } else if (entry.histograms) {
      entry.histograms->ForEach([&](const LabelValues& values,
                                    const Histogram& histogram) {
        const Histogram::Snapshot s = histogram.Read();
        for (size_t i = 0; i <= s.bounds.size(); ++i) {
          const std::string le = absl::StrCat(
              "le=\"", i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf",
              "\"");
          absl::StrAppend(&out, name, "_bucket", LabelSet(names, values, le),
                          " ", s.cumulative[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum", LabelSet(names, values), " ",
                        FormatValue(s.sum), "\n", name, "_count",
                        LabelSet(names, values), " ", s.count, "\n");
      });
    }
  }
  return out;
}

}  // namespace factlog::metrics
