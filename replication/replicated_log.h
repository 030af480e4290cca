#ifndef FACTLOG_REPLICATION_REPLICATED_LOG_H_
#define FACTLOG_REPLICATION_REPLICATED_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics_registry.h"
#include "core/commit_log.h"
#include "core/writer.h"
#include "etcd/client.h"
#include "factlog/replication/records.pb.h"
#include "storage/event_store.h"

namespace factlog::replication {

// The most commands the Writer puts in one batch in the replicated mode:
// a batch is one commit record, and etcd refuses requests over 1.5 MiB
// (64 commands at the largest fields domain::Limits allows, a 16 KiB note
// and a 2 KiB URL each, stay below it).
inline constexpr size_t kMaxCommandsPerRecord = 64;

struct ReplicatedLogOptions {
  // The etcd cluster; must outlive the log.
  etcd::Client* etcd = nullptr;
  // Every key of this factlog cluster starts with it.
  std::string prefix = "/factlog/";
  // This node's name, stamped in the records it commits.
  std::string node_name;
  // Called with each applied commit, in log order, before Commit returns
  // for the node's own (the hub's publish). Runs with the apply lock held,
  // on the writer's or the applier's thread; must not block.
  std::function<void(core::CommittedEvents)> on_apply;
  // How long Commit waits for etcd and then for this node to apply.
  absl::Duration commit_timeout = absl::Seconds(10);
  // While etcd cannot be reached at Open, a log line this often.
  absl::Duration wait_log_interval = absl::Seconds(3);
  // Polled while Open waits for etcd; true ends the wait with CANCELLED
  // (factlogd: a stop signal arrived).
  std::function<bool()> stop_requested;
  // Called once, with the apply lock held, when the node stops applying
  // for good (a forked log), saying why. Must not block.
  std::function<void(const std::string&)> on_stop;
  // Where the log registers its metrics (commit latency through etcd, apply
  // lag); null: none. Must outlive the log.
  metrics::Registry* metrics = nullptr;
};

// The applied state of one node, for status and metrics.
struct ReplicaStatus {
  std::string cluster_id;
  uint64_t applied_commit = 0;
  uint64_t applied_position = 0;
  int64_t applied_revision = 0;
  // Empty while the node serves; why it stopped otherwise (a forked log).
  std::string stopped;
};

// The replicated mode's CommitLog (docs/ARCHITECTURE.md, "Replicated
// mode"). etcd holds the cluster's order: a head key (last commit, last
// position, Merkle root) and one key per commit record. Commit writes the
// record and the new head in one etcd transaction that compares the head's
// mod_revision with the one of the last record this node applied (the
// fence: no two nodes ever commit at the same position); when another node
// moved the head first, Commit waits until this node has applied up to the
// new head and answers core::Superseded, and the Writer decides again.
//
// Every node, the committing one included, applies the records in order
// into its store, each in one WriteBatch with the ReplicaState naming it,
// so a crash at any point applies each record exactly once; the applier
// thread follows etcd (a Range to catch up, then a Watch). Each record's
// Merkle root is checked as it is applied: a mismatch is a forked log, and
// the node stops applying and committing, logging why (status().stopped).
//
// Commit returns OK once the record is in etcd (a quorum's fsynced WAL)
// and applied to this node's store. A Commit that fails with UNAVAILABLE
// may still have been committed (the answer from etcd was lost); the
// applier then applies it and the client's retry with the same request_id
// is deduplicated.
//
// Thread-safe; Commit is called by the Writer's thread only.
class ReplicatedLog : public core::CommitLog {
 public:
  // Joins (or founds) the factlog cluster in etcd with `store`, which must
  // outlive the log, and starts the applier. Waits, with a log line every
  // wait_log_interval, while etcd is unreachable (until stop_requested).
  // Refuses (FAILED_ PRECONDITION, changing nothing): a store of another
  // factlog cluster (naming both ids); a store with events that was never part
  // of a cluster (a single-node store); a store behind a log whose first
  // records were trimmed (saying how to bootstrap it from a peer's backup).
  // Founding: an empty store and no cluster in etcd.
  static absl::StatusOr<std::unique_ptr<ReplicatedLog>> Open(
      storage::EventStore* store, ReplicatedLogOptions options);
  ~ReplicatedLog() override;  // stops the applier

