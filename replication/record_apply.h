#ifndef FACTLOG_REPLICATION_RECORD_APPLY_H_
#define FACTLOG_REPLICATION_RECORD_APPLY_H_

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "factlog/replication/records.pb.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/views.pb.h"
#include "storage/event_store.h"

namespace factlog::replication {

// The record of a batch the Writer decided (docs/ARCHITECTURE.md,
// "Replicated mode"): its events' canonical bytes, its request records,
// and `root_after`, the log's Merkle root with them appended.
CommitRecord RecordOf(const storage::CommitBatch& batch, uint64_t commit,
                      const merkle::Hash& root_after, const std::string& node);

// A commit record turned into what the store commits: the events parsed,
// each touched claim's view evolved from the store's (domain::Evolve, as a
// rebuild does), the request records, the root to check. The CommitBatch
// points into this object, which must outlive its Commit.
struct AppliedBatch {
  storage::CommitBatch commit;
  std::vector<v1::ClaimStatus> statuses;  // each event's claim, after it
  // Owned storage the commit's ClaimUpdates point to.
  std::map<std::string, std::optional<storage::ClaimIndexInputs>> before;
  std::map<std::string, v1::ClaimView> after;
};

// Builds the batch of `record` over `store`, whose log must end right
// before the record's first position. DATA_LOSS when the record is
// malformed (an event that does not parse, positions out of order, a root
// of the wrong size) or does not follow the store's log; the store's read
// errors as they are.
absl::StatusOr<std::unique_ptr<AppliedBatch>> BatchOf(
    const CommitRecord& record, const storage::EventStore& store);

}  // namespace factlog::replication

#endif  // FACTLOG_REPLICATION_RECORD_APPLY_H_
