// The floor under factlog's durable writes: a RocksDB log that appends
// records by group commit, as core::Writer does (everything queued goes
// into one WriteBatch written with sync=true, and callers are told on a
// completion thread), and does nothing else: no decisions, projections,
// indexes, request records or encoding. Baseline.DurableEcho and
// Baseline.DurableIngest (bench/proto/factlog/bench/baseline.proto) stand
// on it, so that append and import can be set beside the cheapest durable
// service this stack (gRPC, RocksDB, this disk) allows.
#ifndef FACTLOG_BENCH_DURABLE_LOG_H_
#define FACTLOG_BENCH_DURABLE_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"

namespace factlog::bench {

class DurableLog {
 public:
  // Called once the records are durable (true) or their write failed.
  using Done = std::function<void(bool durable)>;

  // Creates the log in `dir`, which must not exist yet, with the options
  // of storage::EventStore that bear on writing and syncing.
  static absl::StatusOr<std::unique_ptr<DurableLog>> Open(
      const std::string& dir);
  DurableLog(const DurableLog&) = delete;
  DurableLog& operator=(const DurableLog&) = delete;
  // Writes and completes everything appended before, then closes.
  ~DurableLog();

  // Appends `records` under the next keys (8-byte big-endian sequence
  // numbers); `done` runs on the completion thread (on the caller's, with
  // false, once the log is closing).
  void Append(std::vector<std::string> records, Done done);
  // Records written and synced so far.
  uint64_t durable() const { return durable_.load(std::memory_order_acquire); }

 private:
  struct Pending {
    std::vector<std::string> records;
    Done done;
  };
  explicit DurableLog(std::unique_ptr<rocksdb::DB> db);
  void RunWriter();
  void RunCompleter();

  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<uint64_t> durable_{0};
  uint64_t next_key_ = 0;  // the writer thread's

  absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex done_mu_;
  // Each written batch's callbacks and whether it was durable.
  std::deque<std::pair<std::vector<Done>, bool>> written_
      ABSL_GUARDED_BY(done_mu_);
  bool writer_done_ ABSL_GUARDED_BY(done_mu_) = false;

  std::thread writer_;
  std::thread completer_;
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_DURABLE_LOG_H_
