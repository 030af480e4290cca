#include "core/server_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "domain/event_filter.h"
#include "google/protobuf/util/time_util.h"

namespace factlog::core {
namespace {

using metrics::Sample;
using metrics::Type;

// Event type label: the enum name without its prefix, e.g. CLAIM_RECORDED.
std::string EventTypeLabel(int type) {
  const std::string name = v1::EventType_Name(static_cast<v1::EventType>(type));
  absl::string_view label = name;
  absl::ConsumePrefix(&label, "EVENT_TYPE_");
  return std::string(label);
}

// Canonical code label, e.g. INVALID_ARGUMENT.
std::string CodeLabel(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

// Seconds buckets from 100 µs to about 26 s.
std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<Sample> One(double value) { return {Sample{{}, value}}; }

// How far the search index is behind the log; `index` is read before
// `log` (the index never leads the log it was read before).
uint64_t SearchIndexLag(uint64_t index, uint64_t log) {
  return log > index ? log - index : 0;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (statm >> size >> resident) {
    stats.virtual_bytes = size * page;
    stats.resident_bytes = resident * page;
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++stats.open_fds;
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    stats.cpu_seconds =
        static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
            1e6;
  }
  return stats;
}

ServerMetrics::ServerMetrics(const storage::EventStore* store, const Hub* hub)
    : store_(store), hub_(hub), started_(absl::Now()) {
  metrics::Registry& r = registry_;

  // Writer: counted as it happens.
  appends_ = r.AddCounter("factlog_appends_total",
                          "Commands applied: each appended its events durably "
                          "(deduplicated retries not included).")
                 ->Get();
  deduplicated_ =
      r.AddCounter("factlog_commands_deduplicated_total",
                   "Commands answered from an earlier command with the same "
                   "request_id; nothing was appended.")
          ->Get();
  metrics::Family<metrics::Counter>* events =
      r.AddCounter("factlog_events_appended_total",
                   "Events appended to the log, by event type.", {"type"});
  for (int type = 1; type < kEventTypes; ++type) {
    events_[type] = events->Get({EventTypeLabel(type)});
  }
  events_[0] = nullptr;
  rejections_ = r.AddCounter(
      "factlog_command_rejections_total",
      "Commands the writer refused, by canonical code: the domain's errors, a "
      "full queue (RESOURCE_EXHAUSTED), shutdown or a failed commit "
      "(UNAVAILABLE).",
      {"code"});
  // Every code has its child from the start, so each series exists (at 0)
  // before its first rejection.
  rejections_by_code_[0] = nullptr;  // OK is no rejection
  for (int code = 1; code < kStatusCodes; ++code) {
    rejections_by_code_[code] =
        rejections_->Get({CodeLabel(static_cast<absl::StatusCode>(code))});
  }
  commit_failures_ =
      r.AddCounter("factlog_commit_failures_total",
                   "Group commits RocksDB failed to store (disk full, I/O "
                   "error); their commands were refused with UNAVAILABLE.")
          ->Get();
  batch_commands_ =
      r.AddHistogram("factlog_write_batch_commands",
                     "Commands the writer drained into one group commit.", {},
                     metrics::ExponentialBuckets(1, 2, 13))
          ->Get();
  commit_seconds_ =
      r.AddHistogram("factlog_commit_duration_seconds",
                     "Time to write one group commit to RocksDB and fsync "
                     "it (sync=true).",
                     {}, LatencyBuckets())
          ->Get();

  // RPCs: the interceptor.
  rpc_seconds_ = r.AddHistogram(
      "factlog_rpc_duration_seconds",
      "RPC latency from receiving the call's metadata to sending its status "
      "(a stream's whole life), by service, method and canonical code.",
      {"service", "method", "code"}, LatencyBuckets());

  // Read when scraped.
  r.AddCallback(Type::kGauge, "factlog_log_last_position",
                "Position of the last committed event.", {},
                [this] { return One(store_->LastPosition()); });
  r.AddCallback(Type::kGauge, "factlog_subscribers",
                "Subscribe streams, live (reading the hub's window) or "
                "catching up (reading RocksDB).",
                {"state"}, [this] {
                  v1::GetStatsResponse stats;
                  hub_->FillStats(&stats);
                  double live = 0, catching_up = 0;
                  for (const v1::SubscriberStats& s : stats.subscriber()) {
                    (s.live() ? live : catching_up) += 1;
                  }
                  return std::vector<Sample>{{{"live"}, live},
                                             {{"catching_up"}, catching_up}};
                });
  r.AddCallback(Type::kGauge, "factlog_subscriber_lag_max_events",
                "The largest subscriber lag: last committed position minus "
                "the position the subscriber has examined (0 without "
                "subscribers). Per-subscriber lag: factlog admin stats.",
                {}, [this] {
                  v1::GetStatsResponse stats;
                  hub_->FillStats(&stats);
                  uint64_t lag = 0;
                  for (const v1::SubscriberStats& s : stats.subscriber()) {
                    lag = std::max<uint64_t>(lag, s.lag());
                  }
                  return One(static_cast<double>(lag));
                });
  r.AddCallback(Type::kGauge, "factlog_hub_window_events",
                "Recent events the hub keeps in memory for live subscribers.",
                {}, [this] {
                  v1::GetStatsResponse stats;
                  hub_->FillStats(&stats);
                  return One(static_cast<double>(stats.hub_window_events()));
                });
  r.AddCallback(
      Type::kGauge, "factlog_hub_bytes",
      "Bytes accounted to the hub: its window plus every "
      "subscriber's send buffer.",
      {}, [this] { return One(static_cast<double>(hub_->AccountedBytes())); });
  r.AddCallback(
      Type::kGauge, "factlog_disk_bytes",
      "Bytes of the data directory's files (SST files and WAL).", {}, [this] {
        return One(static_cast<double>(store_->ApproximateDiskBytes()));
      });

  // The store's properties (RocksDB's and the claim cache's), one call per
  // metric (each is an in-memory read).
  struct Rocks {
    Type type;
    const char* name;
    const char* key;
    const char* help;
    double scale;
  };
  static const Rocks kRocks[] = {
      {Type::kGauge, "factlog_rocksdb_pending_compaction_bytes",
       "pending_compaction_bytes",
       "RocksDB's estimate of the bytes compaction has to rewrite.", 1},
      {Type::kGauge, "factlog_rocksdb_sst_bytes", "sst_bytes",
       "Bytes of all RocksDB SST files.", 1},
      {Type::kGauge, "factlog_rocksdb_live_sst_bytes", "live_sst_bytes",
       "Bytes of the SST files of RocksDB's current version.", 1},
      {Type::kGauge, "factlog_rocksdb_memtable_bytes", "memtable_bytes",
       "Bytes of RocksDB's memtables.", 1},
      {Type::kGauge, "factlog_rocksdb_running_compactions",
       "running_compactions", "RocksDB compactions running now.", 1},
      {Type::kGauge, "factlog_rocksdb_running_flushes", "running_flushes",
       "RocksDB memtable flushes running now.", 1},
      {Type::kGauge, "factlog_rocksdb_delayed_write_rate_bytes_per_second",
       "delayed_write_rate",
       "Rate RocksDB slows writes to while it catches up; 0 when writes are "
       "not slowed.",
       1},
      {Type::kGauge, "factlog_rocksdb_write_stopped", "write_stopped",
       "1 while RocksDB stops writes (a stall), else 0.", 1},
      {Type::kCounter, "factlog_rocksdb_write_stops_total", "write_stops",
       "Times RocksDB stopped writes since factlogd opened it.", 1},
      {Type::kCounter, "factlog_rocksdb_write_slowdowns_total",
       "write_slowdowns",
       "Times RocksDB slowed writes down since factlogd opened it.", 1},
      {Type::kCounter, "factlog_rocksdb_write_stall_seconds_total",
       "write_stall_micros",
       "Time writes spent stalled by RocksDB since factlogd opened it.", 1e-6},
      {Type::kCounter, "factlog_rocksdb_wal_syncs_total", "wal_syncs",
       "RocksDB write-ahead-log fsyncs since factlogd opened it.", 1},
      {Type::kGauge, "factlog_claim_cache_bytes", "claim_cache_bytes",
       "Claim views (ids and bookkeeping included) the claim cache holds.", 1},
      {Type::kGauge, "factlog_claim_cache_capacity_bytes",
       "claim_cache_capacity_bytes",
       "What the claim cache may hold (--claim-cache-mb).", 1},
      {Type::kCounter, "factlog_claim_cache_hits_total", "claim_cache_hits",
       "Claim reads (GetClaim's and the writer's) the claim cache answered.",
       1},
      {Type::kCounter, "factlog_claim_cache_misses_total", "claim_cache_misses",
       "Claim reads that went to RocksDB (a low hit rate with a full cache "
       "says --claim-cache-mb is too small).",
       1},
  };
  for (const Rocks& rocks : kRocks) {
    r.AddCallback(rocks.type, rocks.name, rocks.help, {}, [this, rocks] {
      const std::map<std::string, uint64_t> properties = store_->Properties();
      auto it = properties.find(rocks.key);
      if (it == properties.end()) return std::vector<Sample>();
      return One(static_cast<double>(it->second) * rocks.scale);
    });
  }

  // The process, under the names Prometheus' client libraries use.
  r.AddCallback(
      Type::kGauge, "process_resident_memory_bytes",
      "Resident memory size in bytes.", {}, [] {
        return One(static_cast<double>(ReadProcessStats().resident_bytes));
      });
  r.AddCallback(
      Type::kGauge, "process_virtual_memory_bytes",
      "Virtual memory size in bytes.", {}, [] {
        return One(static_cast<double>(ReadProcessStats().virtual_bytes));
      });
  r.AddCallback(
      Type::kGauge, "process_open_fds", "Number of open file descriptors.", {},
      [] { return One(static_cast<double>(ReadProcessStats().open_fds)); });
  r.AddCallback(Type::kCounter, "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.", {},
                [] { return One(ReadProcessStats().cpu_seconds); });
  r.AddCallback(Type::kGauge, "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.", {},
                [this] { return One(absl::ToUnixMicros(started_) / 1e6); });
}

void ServerMetrics::CommandsDone(
    const std::vector<v1::CommandResponse>& applied,
    const absl::Status& error) {
  for (const v1::CommandResponse& response : applied) {
    (response.deduplicated() ? deduplicated_ : appends_)->Increment();
  }
  if (error.ok()) return;
  const int code = static_cast<int>(error.code());
  if (code > 0 && code < kStatusCodes) {
    rejections_by_code_[code]->Increment();
  } else {
    rejections_->Get({CodeLabel(error.code())})->Increment();
  }
}

void ServerMetrics::BatchProcessed(size_t commands) {
  batch_commands_->Observe(static_cast<double>(commands));
}

void ServerMetrics::Committed(const std::vector<v1::Event>& events,
                              absl::Duration elapsed, bool ok) {
  commit_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  if (!ok) {
    commit_failures_->Increment();
    return;
  }
  for (const v1::Event& event : events) {
    const int type = domain::TypeOf(event);
    if (type > 0 && type < kEventTypes) events_[type]->Increment();
  }
}

void ServerMetrics::RpcFinished(absl::string_view full_method,
                                absl::StatusCode code, absl::Duration elapsed) {
  absl::string_view path = full_method;
  absl::ConsumePrefix(&path, "/");
  const size_t slash = path.find('/');
  std::string service, method;
  if (slash == absl::string_view::npos) {
    method = std::string(path);
  } else {
    service = std::string(path.substr(0, slash));
    method = std::string(path.substr(slash + 1));
  }
  rpc_seconds_->Get({std::move(service), std::move(method), CodeLabel(code)})
      ->Observe(absl::ToDoubleSeconds(elapsed));
}

void ServerMetrics::WatchSearch(const search::SearchIndex* index,
                                const PositionWaiters* waiters) {
  search_index_ = index;
  metrics::Registry& r = registry_;
  r.AddCallback(
      Type::kGauge, "factlog_search_index_position",
      "Position of the last event the search index reflects.", {},
      [index] { return One(static_cast<double>(index->Position())); });
  r.AddCallback(Type::kGauge, "factlog_search_index_lag_events",
                "Events committed to the log and not yet reflected by the "
                "search index: the log's last position minus the index's.",
                {}, [this, index] {
                  const uint64_t reflected = index->Position();
                  return One(static_cast<double>(
                      SearchIndexLag(reflected, store_->LastPosition())));
                });
  r.AddCallback(
      Type::kGauge, "factlog_search_waiting_calls",
      "Calls waiting for the search index to reach a position "
      "(SearchClaims' min_position, RecordClaim's similar claims); "
      "they hold no thread.",
      {}, [waiters] { return One(static_cast<double>(waiters->Waiting())); });
}

void ServerMetrics::FillStats(v1::GetStatsResponse* stats) const {
  if (search_index_ != nullptr) {
    const uint64_t position = search_index_->Position();
    stats->set_search_index_position(position);
    stats->set_search_index_lag(
        SearchIndexLag(position, store_->LastPosition()));
  }
  stats->set_commands_applied(appends_->Value());
  stats->set_commands_deduplicated(deduplicated_->Value());
  uint64_t events = 0;
  for (int type = 1; type < kEventTypes; ++type) {
    const uint64_t n = events_[type]->Value();
    events += n;
    if (n > 0) (*stats->mutable_events_by_type())[EventTypeLabel(type)] = n;
  }
  stats->set_events_appended(events);
  rejections_->ForEach([stats](const metrics::LabelValues& labels,
                               const metrics::Counter& counter) {
    if (counter.Value() > 0) {
      (*stats->mutable_rejections_by_code())[labels[0]] = counter.Value();
    }
  });
  const metrics::Histogram::Snapshot commits = commit_seconds_->Read();
  stats->set_commits(commits.count);
  stats->set_commit_p50_seconds(metrics::Histogram::Quantile(commits, 0.5));
  stats->set_commit_p99_seconds(metrics::Histogram::Quantile(commits, 0.99));
  const std::map<std::string, uint64_t> rocks = store_->Properties();
  auto get = [&rocks](const char* key) -> uint64_t {
    auto it = rocks.find(key);
    return it == rocks.end() ? 0 : it->second;
  };
  stats->set_rocksdb_pending_compaction_bytes(get("pending_compaction_bytes"));
  stats->set_rocksdb_write_stopped(get("write_stopped") != 0);
  stats->set_rocksdb_delayed_write_rate(get("delayed_write_rate"));
  stats->set_rocksdb_write_stops(get("write_stops"));
  stats->set_rocksdb_write_slowdowns(get("write_slowdowns"));
  stats->set_rocksdb_write_stall_micros(get("write_stall_micros"));
  stats->set_resident_memory_bytes(ReadProcessStats().resident_bytes);
  *stats->mutable_started_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(started_));
}

}  // namespace factlog::core
