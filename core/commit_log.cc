#include "core/commit_log.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

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

constexpr char kSupersededPayload[] = "factlog.core/commit-superseded";

}  // namespace

absl::Status Superseded(absl::string_view why) {
  absl::Status status = absl::AbortedError(
      absl::StrCat("another node extended the log first: ", why));
  status.SetPayload(kSupersededPayload, absl::Cord("1"));
  return status;
}

bool IsSuperseded(const absl::Status& status) {
  return status.GetPayload(kSupersededPayload).has_value();
}

std::unique_ptr<CommitLog> NewLocalCommitLog(storage::EventStore* store) {
  return std::make_unique<LocalCommitLog>(store);
}

}  // namespace factlog::core
