// Failed writes under injected I/O errors: the EventStore over real RocksDB
// in a temp dir, through a file system that fails the WAL's writes or
// fsyncs on demand, driven through the Writer as in the server. Covers what
// a full tmpfs (disk_full_test) cannot: an fsync that fails after the data
// was written, and the exact moment a write fails.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "storage/event_store.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::HasSubstr;
using testing::NewClaim;
using testing::TempDir;

enum class Fault {
  kNone,
  kWalAppendNoSpace,     // writes to the WAL fail: ENOSPC
  kWalSyncNoSpace,       // the WAL's data is written, its fsync says ENOSPC
  kWalSyncIoError,       // the WAL's data is written, its fsync says EIO
  kNewWalAppendNoSpace,  // writes fail to WALs created from now on
};

struct Faults {
  std::atomic<Fault> fault{Fault::kNone};
  // What GetFreeSpace reports; negative: the real figure.
  std::atomic<int64_t> free_bytes{-1};
};

bool IsWal(const std::string& name) { return absl::EndsWith(name, ".log"); }

class FaultyFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyFile(std::unique_ptr<rocksdb::FSWritableFile> file, Faults* faults,
             bool wal, bool created_failing)
      : FSWritableFileOwnerWrapper(std::move(file)),
        faults_(faults),
        wal_(wal),
        created_failing_(created_failing) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (AppendFails()) return rocksdb::IOStatus::NoSpace("injected ENOSPC");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (AppendFails()) return rocksdb::IOStatus::NoSpace("injected ENOSPC");
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    if (auto s = SyncFault(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (auto s = SyncFault(); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool AppendFails() const {
    const Fault f = faults_->fault.load();
    return wal_ && (f == Fault::kWalAppendNoSpace ||
                    (f == Fault::kNewWalAppendNoSpace && created_failing_));
  }
  rocksdb::IOStatus SyncFault() const {
    if (!wal_) return rocksdb::IOStatus::OK();
    switch (faults_->fault.load()) {
      case Fault::kWalSyncNoSpace:
        return rocksdb::IOStatus::NoSpace("injected fdatasync ENOSPC");
      case Fault::kWalSyncIoError:
        return rocksdb::IOStatus::IOError("injected fdatasync EIO");
      default:
        return rocksdb::IOStatus::OK();
    }
  }

  Faults* const faults_;
  const bool wal_;
  const bool created_failing_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(Faults* faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(faults) {}
  const char* Name() const override { return "FaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s =
        FileSystemWrapper::NewWritableFile(name, options, result, dbg);
    if (s.ok()) {
      *result = std::make_unique<FaultyFile>(
          std::move(*result), faults_, IsWal(name),
          faults_->fault.load() == Fault::kNewWalAppendNoSpace);
    }
    return s;
  }
  rocksdb::IOStatus GetFreeSpace(const std::string& path,
                                 const rocksdb::IOOptions& options,
                                 uint64_t* free,
                                 rocksdb::IODebugContext* dbg) override {
    const int64_t forced = faults_->free_bytes.load();
    if (forced >= 0) {
      *free = static_cast<uint64_t>(forced);
      return rocksdb::IOStatus::OK();
    }
    return FileSystemWrapper::GetFreeSpace(path, options, free, dbg);
  }

 private:
  Faults* const faults_;
};

constexpr absl::Duration kResumeInterval = absl::Milliseconds(50);

class StoreFaultTest : public ::testing::Test {
 protected:
  StoreFaultTest()
      : env_(rocksdb::NewCompositeEnv(
            std::make_shared<FaultyFileSystem>(&faults_))) {}

  void Open() {
    storage::StoreOptions options;
    options.env = env_.get();
    options.resume_interval = kResumeInterval;
    options.block_cache_bytes = 1 << 20;
    auto store = storage::EventStore::Open(dir_.path() + "/data", options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    writer_ = core::Writer::Start(store_.get(), {});
  }
  void Close() {
    writer_.reset();
    store_.reset();
  }
  // Past the store's wait between attempts to resume.
  void WaitToResume() { absl::SleepFor(kResumeInterval * 2); }

  absl::StatusOr<v1::CommandResponse> Record(const std::string& id,
                                             const std::string& text = "x") {
    return testing::ApplySync(*writer_,
                              testing::RecordCommand(id, "req-" + id, text));
  }

  // Records `ids` in one commit.
  core::SequenceResult RecordAll(const std::vector<std::string>& ids,
                                 const std::string& text) {
    std::vector<v1::Command> commands;
    for (const std::string& id : ids) {
      v1::Command c;
      *c.mutable_record_claim() = NewClaim(id, text);
      c.mutable_record_claim()->set_request_id("req-" + id);
      commands.push_back(std::move(c));
    }
    absl::Notification done;
    core::SequenceResult result;
    writer_->SubmitSequence(std::move(commands), "test",
                            [&](core::SequenceResult r) {
                              result = std::move(r);
                              done.Notify();
                            });
    done.WaitForNotification();
    return result;
  }

  // After a reopen: the log is exactly `ids` at positions 1.., each with its
  // projection and request record, and Verify() is clean.
  void ExpectLogIs(const std::vector<std::string>& ids) {
    EXPECT_EQ(testing::LoggedClaimIds(*store_), ids);
    EXPECT_EQ(store_->LastPosition(), ids.size());
    for (const std::string& id : ids) ExpectStored(id, true);
    EXPECT_TRUE(testing::VerifiesClean(*store_));
  }

  // Neither a projection nor a request record of `id` is stored.
  void ExpectAbsent(const std::string& id) { ExpectStored(id, false); }

  // Whether `id`'s projection and its request record are both stored.
  void ExpectStored(const std::string& id, bool stored) {
    auto view = store_->GetClaim(id);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->has_value(), stored) << id;
    auto request = store_->GetRequest("req-" + id);
    ASSERT_TRUE(request.ok());
    EXPECT_EQ(request->has_value(), stored) << id;
  }

  Faults faults_;
  std::unique_ptr<rocksdb::Env> env_;
  TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<core::Writer> writer_;
};

TEST_F(StoreFaultTest, FailedWalWriteStoresNothingAndWritesResumeWithSpace) {
  Open();
  ASSERT_TRUE(Record("a").ok());

  faults_.fault = Fault::kWalAppendNoSpace;
  faults_.free_bytes = 0;
  auto failed = Record("b");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_THAT(failed.status().message(), HasSubstr("injected ENOSPC"));
  EXPECT_EQ(store_->LastPosition(), 1u);
  ExpectAbsent("b");

  // Stopped: refused at once, and after the wait while no space is free.
  EXPECT_TRUE(absl::IsUnavailable(Record("b").status()));
  faults_.fault = Fault::kNone;
  WaitToResume();
  auto no_room = Record("b");
  EXPECT_TRUE(absl::IsUnavailable(no_room.status()));
  EXPECT_THAT(no_room.status().message(), HasSubstr("bytes are free"));

  // Reads go on throughout.
  auto a = store_->GetClaim("a");
  ASSERT_TRUE(a.ok() && a->has_value());

  // Space returns: the retry applies (it was never stored, so it is not a
  // duplicate) at the next position.
  faults_.free_bytes = -1;
  WaitToResume();
  auto retried = Record("b");
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->deduplicated());
  EXPECT_EQ(retried->first_position(), 2u);
  ASSERT_TRUE(Record("c").ok());

  Close();
  Open();
  ExpectLogIs({"a", "b", "c"});
}

// The WAL holds the whole failed batch (only its fsync failed), yet after
// resuming it is never replayed: RocksDB flushed every column family in one
// atomic step and moved on to a new WAL.
TEST_F(StoreFaultTest, BatchWrittenButNotSyncedIsNeverReplayedAfterResume) {
  Open();
  ASSERT_TRUE(Record("a").ok());
  faults_.fault = Fault::kWalSyncNoSpace;
  auto failed = Record("lost");
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  faults_.fault = Fault::kNone;
  WaitToResume();
  // Another claim takes the failed one's position.
  auto other = Record("b");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->first_position(), 2u);

  Close();
  Open();
  ExpectLogIs({"a", "b"});
  ExpectAbsent("lost");
}

// An fsync that fails with EIO leaves the WAL's state unknown (the kernel
// may have dropped the dirty pages): RocksDB refuses to resume, and so the
// store stays stopped until it is reopened, which replays the WAL.
TEST_F(StoreFaultTest, FailedFsyncStopsWritesUntilReopen) {
  Open();
  ASSERT_TRUE(Record("a").ok());
  faults_.fault = Fault::kWalSyncIoError;
  ASSERT_FALSE(Record("unsure").ok());
  faults_.fault = Fault::kNone;
  WaitToResume();
  auto refused = Record("b");
  EXPECT_TRUE(absl::IsUnavailable(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("until factlogd restarts"));
  WaitToResume();
  EXPECT_THAT(Record("b").status().message(),
              HasSubstr("until factlogd restarts"));
  auto a = store_->GetClaim("a");
  ASSERT_TRUE(a.ok() && a->has_value());

  Close();
  Open();
  // The unacknowledged batch is there whole (its bytes reached the file) or
  // not at all.
  auto unsure = store_->GetClaim("unsure");
  ASSERT_TRUE(unsure.ok());
  if (unsure->has_value()) {
    ExpectLogIs({"a", "unsure"});
  } else {
    ExpectLogIs({"a"});
    ExpectAbsent("unsure");
  }
  ASSERT_TRUE(Record("b").ok());
}

// Right after open, and after a backup, every memtable has just been
// flushed; a write failing then still leaves RocksDB something to flush
// (the WAL guard), so it can move to a new WAL and writes resume.
TEST_F(StoreFaultTest, FirstWriteAfterOpenOrBackupFailsAndResumes) {
  Open();
  faults_.fault = Fault::kWalAppendNoSpace;
  ASSERT_FALSE(Record("a").ok());
  faults_.fault = Fault::kNone;
  WaitToResume();
  ASSERT_TRUE(Record("a").ok());

  auto backup = store_->Backup(dir_.path() + "/backup");
  ASSERT_TRUE(backup.ok()) << backup.status();
  faults_.fault = Fault::kWalAppendNoSpace;
  ASSERT_FALSE(Record("b").ok());
  faults_.fault = Fault::kNone;
  WaitToResume();
  ASSERT_TRUE(Record("b").ok());

  Close();
  Open();
  ExpectLogIs({"a", "b"});
}

// The one case RocksDB 7.8 cannot resume from: the failing write itself
// flushed every memtable (one filled up; with atomic flush all are flushed
// together) and moved to a new WAL, whose first write failed. Resume() would
// find nothing to flush and keep that WAL's failed writer, whose next write
// aborts Debian's build. The store stays stopped instead, never writing
// again, and a reopen recovers everything acknowledged.
TEST_F(StoreFaultTest, WalFailingRightAfterAMemtableSwitchNeedsReopen) {
  Open();
  const std::string text(4000, 't');
  std::vector<std::string> acknowledged;
  faults_.fault = Fault::kNewWalAppendNoSpace;
  bool failed = false;
  // 32 MiB memtables: some 9,000 such claims fill the largest.
  for (int batch = 0; batch < 40 && !failed; ++batch) {
    std::vector<std::string> ids;
    for (int i = 0; i < 500; ++i) ids.push_back(absl::StrCat(batch, "-", i));
    core::SequenceResult result = RecordAll(ids, text);
    if (result.error.ok()) {
      acknowledged.insert(acknowledged.end(), ids.begin(), ids.end());
    } else {
      EXPECT_TRUE(result.responses.empty());
      EXPECT_THAT(result.error.message(), HasSubstr("injected ENOSPC"));
      failed = true;
    }
  }
  ASSERT_TRUE(failed) << "no memtable switch within 20,000 claims";
  faults_.fault = Fault::kNone;
  WaitToResume();
  auto refused = Record("after");
  EXPECT_TRUE(absl::IsUnavailable(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("until factlogd restarts"));

  Close();
  Open();
  ExpectLogIs(acknowledged);
  ASSERT_TRUE(Record("after").ok());
}

}  // namespace
}  // namespace factlog
