// The writer: group commit (batches split at max_batch, one request twice
// in a batch, a failed commit, a full queue, Stop) and the clock discipline
// overdue notices rely on: recorded_at never goes backwards, and SafeTime()
// never lets a later commit be recorded at or before a time it handed out
// (core/writer.h).
#include "core/writer.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "core/hub.h"
#include "core/server_metrics.h"
#include "domain/time_util.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/power_cut_fs.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::ApplySync;
using testing::FakeClock;
using testing::RecordCommand;
using testing::TempDir;
using testing::Utc;

absl::Time RecordedAt(const absl::StatusOr<v1::CommandResponse>& response) {
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? domain::FromProto(response->claim().updated_at())
                       : absl::InfinitePast();
}

class WriterClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::EventStore::Open(dir_.path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  std::unique_ptr<core::Writer> Start(
      std::function<void()> before_commit = nullptr) {
    core::WriterOptions options;
    options.clock = [this] { return clock_.Now(); };
    options.before_commit = std::move(before_commit);
    return core::Writer::Start(store_.get(), options);
  }

  TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
  FakeClock clock_{Utc(2014, 5, 19)};
};

TEST(UuidV4Test, IsTheRandomBitsWithVersionAndVariantInCanonicalForm) {
  absl::BitGen gen;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t hi = absl::Uniform<uint64_t>(gen);
    const uint64_t lo = absl::Uniform<uint64_t>(gen);
    const uint64_t h = (hi & 0xffffffffffff0fffULL) | 0x4000;
    const uint64_t l = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    ASSERT_EQ(core::UuidV4(hi, lo),
              absl::StrFormat("%08x-%04x-%04x-%04x-%012x", h >> 32,
                              (h >> 16) & 0xffff, h & 0xffff, l >> 48,
                              l & 0xffffffffffffULL));
  }
  EXPECT_EQ(core::UuidV4(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(core::UuidV4(~uint64_t{0}, ~uint64_t{0}),
            "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST_F(WriterClockTest, SafeTimeStaysBelowABatchBeingWritten) {
  absl::Notification in_commit, release;
  std::atomic<bool> block{true};
  auto writer = Start([&] {
    if (!block) return;
    in_commit.Notify();
    release.WaitForNotification();
  });
  absl::StatusOr<v1::CommandResponse> result;
  absl::Notification done;
  writer->Submit(RecordCommand("racing"), "test",
                 [&](absl::StatusOr<v1::CommandResponse> r) {
                   result = std::move(r);
                   done.Notify();
                 });
  in_commit.WaitForNotification();
  // Stamped at the clock's start (2014-05-19) and not yet committed: a sweep
  // now must not cover it.
  const absl::Time during = writer->SafeTime();
  EXPECT_EQ(during, Utc(2014, 5, 19) - absl::Nanoseconds(1));
  block = false;
  release.Notify();
  done.WaitForNotification();
  EXPECT_EQ(RecordedAt(result), Utc(2014, 5, 19));
  EXPECT_GT(RecordedAt(result), during);
  // Committed: now it may be covered.
  EXPECT_EQ(writer->SafeTime(), Utc(2014, 5, 19));
}

TEST_F(WriterClockTest, CommitsAfterASafeTimeAreRecordedAfterIt) {
  auto writer = Start();
  const absl::Time safe = writer->SafeTime();
  EXPECT_EQ(safe, Utc(2014, 5, 19));
  // The clock has not moved, yet the next batch lands after `safe`.
  const absl::Time first =
      RecordedAt(ApplySync(*writer, RecordCommand("first")));
  EXPECT_GT(first, safe);
  EXPECT_GE(writer->SafeTime(), first);
}

TEST_F(WriterClockTest, RecordedAtNeverGoesBackwardsAlsoAcrossRestarts) {
  clock_.Advance(absl::Hours(5));
  absl::Time last;
  {
    auto writer = Start();
    last = RecordedAt(ApplySync(*writer, RecordCommand("before")));
    clock_.Advance(-absl::Hours(2));  // NTP step back
    const absl::Time after =
        RecordedAt(ApplySync(*writer, RecordCommand("after")));
    EXPECT_EQ(after, last);
    EXPECT_LE(writer->SafeTime(), last + absl::Nanoseconds(1));
    EXPECT_GE(writer->SafeTime(), last);
  }
  clock_.Advance(-absl::Hours(2));
  auto writer = Start();
  EXPECT_GE(writer->SafeTime(), last);
  EXPECT_GE(RecordedAt(ApplySync(*writer, RecordCommand("restarted"))), last);
}

TEST_F(WriterClockTest, SafeTimeNeverDecreases) {
  auto writer = Start();
  const absl::Time first = writer->SafeTime();
  clock_.Advance(-absl::Minutes(1));
  EXPECT_EQ(writer->SafeTime(), first);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(writer->SafeTime(), first + absl::Minutes(1));
}

// ---- Group commit ---------------------------------------------------------
// Deterministic: a first command holds the writer in before_commit while the
// test queues the commands the next batches are made of.

// What the writer did, as its hooks and callbacks saw it.
class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest()
      : fs_(std::make_shared<testing::PowerCutFileSystem>()),
        env_(testing::NewPowerCutEnv(fs_)) {}

  void SetUp() override {
    storage::StoreOptions options;
    options.env = env_.get();
    options.block_cache_bytes = 1 << 20;
    options.rocksdb_log = [](absl::string_view) {};
    auto store = storage::EventStore::Open(dir_.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Starts the writer; the first batch it writes waits in before_commit
  // until Release().
  void Start(core::WriterOptions options = {}) {
    options.before_commit = [this] {
      if (!held_.HasBeenNotified()) {
        held_.Notify();
        release_.WaitForNotification();
      }
      if (batches_begun_++ == fail_batch_) fs_->PowerOff();
    };
    options.on_commit = [this](core::CommittedEvents events) {
      absl::MutexLock lock(&mu_);
      std::vector<std::string> ids;
      for (const v1::Event& e : events.events) ids.push_back(e.claim_id());
      commits_.push_back(ids);
    };
    writer_ = core::Writer::Start(store_.get(), options);
    Submit(RecordCommand("holder", "req-holder"));
    held_.WaitForNotification();
  }
  void Release() { release_.Notify(); }

  // Submits `command`; the result lands in results_[index returned].
  size_t Submit(v1::Command command) {
    size_t index;
    {
      absl::MutexLock lock(&mu_);
      index = results_.size();
      results_.emplace_back(absl::UnknownError("not answered"));
      answered_.push_back(false);
    }
    writer_->Submit(std::move(command), "test",
                    [this, index](absl::StatusOr<v1::CommandResponse> r) {
                      absl::MutexLock lock(&mu_);
                      results_[index] = std::move(r);
                      answered_[index] = true;
                    });
    return index;
  }
  absl::StatusOr<v1::CommandResponse> Result(size_t index) {
    auto answered = [this, index]() -> bool ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return static_cast<bool>(answered_[index]);
    };
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&answered));
    return results_[index];
  }
  bool Answered(size_t index) {
    absl::MutexLock lock(&mu_);
    return answered_[index];
  }
  std::vector<std::vector<std::string>> Commits() {
    absl::MutexLock lock(&mu_);
    return commits_;
  }

  TempDir dir_;
  std::shared_ptr<testing::PowerCutFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<storage::EventStore> store_;
  absl::Notification held_, release_;
  // The batch (0: the holder's) whose commit fails: the power goes off
  // just before it is written.
  int fail_batch_ = -1;
  std::atomic<int> batches_begun_{0};
  absl::Mutex mu_;
  std::vector<absl::StatusOr<v1::CommandResponse>> results_
      ABSL_GUARDED_BY(mu_);
  std::vector<bool> answered_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> commits_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<core::Writer> writer_;  // last: stopped first
};

