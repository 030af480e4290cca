// Power cuts: what crash_test's SIGKILL cannot show. A killed process
// leaves its writes in the page cache, so data never synced still looks
// durable after a restart; here the store runs over PowerCutFileSystem
// (tests/support/power_cut_fs.h), which on a cut keeps only what was fsynced
// (file bytes by Sync/Fsync, new directory entries by a directory fsync).
//
// Each test commits at random and cuts the power at a random mutating file
// call (a WAL append, an fsync, a flush's SST, a MANIFEST write...), then
// reopens and checks that every commit acknowledged OK (StoreOptions::sync)
// is there, whole, at its position; that commits are all-or-nothing; and
// that the projections verify against the log. Reopening is itself cut at
// random (a cut during recovery), and so are RebuildProjections and Backup.
//
// The cut points come from a fixed seed, so CI runs the same schedule each
// time; FACTLOG_CRASH_SEED overrides it, and a failure prints the seed.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "core/writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/power_cut_fs.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::NewClaim;
using testing::PowerCutFileSystem;
using testing::TempDir;

constexpr uint64_t kDefaultSeed = 20261207;
constexpr int kRounds = 6;

uint64_t Seed() {
  const char* value = std::getenv("FACTLOG_CRASH_SEED");
  uint64_t seed = 0;
  if (value != nullptr && absl::SimpleAtoi(value, &seed)) return seed;
  return kDefaultSeed;
}

class PowerCutTest : public ::testing::Test {
 protected:
  PowerCutTest()
      : fs_(std::make_shared<PowerCutFileSystem>()),
        env_(testing::NewPowerCutEnv(fs_)),
        seed_(Seed()),
        rng_(seed_),
        trace_(__FILE__, __LINE__, absl::StrCat("FACTLOG_CRASH_SEED=", seed_)) {
    // The data dir exists before factlogd starts (as deployed): its own
    // entry is not the store's to make durable.
    std::filesystem::create_directories(data_dir_);
    RecordProperty("seed", std::to_string(seed_));
  }

  storage::StoreOptions Options() const {
    storage::StoreOptions options;
    options.env = env_.get();
    options.block_cache_bytes = 1 << 20;
    options.claim_cache_bytes = 1 << 20;
    options.resume_interval = absl::Milliseconds(10);
    options.rocksdb_log = [](absl::string_view) {};  // cuts are noisy
    return options;
  }

  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  // Cuts the power now (if a scheduled cut has not yet) and reboots: the
  // store must be closed.
  void CutAndReboot() {
    fs_->PowerOff();
    log_.push_back(fs_->PowerCut());
  }

  // Opens the store after a cut. Half the time the open itself is cut at a
  // random mutating call, up to three times in a row, before an open runs
  // to the end.
  // `cut_during_open` false: opens without a cut.
  std::unique_ptr<storage::EventStore> Recover(bool cut_during_open = true) {
    for (int attempt = 0;
         cut_during_open && created_ && attempt < 3 && Uniform(0, 1) == 1;
         ++attempt) {
      fs_->CutAfter(Uniform(1, 60));
      auto store = storage::EventStore::Open(data_dir_, Options());
      const bool cut = fs_->powered_off();
      fs_->CutAfter(0);
      if (store.ok()) store->reset();
      if (!cut) {
        EXPECT_TRUE(store.ok())
            << "open failed without a cut: " << store.status();
        if (store.ok()) continue;
      }
      log_.push_back("cut during recovery");
      CutAndReboot();
    }
    auto store = storage::EventStore::Open(data_dir_, Options());
    EXPECT_TRUE(store.ok())
        << "recovery after a power cut: " << store.status() << "\n"
        << Log();
    created_ = created_ || store.ok();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string Log() const {
    std::string out;
    for (const std::string& line : log_) absl::StrAppend(&out, line, "\n");
    return out;
  }

  TempDir dir_;
  const std::string data_dir_ = dir_.path() + "/data";
  std::shared_ptr<PowerCutFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  ::testing::ScopedTrace trace_;
  std::vector<std::string> log_;  // what each cut lost, for failures
  // Whether a store was opened in data_dir_ yet. The first open, which
  // creates it, is never cut: a cut there leaves a directory without
  // CURRENT, which Open refuses to write into (an operator's call).
  bool created_ = false;
};

// Commits straight to the EventStore, one batch of 1..8 events at a time;
// after each cut the log must begin with every acknowledged event, byte for
// byte, and hold at most the one batch in flight after them.
TEST_F(PowerCutTest, AcknowledgedCommitsSurviveThroughTheEventStore) {
  std::vector<v1::Event> acknowledged;  // the log as promised, by position
  uint64_t next_claim = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::unique_ptr<storage::EventStore> store = Recover();
    ASSERT_NE(store, nullptr);
    const std::vector<v1::Event> log = testing::StoredEvents(*store);
    ASSERT_GE(log.size(), acknowledged.size()) << Log();
    for (size_t i = 0; i < acknowledged.size(); ++i) {
      ASSERT_EQ(log[i].SerializeAsString(), acknowledged[i].SerializeAsString())
          << "acknowledged event at position " << i + 1 << " lost or changed\n"
          << Log();
    }
    ASSERT_LE(log.size() - acknowledged.size(), 8u)
        << "more than one unacknowledged batch came back";
    ASSERT_EQ(store->LastPosition(), log.size());
    // What came back is on disk whole: it is the log from now on.
    acknowledged = log;

    fs_->CutAfter(Uniform(1, 400));
    for (;;) {
      storage::CommitBatch batch;
      const uint64_t n = Uniform(1, 8);
      for (uint64_t i = 0; i < n; ++i) {
        v1::Event& e = batch.events.emplace_back();
        e.set_position(store->LastPosition() + 1 + i);
        e.set_claim_id(absl::StrCat("claim-", next_claim++));
        e.set_version(1);
        e.set_request_id(absl::StrCat("req-", e.claim_id()));
        e.set_event_id(core::UuidV4(rng_(), rng_()));
      }
      if (!store->Commit(batch).ok()) break;
      acknowledged.insert(acknowledged.end(), batch.events.begin(),
                          batch.events.end());
    }
    ASSERT_TRUE(fs_->powered_off()) << "a commit failed with the power on";
    store.reset();
    CutAndReboot();
  }
}

