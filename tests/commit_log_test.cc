// The seam's contract for logs other writers extend too (core/commit_log.h):
// a superseded commit is decided again over the caught-up state, and the
// stamp is never below the log's LastRecordedAt.

#include "core/commit_log.h"

#include <memory>

#include "core/writer.h"
#include "domain/evolve.h"
#include "domain/merkle.h"
#include "domain/time_util.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

// A log that another writer beats to the first commit: before answering
// Superseded it stores that batch itself, as if another node had
// committed the very same commands and this node had applied them.
class RacedLog : public core::CommitLog {
 public:
  explicit RacedLog(storage::EventStore* store) : store_(store) {}
  uint64_t LastPosition() const override { return store_->LastPosition(); }
  absl::Status Commit(const storage::CommitBatch& batch,
                      storage::StoredBytes* stored) override {
    ++calls;
    absl::Status status = store_->Commit(batch, stored);
    if (!status.ok() || calls > 1) return status;
    return core::Superseded("a test's other writer");
  }
  absl::Time LastRecordedAt() const override { return floor; }

  int calls = 0;
  absl::Time floor = absl::InfinitePast();

 private:
  storage::EventStore* const store_;
};

class CommitLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::EventStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    log_ = std::make_unique<RacedLog>(store_.get());
    core::WriterOptions options;
    options.commit_log = log_.get();
    writer_ = core::Writer::Start(store_.get(), options);
  }
  static v1::Command Record(const std::string& id, const std::string& rid) {
    v1::Command command;
    *command.mutable_record_claim() = testing::NewClaim(id);
    command.mutable_record_claim()->set_request_id(rid);
    return command;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<RacedLog> log_;
  std::unique_ptr<core::Writer> writer_;
};

TEST(SupersededTest, IsToldApartFromOtherStatuses) {
  EXPECT_TRUE(core::IsSuperseded(core::Superseded("x")));
  EXPECT_FALSE(core::IsSuperseded(absl::AbortedError("x")));
  EXPECT_FALSE(core::IsSuperseded(absl::OkStatus()));
}

TEST_F(CommitLogTest, ASupersededBatchIsDecidedAgainOverTheCaughtUpState) {
  // The other writer committed the same request first: decided again, the
  // command is a repeat, answered with the original and appended once.
  auto response = testing::ApplySync(*writer_, Record("a", "r1"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(response->deduplicated());
  EXPECT_EQ(response->first_position(), 1u);
  EXPECT_EQ(log_->calls, 1);
  EXPECT_EQ(store_->LastPosition(), 1u);
}

TEST_F(CommitLogTest, ADecisionAgainCanRefuseWhatTheFirstAccepted) {
  // No request id: decided again, the claim now exists.
  auto response = testing::ApplySync(*writer_, Record("a", ""));
  EXPECT_FALSE(response.ok());
  EXPECT_FALSE(core::IsSuperseded(response.status())) << response.status();
  EXPECT_EQ(store_->LastPosition(), 1u);
}

TEST_F(CommitLogTest, StampsAreNeverBelowTheLogsLastRecordedAt) {
  log_->calls = 1;                             // no race
  log_->floor = absl::Now() + absl::Hours(1);  // another node's clock
  auto response = testing::ApplySync(*writer_, Record("b", "r2"));
  ASSERT_TRUE(response.ok()) << response.status();
  std::vector<v1::Event> events = testing::StoredEvents(*store_);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_GE(domain::FromProto(events[0].recorded_at()), log_->floor);
}

// The store's side of a replica's apply (storage/event_store.h): the root
// a record was stamped with is checked before anything is written, and the
// replica state lands with the events.
TEST(ReplicaCommitTest, AWrongRootStoresNothingAndTheRightOneStoresTheState) {
  testing::TempDir dir;
  auto store = storage::EventStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  {
    auto writer = core::Writer::Start(store->get(), {});
    v1::Command command;
    *command.mutable_record_claim() = testing::NewClaim("a");
    ASSERT_TRUE(testing::ApplySync(*writer, command).ok());
  }
  // A second event for the same claim, as another node would send it.
  std::vector<v1::Event> events = testing::StoredEvents(**store);
  ASSERT_EQ(events.size(), 1u);
  v1::Event next = events[0];
  next.set_position(2);
  next.set_version(2);
  next.set_event_id("00000000-0000-4000-8000-000000000002");
  *next.mutable_claim_retracted()->mutable_reason() = "a test";
  v1::ClaimView after = *(*store)->GetClaim("a").value();
  storage::ClaimIndexInputs before(after);
  domain::Evolve(next, &after);

  storage::CommitBatch batch;
  batch.events = {next};
  batch.claims = {{&before, &after}};
  batch.replica_state = "state after record 2";
  merkle::Hash wrong{};
  batch.expected_root = wrong;
  absl::Status refused = (*store)->Commit(batch);
  EXPECT_TRUE(absl::IsDataLoss(refused)) << refused;
  EXPECT_NE(refused.message().find("forked"), std::string::npos) << refused;
  EXPECT_EQ((*store)->LastPosition(), 1u);
  EXPECT_FALSE((*store)->ReplicaState().value().has_value());

  batch.expected_root = (*store)->RootWith({merkle::CanonicalEventBytes(next)});
  ASSERT_TRUE((*store)->Commit(batch).ok());
  EXPECT_EQ((*store)->LastPosition(), 2u);
  EXPECT_EQ((*store)->RootAt(2).value(), *batch.expected_root);
  EXPECT_EQ((*store)->ReplicaState().value(),
            std::optional<std::string>("state after record 2"));
}

}  // namespace
}  // namespace factlog
