#ifndef FACTLOG_CORE_COMMIT_LOG_H_
#define FACTLOG_CORE_COMMIT_LOG_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/event_store.h"

namespace factlog::core {

// Where a decided batch becomes durable: the seam between deciding and
// storing (docs/ARCHITECTURE.md, "Write path"). The Writer decides each
// batch against the current state and orders it; a CommitLog makes it
// durable, whole or not at all, at the positions the Writer gave it. In the
// single-node mode that is the local RocksDB store (LocalCommitLog); the
// replicated mode puts a consensus log here, applied to each node's store.
//
// Only the Writer's thread calls Commit, one batch at a time; LastPosition
// may be read from any thread.
class CommitLog {
 public:
  virtual ~CommitLog() = default;

  // Position of the last durable event; 0 when the log is empty.
  virtual uint64_t LastPosition() const = 0;

  // Makes `batch` durable. Its events' positions are LastPosition()+1, +2,
  // ... in order. OK only once the whole batch is durable and visible to
  // readers of the store; on error nothing of it is, LastPosition() is
  // unchanged, and the status says why (UNAVAILABLE for I/O, as
  // storage::EventStore::Commit). When `stored` is set and the commit
  // succeeds, it receives the events' and claims' bytes as stored.
  //
  // A replicated log may also answer Superseded() (IsSuperseded): another
  // node extended the log first, so the batch, decided against a state
  // that is no longer the last, was not stored; the store has since caught
  // up, and the Writer decides the batch's commands again.
  virtual absl::Status Commit(const storage::CommitBatch& batch,
                              storage::StoredBytes* stored) = 0;

  // A time no event of the log was recorded after (recorded_at), for logs
  // that other writers extend too; the Writer stamps later batches no
  // earlier. InfinitePast when the Writer is the log's only writer.
  virtual absl::Time LastRecordedAt() const { return absl::InfinitePast(); }
};

// The status CommitLog::Commit answers when another writer extended the log
// first (see there), saying `why`; IsSuperseded tells it apart from every
// other status.
absl::Status Superseded(absl::string_view why);
bool IsSuperseded(const absl::Status& status);

// The single-node log: each batch is one WriteBatch and one fsync of
// `store`, which must outlive it.
std::unique_ptr<CommitLog> NewLocalCommitLog(storage::EventStore* store);

}  // namespace factlog::core

#endif  // FACTLOG_CORE_COMMIT_LOG_H_