// A store written without fsync (the replicated mode) is durable as far as
// its last SyncWal: a cut keeps every commit made before it and loses
// those after it (which the replicated mode re-applies from etcd, because
// a node reports as applied only what it synced; docs/ARCHITECTURE.md).
TEST_F(PowerCutTest, SyncWalMakesTheCommitsBeforeItDurable) {
  storage::StoreOptions options = Options();
  options.sync = false;
  auto commit = [&](storage::EventStore& store, int n) {
    storage::CommitBatch batch;
    for (int i = 0; i < n; ++i) {
      v1::Event& e = batch.events.emplace_back();
      e.set_position(store.LastPosition() + 1 + i);
      e.set_claim_id(absl::StrCat("claim-", e.position()));
      e.set_version(1);
      e.set_request_id(absl::StrCat("req-", e.position()));
      e.set_event_id(core::UuidV4(rng_(), rng_()));
    }
    return store.Commit(batch);
  };
  {
    // Created and closed first, as a first start does: the store's files
    // and directory are durable before the commits below.
    auto created = storage::EventStore::Open(data_dir_, options);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  auto store = storage::EventStore::Open(data_dir_, options);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE(commit(**store, 3).ok());
  ASSERT_TRUE((*store)->SyncWal().ok());
  ASSERT_TRUE(commit(**store, 2).ok());
  ASSERT_EQ((*store)->LastPosition(), 5u);
  fs_->PowerOff();
  store->reset();
  log_.push_back(fs_->PowerCut());
  created_ = true;

  std::unique_ptr<storage::EventStore> recovered = Recover(false);
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ(recovered->LastPosition(), 3u)
      << "synced: 3 events, then 2 unsynced\n"
      << Log();
}

// Through the Writer as the server and Import use it: sequences of 1..8
// commands, many queued at once so that batches hold several; after each
// cut every acknowledged sequence is in the log, every sequence is whole or
// absent, and the projections verify.
class WriterPowerCutTest : public PowerCutTest {
 protected:
  struct Sequence {
    std::vector<std::string> claim_ids;
    bool acknowledged = false;
  };

  // Submits sequences until one fails (the power went off).
  void WriteUntilCut(core::Writer& writer) {
    absl::Mutex mu;
    bool failed = false;
    int outstanding = 0;
    while (true) {
      {
        absl::MutexLock lock(&mu);
        if (failed) break;
        // Up to 16 sequences queued at once: group commit.
        mu.Await(absl::Condition(
            +[](int* n) { return *n < 16; }, &outstanding));
        ++outstanding;
      }
      const size_t index = sequences_.size();
      Sequence& sequence = sequences_.emplace_back();
      std::vector<v1::Command> commands;
      const uint64_t n = Uniform(1, 8);
      for (uint64_t i = 0; i < n; ++i) {
        const std::string id = absl::StrCat("claim-", next_claim_++);
        v1::Command c;
        *c.mutable_record_claim() = NewClaim(id);
        c.mutable_record_claim()->set_request_id("req-" + id);
        commands.push_back(std::move(c));
        sequence.claim_ids.push_back(id);
      }
      writer.SubmitSequence(std::move(commands), "test",
                            [&, index](core::SequenceResult r) {
                              absl::MutexLock lock(&mu);
                              --outstanding;
                              if (r.error.ok()) {
                                acknowledged_.insert(index);
                              } else {
                                failed = true;
                              }
                            });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &outstanding));
  }

  // The log after a cut: every acknowledged sequence in it, each sequence
  // whole or absent, positions without gaps, projections as the log says.
  void CheckRecovered(storage::EventStore& store) {
    const std::vector<std::string> ids = testing::LoggedClaimIds(store);
    const std::set<std::string> logged(ids.begin(), ids.end());
    for (size_t i = 0; i < sequences_.size(); ++i) {
      size_t present = 0;
      for (const std::string& id : sequences_[i].claim_ids) {
        present += logged.count(id);
      }
      if (acknowledged_.count(i) != 0) {
        ASSERT_EQ(present, sequences_[i].claim_ids.size())
            << "acknowledged sequence " << i << " ("
            << sequences_[i].claim_ids.front() << "..) lost\n"
            << Log();
      } else {
        ASSERT_TRUE(present == 0 || present == sequences_[i].claim_ids.size())
            << "sequence " << i << " is partly in the log";
      }
    }
    EXPECT_TRUE(testing::VerifiesClean(store)) << Log();
    // What came back is durable now, acknowledged or not.
    for (size_t i = 0; i < sequences_.size(); ++i) {
      if (logged.count(sequences_[i].claim_ids.front()) != 0) {
        acknowledged_.insert(i);
      }
    }
  }

  std::vector<Sequence> sequences_;
  std::set<size_t> acknowledged_;
  uint64_t next_claim_ = 0;
};

