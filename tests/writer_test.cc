// The writer's clock discipline, which overdue notices rely on: recorded_at
// never goes backwards, and SafeTime() never lets a later commit be recorded
// at or before a time it handed out (core/writer.h).
#include "core/writer.h"

#include <thread>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "domain/time_util.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/test_support.h"

namespace factlog {
namespace {

using testing::ApplySync;
using testing::FakeClock;
using testing::TempDir;

absl::Time May19() {
  return absl::FromCivil(absl::CivilDay(2014, 5, 19), absl::UTCTimeZone());
}

v1::Command Record(const std::string& id) {
  v1::Command c;
  *c.mutable_record_claim() = testing::NewClaim(id);
  return c;
}

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
  FakeClock clock_{May19()};
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
  writer->Submit(Record("racing"), "test",
                 [&](absl::StatusOr<v1::CommandResponse> r) {
                   result = std::move(r);
                   done.Notify();
                 });
  in_commit.WaitForNotification();
  // Stamped at the clock's May19() and not yet committed: a sweep now must
  // not cover it.
  const absl::Time during = writer->SafeTime();
  EXPECT_EQ(during, May19() - absl::Nanoseconds(1));
  block = false;
  release.Notify();
  done.WaitForNotification();
  EXPECT_EQ(RecordedAt(result), May19());
  EXPECT_GT(RecordedAt(result), during);
  // Committed: now it may be covered.
  EXPECT_EQ(writer->SafeTime(), May19());
}

TEST_F(WriterClockTest, CommitsAfterASafeTimeAreRecordedAfterIt) {
  auto writer = Start();
  const absl::Time safe = writer->SafeTime();
  EXPECT_EQ(safe, May19());
  // The clock has not moved, yet the next batch lands after `safe`.
  const absl::Time first = RecordedAt(ApplySync(*writer, Record("first")));
  EXPECT_GT(first, safe);
  EXPECT_GE(writer->SafeTime(), first);
}

TEST_F(WriterClockTest, RecordedAtNeverGoesBackwardsAlsoAcrossRestarts) {
  clock_.Advance(absl::Hours(5));
  absl::Time last;
  {
    auto writer = Start();
    last = RecordedAt(ApplySync(*writer, Record("before")));
    clock_.Advance(-absl::Hours(2));  // NTP step back
    const absl::Time after = RecordedAt(ApplySync(*writer, Record("after")));
    EXPECT_EQ(after, last);
    EXPECT_LE(writer->SafeTime(), last + absl::Nanoseconds(1));
    EXPECT_GE(writer->SafeTime(), last);
  }
  clock_.Advance(-absl::Hours(2));
  auto writer = Start();
  EXPECT_GE(writer->SafeTime(), last);
  EXPECT_GE(RecordedAt(ApplySync(*writer, Record("restarted"))), last);
}

TEST_F(WriterClockTest, SafeTimeNeverDecreases) {
  auto writer = Start();
  const absl::Time first = writer->SafeTime();
  clock_.Advance(-absl::Minutes(1));
  EXPECT_EQ(writer->SafeTime(), first);
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(writer->SafeTime(), first + absl::Minutes(1));
}

}  // namespace
}  // namespace factlog
