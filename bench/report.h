// Report: one Row per measured workload, printed as an aligned table, as
// Markdown (bench/results/latest.md) or as JSON, one object per row, with
// at least workload, ops_per_sec, p99_ms, baseline, baseline_ops_per_sec
// and ratio. Rows say which issue-7 targets they bear on and whether each
// is met; the report never decides pass/fail for a process (no exit codes
// from timing).
#ifndef FACTLOG_BENCH_REPORT_H_
#define FACTLOG_BENCH_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench/histogram.h"

namespace factlog::bench {

// One target of issue 7, evaluated on numbers of the same run.
struct Target {
  std::string what;  // e.g. "ops/s >= 0.75 x echo@64"
  double value = 0;
  double limit = 0;
  bool at_least = true;  // value >= limit is good; else value <= limit
  bool met() const { return at_least ? value >= limit : value <= limit; }
};

struct Row {
  std::string workload;
  int clients = 0;  // concurrent clients, streams or subscribers
  std::string unit = "ops";
  double ops_per_sec = 0;
  uint64_t ops = 0;
  uint64_t errors = 0;
  // Latency quantiles in ms; negative when the workload has none.
  double p50_ms = -1, p99_ms = -1, p999_ms = -1;
  std::string baseline;  // empty: none
  double baseline_ops_per_sec = 0;
  double rss_mib = 0;  // see rss_of
  std::string rss_of;  // "bench process" (in-process server) or "factlogd"
  double disk_bytes_per_event = 0;
  std::vector<std::pair<std::string, double>> extra;  // workload specifics
  std::string note;
  std::vector<Target> targets;

  double ratio() const {
    return baseline_ops_per_sec > 0 ? ops_per_sec / baseline_ops_per_sec : 0;
  }
  void SetLatency(const Histogram& h);
  void Extra(std::string key, double value) {
    extra.emplace_back(std::move(key), value);
  }
};

void PrintTable(const std::vector<Row>& rows, std::FILE* out);
void PrintMarkdown(const std::vector<Row>& rows, std::FILE* out);
// One JSON object per row, one per line.
void PrintJsonLines(const std::vector<Row>& rows, std::FILE* out);
std::string RowJson(const Row& row);

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_REPORT_H_