  uint64_t LastPosition() const override { return store_->LastPosition(); }
  absl::Status Commit(const storage::CommitBatch& batch,
                      storage::StoredBytes* stored) override;
  absl::Time LastRecordedAt() const override;

  // Waits until this node has applied `position`, or `deadline`:
  // DEADLINE_EXCEEDED then, UNAVAILABLE when the node stopped.
  absl::Status WaitForPosition(uint64_t position, absl::Time deadline);

  ReplicaStatus status() const;

  // Trimming (docs/ARCHITECTURE.md, "Replicated mode"): deletes the commit
  // records up to min(`applied_by_all`, the head's commit minus
  // `retain_records`) from etcd, once that is at least `batch` records past
  // what was trimmed before, records the new bound under <prefix>trimmed
  // (in the same transaction) and compacts etcd's history up to it so that
  // its database stays bounded. `applied_by_all`: the least commit every
  // live node has applied. Returns how many records it deleted (0: nothing
  // due); etcd's errors. Called by the leader, from one thread.
  absl::StatusOr<uint64_t> Trim(uint64_t applied_by_all, uint64_t head_commit,
                                uint64_t retain_records, uint64_t batch);

 private:
  ReplicatedLog(storage::EventStore* store, ReplicatedLogOptions options);
  absl::Status Join();
  void RunApplier();
  // Catches up with a Range from the next record; the revision read at.
  absl::StatusOr<int64_t> CatchUp();
  absl::Status FollowWatch(int64_t from_revision);
  // Applies `record` (etcd revision `revision`) when it is the next one;
  // skips one already applied.
  absl::Status Apply(const CommitRecord& record, int64_t revision)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  // Stops applying and committing for good, saying why loudly; `forked`:
  // a forked log (else: a node behind the trimmed log).
  void Stop(absl::string_view why, bool forked = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mu_);
  std::string RecordKey(uint64_t commit) const;
  std::string HeadKey() const { return options_.prefix + "head"; }
  std::string TrimmedKey() const { return options_.prefix + "trimmed"; }
  // The commit up to which records were trimmed (0: none), and the key's
  // mod_revision (0: absent).
  absl::StatusOr<std::pair<uint64_t, int64_t>> ReadTrimmed() const;

  storage::EventStore* const store_;
  const ReplicatedLogOptions options_;
  etcd::Client* const etcd_;

  mutable absl::Mutex apply_mu_;
  std::string cluster_id_ ABSL_GUARDED_BY(apply_mu_);
  uint64_t applied_commit_ ABSL_GUARDED_BY(apply_mu_) = 0;
  int64_t applied_revision_ ABSL_GUARDED_BY(apply_mu_) = 0;
  std::string stopped_ ABSL_GUARDED_BY(apply_mu_);
  std::atomic<int64_t> last_recorded_nanos_{0};
  metrics::Histogram* commit_seconds_ = nullptr;     // with options_.metrics
  metrics::Histogram* apply_lag_seconds_ = nullptr;  // with options_.metrics
  metrics::Counter* records_trimmed_ = nullptr;      // with options_.metrics

  absl::Mutex watch_mu_;
  bool stopping_ ABSL_GUARDED_BY(watch_mu_) = false;
  etcd::Client::WatchStream* watch_ ABSL_GUARDED_BY(watch_mu_) = nullptr;
  std::thread applier_;
};

}  // namespace factlog::replication

#endif  // FACTLOG_REPLICATION_REPLICATED_LOG_H_