TEST_F(WriterPowerCutTest, AcknowledgedSequencesSurviveAndAreWhole) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::unique_ptr<storage::EventStore> store = Recover();
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
    fs_->CutAfter(Uniform(1, 150));
    {
      auto writer = core::Writer::Start(store.get(), {});
      WriteUntilCut(*writer);
    }
    store.reset();
    CutAndReboot();
  }
  std::unique_ptr<storage::EventStore> store = Recover();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
  EXPECT_GT(acknowledged_.size(), 0u);
}

// A cut while RebuildProjections drops and re-ingests every projection:
// the log is untouched, and the next open repairs the projections.
TEST_F(WriterPowerCutTest, CutDuringRebuildLosesNothing) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::unique_ptr<storage::EventStore> store = Recover();
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
    fs_->CutAfter(Uniform(20, 80));
    {
      auto writer = core::Writer::Start(store.get(), {});
      WriteUntilCut(*writer);
    }
    store.reset();
    CutAndReboot();
    store = Recover();
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
    fs_->CutAfter(Uniform(1, 120));
    auto rebuilt = store->RebuildProjections();
    log_.push_back(
        absl::StrCat("rebuild: ", rebuilt.ok() ? std::string("done")
                                               : rebuilt.status().ToString()));
    // Closing a store whose rebuild failed on I/O, then an open that
    // repairs the projections and may itself be cut (it once aborted in
    // ~EventStore: OpenFailingDuringItsRepairReturnsAnError).
    store.reset();
    CutAndReboot();
    store = Recover();
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
  }
  std::unique_ptr<storage::EventStore> store = Recover();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
}

// A cut while Backup checkpoints the store, commits going on meanwhile:
// the store loses nothing acknowledged.
TEST_F(WriterPowerCutTest, CutDuringBackupLosesNothing) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::unique_ptr<storage::EventStore> store = Recover();
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
    fs_->CutAfter(Uniform(1, 120));
    {
      auto writer = core::Writer::Start(store.get(), {});
      std::thread backup([&] {
        auto position =
            store->Backup(absl::StrCat(dir_.path(), "/backup-", round));
        log_.push_back(absl::StrCat(
            "backup: ", position.ok() ? absl::StrCat("at ", *position)
                                      : position.status().ToString()));
      });
      WriteUntilCut(*writer);
      backup.join();
    }
    store.reset();
    CutAndReboot();
  }
  std::unique_ptr<storage::EventStore> store = Recover();
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
}

