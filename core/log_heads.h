#ifndef FACTLOG_CORE_LOG_HEADS_H_
#define FACTLOG_CORE_LOG_HEADS_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/signed_head.h"
#include "factlog/v1/service.pb.h"
#include "storage/event_store.h"

namespace factlog::core {

// Makes LogHeads (root, time, signature when a key is configured) and the
// proofs of EventService's tamper-evident log RPCs from the store's tree.
// Thread-safe; `store` must outlive it.
class LogHeads {
 public:
  // `signer` may be null: heads are then unsigned.
  LogHeads(const storage::EventStore* store,
           std::unique_ptr<merkle::HeadSigner> signer,
           std::function<absl::Time()> clock);

  // The head over events 1..size; 0 = the current end of the log.
  // OUT_OF_RANGE beyond the log.
  absl::StatusOr<v1::LogHead> Head(uint64_t size) const;

  // OUT_OF_RANGE unless 1 <= position <= head_position <= last position
  // (head_position 0 = the current end).
  absl::StatusOr<v1::InclusionProof> Inclusion(
      const v1::GetInclusionProofRequest& request) const;

  // OUT_OF_RANGE unless old_position <= new_position <= last position
  // (new_position 0 = the current end).
  absl::StatusOr<v1::ConsistencyProof> Consistency(
      const v1::GetConsistencyProofRequest& request) const;

 private:
  const storage::EventStore* const store_;
  const std::unique_ptr<merkle::HeadSigner> signer_;
  const std::function<absl::Time()> clock_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_LOG_HEADS_H_