TEST_F(GroupCommitTest, SameRequestIdTwiceInOneBatchAppliesOnce) {
  Start();
  const size_t first = Submit(RecordCommand("a", "req-same"));
  const size_t again = Submit(RecordCommand("a", "req-same"));
  const size_t reused =
      Submit(RecordCommand("b", "req-same"));  // another command
  Release();
  auto a = Result(first), b = Result(again), c = Result(reused);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(a->deduplicated());
  EXPECT_TRUE(b->deduplicated());
  EXPECT_EQ(b->first_position(), a->first_position());
  EXPECT_EQ(b->claim_id(), "a");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument)
      << c.status();
  writer_->Stop();
  // One batch after the holder's, with one event for the request.
  EXPECT_EQ(Commits(),
            (std::vector<std::vector<std::string>>{{"holder"}, {"a"}}));
  EXPECT_EQ(testing::LoggedClaimIds(*store_),
            (std::vector<std::string>{"holder", "a"}));
}

TEST_F(GroupCommitTest, FailedCommitAnswersTheWholeBatchAndPublishesNothing) {
  core::Hub hub(0, core::HubOptions{});
  core::ServerMetrics metrics(store_.get(), &hub);
  core::WriterOptions options;
  options.metrics = &metrics;
  Start(options);
  auto failures = [&] {
    return testing::ParseExposition(
        metrics.Render())["factlog_commit_failures_total"];
  };
  EXPECT_EQ(failures(), 0);
  // The holder commits; the batch of the three behind it fails.
  fail_batch_ = 1;
  std::vector<size_t> batch;
  for (const char* id : {"x", "y", "z"})
    batch.push_back(Submit(RecordCommand(id, std::string("req-") + id)));
  Release();
  for (size_t index : batch) {
    auto r = Result(index);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable)
        << index << ": " << r.status();
  }
  writer_->Stop();
  EXPECT_EQ(Commits(), (std::vector<std::vector<std::string>>{{"holder"}}));
  EXPECT_GE(failures(), 1);
  EXPECT_EQ(store_->LastPosition(), 1u);
}

