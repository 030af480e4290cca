#include "core/commit_log.h"

namespace factlog::core {
namespace {

class LocalCommitLog final : public CommitLog {
 public:
  explicit LocalCommitLog(storage::EventStore* store) : store_(store) {}

  uint64_t LastPosition() const override { return store_->LastPosition(); }

  absl::Status Commit(const storage::CommitBatch& batch,
                      storage::StoredBytes* stored) override {
    return store_->Commit(batch, stored);
  }

 private:
  storage::EventStore* const store_;
};

}  // namespace

std::unique_ptr<CommitLog> NewLocalCommitLog(storage::EventStore* store) {
  return std::make_unique<LocalCommitLog>(store);
}

}  // namespace factlog::core
