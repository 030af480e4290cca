#ifndef FACTLOG_CORE_SERVER_METRICS_H_
#define FACTLOG_CORE_SERVER_METRICS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/metrics_registry.h"
#include "core/hub.h"
#include "core/position_waiters.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "search/search_index.h"
#include "storage/event_store.h"

namespace factlog::core {

// factlogd's metrics (README "Metrics and logs" lists them): what the
// writer and the RPC interceptor count as it happens, with atomic adds only,
// and what is read from the store, the hub and /proc when scraped. Counters
// start at zero when factlogd starts. GetStats (AdminService) reports the
// same numbers through FillStats.
//
// Thread-safe. `store` and `hub` must outlive every Render() and FillStats()
// call (the server stops the metrics listener before closing them).
class ServerMetrics {
 public:
  ServerMetrics(const storage::EventStore* store, const Hub* hub);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // ---- Writer thread -----------------------------------------------------
  // A command sequence was answered: `applied` are its responses (those
  // marked deduplicated appended nothing), `error` why the command after
  // them was refused (OK when none was).
  void CommandsDone(const std::vector<v1::CommandResponse>& applied,
                    const absl::Status& error);
  // The writer drained `commands` commands into one group commit.
  void BatchProcessed(size_t commands);
  // EventStore::Commit of `events` took `elapsed`; `ok` whether it stored
  // them.
  void Committed(const std::vector<v1::Event>& events, absl::Duration elapsed,
                 bool ok);

  // ---- RPC interceptor ---------------------------------------------------
  // `full_method` as gRPC names it: "/package.Service/Method".
  void RpcFinished(absl::string_view full_method, absl::StatusCode code,
                   absl::Duration elapsed);

  // Adds the search index's gauges (its position, its lag behind the log,
  // the calls waiting for it) to Render and FillStats. Call once, before
  // either runs; `index` and `waiters` must outlive them.
  void WatchSearch(const search::SearchIndex* index,
                   const PositionWaiters* waiters);

  // ---- Readers -----------------------------------------------------------
  // The Prometheus text exposition of everything.
  std::string Render() const { return registry_.Render(); }
  // Fills GetStatsResponse's counters, commit latency, RocksDB and process
  // fields (not the hub's and the log's, which AdminService fills).
  void FillStats(v1::GetStatsResponse* stats) const;

  metrics::Registry& registry() { return registry_; }

 private:
  static constexpr int kEventTypes = v1::EventType_ARRAYSIZE;  // its values
  static constexpr int kStatusCodes = 17;  // canonical codes 0..16

  const storage::EventStore* const store_;
  const Hub* const hub_;
  const search::SearchIndex* search_index_ = nullptr;
  const absl::Time started_;
  metrics::Registry registry_;
  metrics::Counter* appends_;
  metrics::Counter* deduplicated_;
  metrics::Counter* commit_failures_;
  std::array<metrics::Counter*, kEventTypes> events_;
  metrics::Family<metrics::Counter>* rejections_;
  std::array<metrics::Counter*, kStatusCodes> rejections_by_code_;
  metrics::Histogram* batch_commands_;
  metrics::Histogram* commit_seconds_;
  metrics::Family<metrics::Histogram>* rpc_seconds_;
};

// Process figures from /proc/self: resident and virtual memory in bytes,
// open file descriptors; 0 where unreadable.
struct ProcessStats {
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  double cpu_seconds = 0;
};
ProcessStats ReadProcessStats();

}  // namespace factlog::core

#endif  // FACTLOG_CORE_SERVER_METRICS_H_