TEST_F(GroupCommitTest, FullQueueAnswersResourceExhausted) {
  core::WriterOptions options;
  options.max_queued = 2;
  Start(options);  // the holder left the queue when its batch began
  const size_t a = Submit(RecordCommand("a", "req-a"));
  const size_t b = Submit(RecordCommand("b", "req-b"));
  const size_t refused = Submit(RecordCommand("c", "req-c"));
  // Refused at once, on the caller's thread.
  ASSERT_TRUE(Answered(refused));
  EXPECT_EQ(Result(refused).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(Answered(a));
  Release();
  EXPECT_TRUE(Result(a).ok());
  EXPECT_TRUE(Result(b).ok());
  // Room again once the queue drained.
  EXPECT_TRUE(Result(Submit(RecordCommand("c", "req-c"))).ok());
}

TEST_F(GroupCommitTest, BatchesAreSplitAtMaxBatch) {
  core::WriterOptions options;
  options.max_batch = 2;
  Start(options);
  std::vector<size_t> queued;
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    queued.push_back(Submit(RecordCommand(id, std::string("req-") + id)));
  }
  Release();
  for (size_t index : queued) EXPECT_TRUE(Result(index).ok());
  writer_->Stop();
  EXPECT_EQ(Commits(), (std::vector<std::vector<std::string>>{
                           {"holder"}, {"a", "b"}, {"c", "d"}, {"e"}}));
}

TEST_F(GroupCommitTest, StopDrainsTheQueueThenRefusesWithUnavailable) {
  Start();
  std::vector<size_t> queued;
  for (const char* id : {"a", "b", "c"})
    queued.push_back(Submit(RecordCommand(id, std::string("req-") + id)));
  std::thread stopper([&] { writer_->Stop(); });
  // Stop has begun once a new command is refused (at once, on this
  // thread); probes sent before that are queued like the others.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<std::string> expected = {"holder", "a", "b", "c"};
  for (int n = 0;; ++n) {
    const std::string id = absl::StrCat("probe-", n);
    const size_t probe = Submit(RecordCommand(id, std::string("req-") + id));
    if (Answered(probe)) {
      EXPECT_EQ(Result(probe).status().code(), absl::StatusCode::kUnavailable);
      break;
    }
    queued.push_back(probe);
    expected.push_back(id);
    ASSERT_LT(absl::Now(), deadline) << "Stop never refused a command";
    absl::SleepFor(absl::Milliseconds(1));
  }
  // Everything queued before Stop is still completed, and stored.
  Release();
  stopper.join();
  for (size_t index : queued) {
    ASSERT_TRUE(Answered(index));
    EXPECT_TRUE(Result(index).ok()) << Result(index).status();
  }
  EXPECT_EQ(testing::LoggedClaimIds(*store_), expected);
  const size_t after = Submit(RecordCommand("late", "req-late"));
  ASSERT_TRUE(Answered(after));
  EXPECT_EQ(Result(after).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace factlog