// The model itself: what a cut keeps.
TEST(PowerCutFileSystemTest, KeepsSyncedBytesAndEntriesOfSyncedDirectories) {
  TempDir dir;
  auto fs = std::make_shared<PowerCutFileSystem>();
  const rocksdb::IOOptions io;
  const rocksdb::FileOptions options;
  auto write = [&](const std::string& name, const std::string& synced,
                   const std::string& unsynced) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    ASSERT_TRUE(
        fs->NewWritableFile(dir.path() + "/" + name, options, &file, nullptr)
            .ok());
    ASSERT_TRUE(file->Append(synced, io, nullptr).ok());
    ASSERT_TRUE(file->Sync(io, nullptr).ok());
    ASSERT_TRUE(file->Append(unsynced, io, nullptr).ok());
    ASSERT_TRUE(file->RangeSync(0, 100, io, nullptr).ok());
    ASSERT_TRUE(file->Close(io, nullptr).ok());
  };
  auto contents = [&](const std::string& name) -> std::string {
    std::ifstream in(dir.path() + "/" + name, std::ios::binary);
    if (!in) return "<absent>";
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::unique_ptr<rocksdb::FSDirectory> d;
  ASSERT_TRUE(fs->NewDirectory(dir.path(), io, &d, nullptr).ok());
  write("CURRENT", "old", "");
  ASSERT_TRUE(d->Fsync(io, nullptr).ok());
  write("kept", "synced", "-lost");
  ASSERT_TRUE(d->Fsync(io, nullptr).ok());
  write("tmp", "new", "");
  ASSERT_TRUE(
      fs->RenameFile(dir.path() + "/tmp", dir.path() + "/CURRENT", io, nullptr)
          .ok());
  write("unlisted", "synced", "");  // its directory is not fsynced after
  fs->PowerOff();
  std::unique_ptr<rocksdb::FSWritableFile> refused;
  EXPECT_FALSE(
      fs->NewWritableFile(dir.path() + "/x", options, &refused, nullptr).ok());
  EXPECT_FALSE(d->Fsync(io, nullptr).ok());
  fs->PowerCut();
  EXPECT_EQ(contents("kept"), "synced");
  EXPECT_EQ(contents("unlisted"), "<absent>");
  EXPECT_EQ(contents("CURRENT"), "old");  // the rename was never durable
  EXPECT_EQ(contents("tmp"), "<absent>");
  EXPECT_FALSE(fs->powered_off());
}

// A bug this test found: a backup Backup() reported done was lost by a
// power cut right after. RocksDB's checkpoint creates `<dir>.tmp`, fsyncs
// it, renames it to `<dir>` and fsyncs `<dir>` itself, but never the parent
// directory that holds the new entry. EventStore::Backup now fsyncs it.
TEST_F(WriterPowerCutTest, BackupReportedDoneSurvivesAPowerCut) {
  std::unique_ptr<storage::EventStore> store = Recover();
  ASSERT_NE(store, nullptr);
  {
    auto writer = core::Writer::Start(store.get(), {});
    for (int i = 0; i < 5; ++i) {
      v1::Command c;
      *c.mutable_record_claim() = NewClaim(absl::StrCat("claim-", i));
      ASSERT_TRUE(testing::ApplySync(*writer, c).ok());
    }
  }
  const std::string backup = dir_.path() + "/backup";
  auto position = store->Backup(backup);
  ASSERT_TRUE(position.ok()) << position.status();
  store.reset();
  CutAndReboot();
  auto restored =
      storage::EventStore::Restore(backup, dir_.path() + "/restored");
  ASSERT_TRUE(restored.ok()) << restored.status() << "\n" << Log();
  EXPECT_EQ(restored->events_replayed, *position);
}

// A bug this test found: an EventStore::Open that
// fails after RocksDB opened, here an I/O error while it repairs projections
// an interrupted rebuild left behind, aborts the process instead of
// returning the error; so does closing a store whose RebuildProjections
// failed on an I/O error (CutDuringRebuildLosesNothing works around it). The
// half-built EventStore's destructor runs with write_failed_ unset, so after
// its Flush fails it calls FlushWAL(sync) on a WAL writer whose last write
// failed, and RocksDB 7.8 (Debian, asserts on) dies in
// WritableFileWriter::AssertFalseAndGetStatusForPrevError
// (`sync_without_flush_called_`). ~EventStore now syncs the WAL only after
// a flush that succeeded.
TEST_F(WriterPowerCutTest, OpenFailingDuringItsRepairReturnsAnError) {
  std::unique_ptr<storage::EventStore> store = Recover(false);
  ASSERT_NE(store, nullptr);
  fs_->CutAfter(100);
  {
    auto writer = core::Writer::Start(store.get(), {});
    WriteUntilCut(*writer);
  }
  store.reset();
  CutAndReboot();
  store = Recover(false);
  ASSERT_NE(store, nullptr);
  fs_->CutAfter(30);  // within the rebuild, after the projections went
  ASSERT_FALSE(store->RebuildProjections().ok());
  store.reset();
  CutAndReboot();
  for (uint64_t n = 1; n < 400; ++n) {
    fs_->CutAfter(n);
    auto opened = storage::EventStore::Open(data_dir_, Options());
    const bool cut = fs_->powered_off();
    opened = absl::UnknownError("closed");  // closes the store, if any
    fs_->CutAfter(0);
    CutAndReboot();
    if (!cut) break;
  }
  store = Recover(false);
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(CheckRecovered(*store));
}

}  // namespace
}  // namespace factlog
