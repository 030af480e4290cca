// EventStore behaviour over real RocksDB in temp dirs, driven through the
// Writer so that projections are produced exactly as in the server.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "core/writer.h"
#include "domain/overdue.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "tests/support/command_generator.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using testing::ApplySync;
using testing::EvidenceCommand;
using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using testing::OpenStoreOrDie;
using testing::RecordCommand;
using testing::StoredEvents;
using testing::TempDir;
using testing::Utc;

std::map<std::string, v1::ClaimView> AllClaims(
    const storage::EventStore& store) {
  std::map<std::string, v1::ClaimView> claims;
  EXPECT_TRUE(store
                  .ScanClaims("",
                              [&](const v1::ClaimView& v) {
                                claims[v.claim_id()] = v;
                                return true;
                              })
                  .ok());
  return claims;
}

TEST(KeysTest, BigEndianPositionsSortNumerically) {
  EXPECT_LT(storage::keys::EventKey(255), storage::keys::EventKey(256));
  EXPECT_LT(storage::keys::EventKey(1), storage::keys::EventKey(1ULL << 40));
  EXPECT_EQ(
      storage::keys::DecodeU64(storage::keys::EncodeU64(0x0102030405060708ULL)),
      0x0102030405060708ULL);
  EXPECT_EQ(storage::keys::DecodeU64("short"), std::nullopt);
  // A claim's version keys sort below those of a longer id sharing its prefix.
  EXPECT_LT(storage::keys::ClaimEventKey("a", 999),
            storage::keys::ClaimEventKey("a-b", 1));
  EXPECT_EQ(storage::keys::IndexClaimId(storage::keys::IndexKey("NATO", "c1")),
            "c1");
  EXPECT_EQ(storage::keys::IndexValue(storage::keys::IndexKey("NATO", "c1")),
            "NATO");
}

TEST(EventStoreTest, ReopenKeepsEventsClaimsAndRequests) {
  TempDir dir;
  std::map<std::string, v1::ClaimView> before;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    v1::Command record = RecordCommand("troops-return");
    record.mutable_record_claim()->set_request_id("req-1");
    ASSERT_TRUE(ApplySync(*writer, record).ok());
    ASSERT_TRUE(ApplySync(*writer, EvidenceCommand("troops-return",
                                                   v1::STANCE_REFUTES, "NATO"))
                    .ok());
    writer->Stop();
    EXPECT_EQ(store->LastPosition(), 2u);
    before = AllClaims(*store);
  }
  auto store = OpenStoreOrDie(dir.path());
  EXPECT_EQ(store->LastPosition(), 2u);
  std::map<std::string, v1::ClaimView> after = AllClaims(*store);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(before.at("troops-return"),
                                         after.at("troops-return")));
  EXPECT_EQ(after.at("troops-return").status(), v1::CLAIM_STATUS_CONTRADICTED);
  auto request = store->GetRequest("req-1");
  ASSERT_TRUE(request.ok());
  ASSERT_TRUE(request->has_value());
  EXPECT_EQ((*request)->response().first_position(), 1u);
  EXPECT_EQ(StoredEvents(*store).size(), 2u);
}

TEST(EventStoreTest, PositionsStayGaplessAcrossRestarts) {
  TempDir dir;
  for (int round = 0; round < 3; ++round) {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          ApplySync(*writer, RecordCommand(absl::StrCat("c-", round, "-", i)))
              .ok());
    }
    // A refused command in between must not burn a position.
    EXPECT_FALSE(
        ApplySync(*writer, RecordCommand(absl::StrCat("c-", round, "-0")))
            .ok());
  }
  auto store = OpenStoreOrDie(dir.path());
  std::vector<v1::Event> events = StoredEvents(*store);
  ASSERT_EQ(events.size(), 15u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position(), i + 1);
  }
  EXPECT_EQ(store->LastPosition(), 15u);
}

TEST(EventStoreTest, SecondOpenOfSameDirectoryIsRefusedAsLocked) {
  TempDir dir;
  auto first = OpenStoreOrDie(dir.path());
  auto second = storage::EventStore::Open(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("locked"));
}

TEST(EventStoreTest, UnusableDirectoryIsAClearError) {
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto store = storage::EventStore::Open(file + "/data");
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("not-a-dir"));
}

// Every file under `dir` with its size and modification time.
std::map<std::string, std::pair<uintmax_t, std::filesystem::file_time_type>>
Snapshot(const std::string& dir) {
  std::map<std::string, std::pair<uintmax_t, std::filesystem::file_time_type>>
      files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      files[e.path().string()] = {e.file_size(), e.last_write_time()};
    }
  }
  return files;
}

TEST(EventStoreTest, ForeignDirectoryIsRefusedAndLeftAlone) {
  TempDir dir;
  std::ofstream(dir.path() + "/notes.txt") << "someone else's files\n";
  const auto before = Snapshot(dir.path());
  auto store = storage::EventStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr("not a factlog data dir"));
  EXPECT_EQ(Snapshot(dir.path()), before);
}

TEST(EventStoreTest, NewerSchemaVersionIsRefusedAndLeftAlone) {
  TempDir dir;
  OpenStoreOrDie(dir.path()).reset();
  // Stamp the store as written by a future version, with RocksDB directly.
  const uint64_t future = storage::keys::kCurrentSchemaVersion + 1;
  testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
    testing::SetSchemaVersion(db, families, future);
  });
  const auto before = Snapshot(dir.path());
  auto store = storage::EventStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(store.status().message()),
              HasSubstr(absl::StrCat("schema version ", future)));
  EXPECT_EQ(Snapshot(dir.path()), before);
}

TEST(EventStoreTest, CorruptedManifestIsRefused) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    ASSERT_TRUE(ApplySync(*writer, RecordCommand("kept")).ok());
  }
  std::ifstream current(dir.path() + "/CURRENT");
  std::string manifest;
  std::getline(current, manifest);
  ASSERT_FALSE(manifest.empty());
  std::ofstream(dir.path() + "/" + manifest, std::ios::trunc) << "garbage";
  auto store = storage::EventStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().code(), absl::StatusCode::kOk);
}

TEST(EventStoreTest, CommitRejectsPositionGapAndStoresNothing) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path());
  storage::CommitBatch batch;
  v1::Event& e = batch.events.emplace_back();
  e.set_position(2);  // the log is empty: 1 is next
  e.set_claim_id("x");
  e.set_version(1);
  EXPECT_EQ(store->Commit(batch).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(store->LastPosition(), 0u);
  EXPECT_TRUE(StoredEvents(*store).empty());
}

TEST(EventStoreTest, VerifyReportsTamperedProjectionAndRebuildRepairsIt) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path());
  auto writer = core::Writer::Start(store.get(), {});
  ASSERT_TRUE(ApplySync(*writer, RecordCommand("claim-a")).ok());
  ASSERT_TRUE(ApplySync(*writer,
                        EvidenceCommand("claim-a", v1::STANCE_SUPPORTS, "Kiev"))
                  .ok());
  writer->Stop();

  auto clean = store->Verify();
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->ok());
  EXPECT_EQ(clean->events_replayed, 2u);

  // Overwrite the projection with a status the log does not support.
  auto view = store->GetClaim("claim-a");
  ASSERT_TRUE(view.ok() && view->has_value());
  storage::CommitBatch tamper;
  v1::ClaimView tampered = **view;
  tampered.set_status(v1::CLAIM_STATUS_CONTRADICTED);
  const storage::ClaimIndexInputs before(**view);
  tamper.claims.push_back({&before, &tampered});
  ASSERT_TRUE(store->Commit(tamper).ok());

  auto dirty = store->Verify();
  ASSERT_TRUE(dirty.ok());
  EXPECT_FALSE(dirty->ok());
  EXPECT_THAT(dirty->mismatches, ::testing::Contains(HasSubstr("claim-a")));
  EXPECT_THAT(dirty->mismatches, ::testing::Contains(HasSubstr("by_status")));

  auto rebuilt = store->RebuildProjections();
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->events_replayed, 2u);
  EXPECT_EQ(rebuilt->claims_written, 1u);
  ASSERT_TRUE(testing::VerifiesClean(*store));
  EXPECT_EQ((*store->GetClaim("claim-a"))->status(),
            v1::CLAIM_STATUS_SUPPORTED);
}

// The replay is spread over threads by claim; an event that does not parse
// stops it with DATA_LOSS naming its position, wherever it is.
// The projection families are dropped and created again, so the rebuilt
// files land in empty families: one file each, and no old data left behind
// for a compaction to remove.
TEST(EventStoreTest, RebuildLeavesOneFilePerProjectionFamily) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(ApplySync(*writer, RecordCommand(absl::StrCat("c", i))).ok());
    }
    writer->Stop();
  }
  {
    auto store =
        OpenStoreOrDie(dir.path());  // the close above flushed to files
    auto rebuilt = store->RebuildProjections();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    EXPECT_EQ(rebuilt->claims_written, 300u);
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    for (const char* family : {"claims", "claim_events", "by_status"}) {
      rocksdb::ColumnFamilyMetaData meta;
      db->GetColumnFamilyMetaData(families.at(family), &meta);
      EXPECT_EQ(meta.file_count, 1u) << family;
      EXPECT_EQ(meta.levels.back().files.size(), 1u)
          << family << ": not at the bottom level";
    }
  });
  auto store = OpenStoreOrDie(dir.path());
  ASSERT_TRUE(testing::VerifiesClean(*store));
}

// Bloom filters serve only Get: families read by key carry them, families
// only ever scanned (the indexes) do not, whether their files come from a
// flush or from a rebuild.
TEST(EventStoreTest, OnlyFamiliesReadByKeyCarryBloomFilters) {
  TempDir dir;
  auto filter_bytes = [&dir] {
    std::map<std::string, uint64_t> bytes;
    testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
      for (const auto& [name, family] : families) {
        rocksdb::TablePropertiesCollection tables;
        ASSERT_TRUE(db->GetPropertiesOfAllTables(family, &tables).ok());
        if (tables.empty()) continue;
        for (const auto& [file, properties] : tables) {
          bytes[name] += properties->filter_size;
        }
      }
    });
    return bytes;
  };
  auto record = [](const std::string& id) {
    v1::Command c = RecordCommand(id);
    c.mutable_record_claim()->add_tags("war");
    c.mutable_record_claim()->set_subject("troops");
    return c;
  };
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    for (int i = 0; i < 50; ++i) {
      v1::Command c = record(absl::StrCat("c", i));
      if (i % 10 == 0) {  // a promise long past due: an overdue entry
        c.mutable_record_claim()->set_kind(v1::CLAIM_KIND_PROMISE);
        c.mutable_record_claim()->mutable_due_at()->set_seconds(1400000000);
      }
      ASSERT_TRUE(ApplySync(*writer, c).ok());
    }
    writer->Stop();
  }
  auto expect_filters_where_read_by_key = [&] {
    const std::map<std::string, uint64_t> bytes = filter_bytes();
    for (const char* family : {"events", "claims", "meta"}) {
      ASSERT_TRUE(bytes.count(family)) << family << " has no files";
      EXPECT_GT(bytes.at(family), 0u) << family;
    }
    for (const char* family : {"claim_events", "by_status", "by_subject",
                               "by_claimant", "by_tag", "by_overdue"}) {
      ASSERT_TRUE(bytes.count(family)) << family << " has no files";
      EXPECT_EQ(bytes.at(family), 0u) << family;
    }
  };
  {
    SCOPED_TRACE("flushed");
    expect_filters_where_read_by_key();
  }
  {
    auto store = OpenStoreOrDie(dir.path());
    ASSERT_TRUE(store->RebuildProjections().ok());
  }
  {
    SCOPED_TRACE("rebuilt");
    expect_filters_where_read_by_key();
  }
}

// A crash between dropping the projection families and creating them again
// leaves them missing, with the projections marked stale: opening creates
// them and rebuilds.
TEST(EventStoreTest, OpenRebuildsProjectionFamiliesACrashLeftDropped) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    ASSERT_TRUE(ApplySync(*writer, RecordCommand("claim-a")).ok());
    ASSERT_TRUE(ApplySync(*writer, EvidenceCommand("claim-a",
                                                   v1::STANCE_REFUTES, "NATO"))
                    .ok());
    writer->Stop();
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db->Put(wo, families.at("meta"),
                        storage::keys::kProjectionPosition,
                        storage::keys::EncodeU64(0))
                    .ok());
    ASSERT_TRUE(db->DropColumnFamily(families.at("claims")).ok());
    ASSERT_TRUE(db->DropColumnFamily(families.at("by_status")).ok());
  });
  auto store = OpenStoreOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto view = store->GetClaim("claim-a");
  ASSERT_TRUE(view.ok() && view->has_value()) << view.status();
  EXPECT_EQ((*view)->status(), v1::CLAIM_STATUS_CONTRADICTED);
  ASSERT_TRUE(testing::VerifiesClean(*store));
}

TEST(EventStoreTest, RebuildStopsAtAnEventThatDoesNotParse) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    for (int i = 0; i < 1500; ++i) {
      ASSERT_TRUE(ApplySync(*writer, RecordCommand(absl::StrCat("c", i))).ok());
      ASSERT_TRUE(
          ApplySync(*writer, EvidenceCommand(absl::StrCat("c", i),
                                             v1::STANCE_REFUTES, "NATO"))
              .ok());
    }
    writer->Stop();
    auto rebuilt = store->RebuildProjections();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
    EXPECT_EQ(rebuilt->events_replayed, 3000u);
    EXPECT_EQ(rebuilt->claims_written, 1500u);
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    // A length-delimited field running past the end.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("events"),
                        storage::keys::EventKey(2345), "\x12\x7f")
                    .ok());
  });
  auto store = OpenStoreOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto rebuilt = store->RebuildProjections();
  EXPECT_EQ(rebuilt.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(rebuilt.status().message()),
              HasSubstr("event 2345 does not parse"));
}

TEST(EventStoreTest, BackupWhileWritingRestoresToAVerifiedPrefix) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path() + "/live");
  auto writer = core::Writer::Start(store.get(), {});
  std::atomic<bool> stop{false};
  std::atomic<bool> load_failed{false};
  // No ASSERT in this thread: a fatal failure would end only the lambda,
  // and the waits below would spin for ever. A failure stops the load.
  std::thread load([&] {
    for (int i = 0; !stop && !load_failed; ++i) {
      auto recorded = ApplySync(*writer, RecordCommand(absl::StrCat("w", i)));
      auto evidence = ApplySync(
          *writer,
          EvidenceCommand(absl::StrCat("w", i), v1::STANCE_REFUTES, "NATO"));
      if (!recorded.ok() || !evidence.ok()) {
        ADD_FAILURE() << "load: " << recorded.status() << " / "
                      << evidence.status();
        load_failed = true;
      }
    }
  });
  // Waits, with a deadline, until the log holds `n` events.
  auto wait_for = [&](uint64_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (store->LastPosition() < n && !load_failed &&
           absl::Now() < deadline) {
      std::this_thread::yield();
    }
    return store->LastPosition() >= n;
  };
  EXPECT_TRUE(wait_for(200)) << "the load stalled at " << store->LastPosition();
  auto position = store->Backup(dir.path() + "/backup");
  if (position.ok()) {
    EXPECT_TRUE(wait_for(*position + 100))
        << "the load stalled at " << store->LastPosition();
  }
  stop = true;
  load.join();
  writer->Stop();
  ASSERT_TRUE(position.ok()) << position.status();
  ASSERT_FALSE(load_failed);
  EXPECT_GE(*position, 200u);
  EXPECT_EQ(store->Backup(dir.path() + "/backup").status().code(),
            absl::StatusCode::kAlreadyExists);

  auto report =
      storage::EventStore::Restore(dir.path() + "/backup", dir.path() + "/new");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_GE(report->events_replayed, *position);
  auto restored = OpenStoreOrDie(dir.path() + "/new");
  // The restored log is a prefix of the live one, event for event.
  std::vector<v1::Event> live = StoredEvents(*store);
  std::vector<v1::Event> copy = StoredEvents(*restored);
  ASSERT_LE(copy.size(), live.size());
  for (size_t i = 0; i < copy.size(); ++i) {
    EXPECT_EQ(copy[i].SerializeAsString(), live[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(restored->token_secret(), store->token_secret());

  EXPECT_EQ(
      storage::EventStore::Restore(dir.path() + "/backup", dir.path() + "/new")
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage::EventStore::Restore(dir.path() + "/nothing",
                                         dir.path() + "/newer")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

// ---- The overdue index ------------------------------------------------------

v1::Command Promise(const std::string& id, absl::Time due) {
  v1::Command c = RecordCommand(id);
  c.mutable_record_claim()->set_kind(v1::CLAIM_KIND_PROMISE);
  *c.mutable_record_claim()->mutable_due_at() = domain::ToProto(due);
  return c;
}

struct Entry {
  absl::Time overdue_at;
  std::string claim_id;
  absl::Time due_at;
  bool operator==(const Entry& o) const {
    return overdue_at == o.overdue_at && claim_id == o.claim_id &&
           due_at == o.due_at;
  }
  friend std::ostream& operator<<(std::ostream& out, const Entry& e) {
    return out << "(" << domain::Rfc3339(e.overdue_at) << ", " << e.claim_id
               << ", due " << domain::Rfc3339(e.due_at) << ")";
  }
};

std::vector<Entry> OverdueEntries(const storage::EventStore& store,
                                  const domain::OverdueCursor& after = {},
                                  absl::Time until = absl::InfiniteFuture()) {
  std::vector<Entry> out;
  EXPECT_TRUE(store
                  .ScanOverdue(after, until,
                               [&](const storage::EventStore::OverdueEntry& e) {
                                 out.push_back({e.overdue_at,
                                                std::string(e.claim_id),
                                                e.due_at});
                                 return true;
                               })
                  .ok());
  return out;
}

TEST(OverdueIndexTest, EntriesFollowTheClaimView) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path());
  testing::FakeClock clock(Utc(2014, 5, 19));
  core::WriterOptions options;
  options.clock = [&clock] { return clock.Now(); };
  auto writer = core::Writer::Start(store.get(), options);
  ASSERT_TRUE(ApplySync(*writer, Promise("p", Utc(2014, 5, 26))).ok());
  ASSERT_TRUE(ApplySync(*writer, RecordCommand("fact")).ok());
  ASSERT_TRUE(
      ApplySync(*writer, Promise("q", Utc(2014, 5, 1))).ok());  // already due
  EXPECT_THAT(
      OverdueEntries(*store),
      ::testing::ElementsAre(Entry{Utc(2014, 5, 19), "q", Utc(2014, 5, 1)},
                             Entry{Utc(2014, 5, 26), "p", Utc(2014, 5, 26)}));

  clock.Advance(absl::Hours(24 * 8));  // May 27: p is overdue
  ASSERT_TRUE(
      ApplySync(*writer, EvidenceCommand("p", v1::STANCE_SUPPORTS, "TASS"))
          .ok());
  EXPECT_THAT(
      OverdueEntries(*store),
      ::testing::ElementsAre(Entry{Utc(2014, 5, 19), "q", Utc(2014, 5, 1)}));
  clock.Advance(absl::Hours(24));  // May 28: the support goes, a new episode
  const std::string evidence_id =
      store->GetClaim("p")->value().evidence(0).evidence_id();
  v1::Command withdraw;
  withdraw.mutable_withdraw_evidence()->set_claim_id("p");
  withdraw.mutable_withdraw_evidence()->set_evidence_id(evidence_id);
  withdraw.mutable_withdraw_evidence()->set_reason("misattributed");
  ASSERT_TRUE(ApplySync(*writer, withdraw).ok());
  v1::Command verdict;
  verdict.mutable_issue_verdict()->set_claim_id("q");
  verdict.mutable_issue_verdict()->set_rating(v1::RATING_BROKEN);
  verdict.mutable_issue_verdict()->set_summary("not done");
  verdict.mutable_issue_verdict()->set_reviewer("Desk");
  ASSERT_TRUE(ApplySync(*writer, verdict).ok());
  EXPECT_THAT(
      OverdueEntries(*store),
      ::testing::ElementsAre(Entry{Utc(2014, 5, 28), "p", Utc(2014, 5, 26)}));
  // A new due date moves the entry; its due_at (the value) moves with it.
  v1::Command correct;
  correct.mutable_correct_claim()->set_claim_id("p");
  *correct.mutable_correct_claim()->mutable_due_at() =
      domain::ToProto(Utc(2014, 5, 30));
  correct.mutable_correct_claim()->set_reason("deadline extended");
  ASSERT_TRUE(ApplySync(*writer, correct).ok());
  EXPECT_THAT(
      OverdueEntries(*store),
      ::testing::ElementsAre(Entry{Utc(2014, 5, 30), "p", Utc(2014, 5, 30)}));
  const v1::ClaimView p = store->GetClaim("p")->value();
  EXPECT_EQ(domain::FromProto(p.overdue_at()), Utc(2014, 5, 30));

  ASSERT_TRUE(testing::VerifiesClean(*store));
  ASSERT_TRUE(store->RebuildProjections().ok());
  EXPECT_THAT(
      OverdueEntries(*store),
      ::testing::ElementsAre(Entry{Utc(2014, 5, 30), "p", Utc(2014, 5, 30)}));
  EXPECT_TRUE(MessageDifferencer::Equals(store->GetClaim("p")->value(), p));
}

TEST(OverdueIndexTest, ScanStartsAfterTheCursorAndStopsAtTheBound) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path());
  testing::FakeClock clock(Utc(2014, 5, 19));
  core::WriterOptions options;
  options.clock = [&clock] { return clock.Now(); };
  auto writer = core::Writer::Start(store.get(), options);
  for (const char* id : {"b", "a", "c"}) {
    ASSERT_TRUE(ApplySync(*writer, Promise(id, Utc(2014, 5, 26))).ok());
  }
  ASSERT_TRUE(ApplySync(*writer, Promise("d", Utc(2014, 5, 27))).ok());
  auto ids = [&](const domain::OverdueCursor& after, absl::Time until) {
    std::vector<std::string> out;
    for (const Entry& e : OverdueEntries(*store, after, until)) {
      out.push_back(e.claim_id);
    }
    return out;
  };
  using ::testing::ElementsAre;
  using ::testing::IsEmpty;
  EXPECT_THAT(ids({}, absl::InfiniteFuture()), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(ids({}, Utc(2014, 5, 26)), ElementsAre("a", "b", "c"));
  EXPECT_THAT(ids({}, Utc(2014, 5, 26) - absl::Nanoseconds(1)), IsEmpty());
  EXPECT_THAT(ids({Utc(2014, 5, 26), "a"}, Utc(2014, 5, 26)),
              ElementsAre("b", "c"));
  EXPECT_THAT(ids({Utc(2014, 5, 26), "c"}, Utc(2014, 5, 27)), ElementsAre("d"));
  // An empty claim id covers everything at that time.
  EXPECT_THAT(ids({Utc(2014, 5, 26), ""}, Utc(2014, 5, 27)), ElementsAre("d"));
  EXPECT_THAT(
      ids({Utc(2014, 5, 26) - absl::Nanoseconds(1), ""}, Utc(2014, 5, 27)),
      ElementsAre("a", "b", "c", "d"));
}

TEST(OverdueIndexTest, SchemaTwoStoreGetsTheIndexOnOpen) {
  TempDir dir;
  std::vector<Entry> entries;
  std::map<std::string, v1::ClaimView> claims;
  {
    auto store = OpenStoreOrDie(dir.path());
    testing::FakeClock clock(Utc(2014, 5, 19));
    core::WriterOptions options;
    options.clock = [&clock] { return clock.Now(); };
    auto writer = core::Writer::Start(store.get(), options);
    ASSERT_TRUE(
        ApplySync(*writer, Promise("due-later", Utc(2014, 5, 26))).ok());
    ASSERT_TRUE(
        ApplySync(*writer, Promise("due-already", Utc(2014, 5, 2))).ok());
    ASSERT_TRUE(ApplySync(*writer, RecordCommand("a-fact")).ok());
    writer->Stop();
    entries = OverdueEntries(*store);
    claims = AllClaims(*store);
  }
  ASSERT_EQ(entries.size(), 2u);
  // What factlogd before the overdue index left: no by_overdue family, no
  // overdue_at in the projections, schema 2.
  testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->DropColumnFamily(families.at("by_overdue")).ok());
    for (auto [id, view] : claims) {
      view.clear_overdue_at();
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("claims"), id,
                          view.SerializeAsString())
                      .ok());
    }
    testing::SetSchemaVersion(db, families, 2);
  });
  {
    auto store = OpenStoreOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(OverdueEntries(*store), entries);
    for (const auto& [id, view] : AllClaims(*store)) {
      EXPECT_TRUE(MessageDifferencer::Equals(view, claims.at(id))) << id;
    }
    ASSERT_TRUE(testing::VerifiesClean(*store));
  }
  EXPECT_EQ(testing::StoredSchemaVersion(dir.path()),
            storage::keys::kCurrentSchemaVersion);
}

// The claimant index's entries: subject and content-word hashes, kept in
// step with corrections, and rebuilt on open from a schema 3 dir, whose
// entries had empty values.
std::vector<std::string> ClaimantEntries(const storage::EventStore& store,
                                         const std::string& claimant) {
  std::vector<std::string> out;
  EXPECT_TRUE(store
                  .ScanClaimant(
                      claimant,
                      [&](const auto& e) {
                        out.push_back(absl::StrCat(e.claim_id, " ", e.subject,
                                                   " ", e.word_hashes.size()));
                        EXPECT_TRUE(std::is_sorted(e.word_hashes.begin(),
                                                   e.word_hashes.end()));
                        return true;
                      })
                  .ok());
  return out;
}

v1::Command Said(const std::string& id, const std::string& text,
                 const std::string& subject) {
  v1::Command c = RecordCommand(id);
  c.mutable_record_claim()->set_text(text);
  c.mutable_record_claim()->set_claimant("Putin");
  c.mutable_record_claim()->set_subject(subject);
  return c;
}

TEST(ClaimantIndexTest, EntriesCarrySubjectAndWordHashesThroughCorrections) {
  TempDir dir;
  auto store = OpenStoreOrDie(dir.path());
  auto writer = core::Writer::Start(store.get(), {});
  ASSERT_TRUE(
      ApplySync(*writer, Said("a", "Troops pulled back to bases.", "border"))
          .ok());
  ASSERT_TRUE(ApplySync(*writer, Said("b", "Taxes fall.", "economy")).ok());
  ASSERT_TRUE(
      ApplySync(*writer, EvidenceCommand("a", v1::STANCE_REFUTES, "NATO"))
          .ok());
  EXPECT_THAT(ClaimantEntries(*store, "Putin"),
              ::testing::ElementsAre("a border 4", "b economy 2"));
  v1::Command correct;
  correct.mutable_correct_claim()->set_claim_id("b");
  correct.mutable_correct_claim()->set_text("Taxes fall in May and June.");
  correct.mutable_correct_claim()->set_subject("taxes");
  correct.mutable_correct_claim()->set_reason("misquoted");
  ASSERT_TRUE(ApplySync(*writer, correct).ok());
  EXPECT_THAT(ClaimantEntries(*store, "Putin"),
              ::testing::ElementsAre("a border 4", "b taxes 3"));
  EXPECT_THAT(ClaimantEntries(*store, "Nobody"), ::testing::IsEmpty());
  writer->Stop();
  ASSERT_TRUE(testing::VerifiesClean(*store));
}

TEST(ClaimantIndexTest, SchemaThreeStoreGetsTheEntriesOnOpen) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    ASSERT_TRUE(
        ApplySync(*writer, Said("a", "Troops pulled back.", "border")).ok());
    ASSERT_TRUE(ApplySync(*writer, Said("b", "Taxes fall.", "economy")).ok());
  }
  // What a schema 3 factlogd left: claimant entries without values.
  testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
    for (const char* id : {"a", "b"}) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("by_claimant"),
                          storage::keys::IndexKey("Putin", id), "")
                      .ok());
    }
    testing::SetSchemaVersion(db, families, 3);
  });
  {
    auto store = OpenStoreOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_THAT(ClaimantEntries(*store, "Putin"),
                ::testing::ElementsAre("a border 3", "b economy 2"));
    ASSERT_TRUE(testing::VerifiesClean(*store));
  }
}

TEST(ClaimantIndexTest, MalformedEntryIsDataLossAndVerifyNamesIt) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    auto writer = core::Writer::Start(store.get(), {});
    ASSERT_TRUE(
        ApplySync(*writer, Said("a", "Troops pulled back.", "border")).ok());
  }
  testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
    // A subject length past the end of the value.
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("by_claimant"),
                        storage::keys::IndexKey("Putin", "a"), "\x09bord")
                    .ok());
  });
  auto store = OpenStoreOrDie(dir.path());
  absl::Status scan =
      store->ScanClaimant("Putin", [](const auto&) { return true; });
  EXPECT_EQ(scan.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(scan.message()), HasSubstr("\"a\""));
  auto verify = store->Verify();
  ASSERT_TRUE(verify.ok());
  EXPECT_THAT(verify->mismatches,
              ::testing::ElementsAre(HasSubstr("by_claimant: entry")));
}

TEST(KeysTest, ClaimantEntryValueRoundTripsAndRejectsOthers) {
  using storage::keys::ClaimantEntryValue;
  using storage::keys::DecodeClaimantEntryValue;
  absl::string_view subject;
  std::vector<uint32_t> hashes;
  const std::string long_subject(200, 's');  // a two-byte length
  const std::string value =
      ClaimantEntryValue(long_subject, {1, 0x80000000u, 0xffffffffu});
  ASSERT_TRUE(DecodeClaimantEntryValue(value, &subject, &hashes));
  EXPECT_EQ(subject, long_subject);
  EXPECT_THAT(hashes, ::testing::ElementsAre(1u, 0x80000000u, 0xffffffffu));
  ASSERT_TRUE(
      DecodeClaimantEntryValue(ClaimantEntryValue("", {}), &subject, &hashes));
  EXPECT_EQ(subject, "");
  EXPECT_THAT(hashes, ::testing::IsEmpty());
  EXPECT_FALSE(DecodeClaimantEntryValue("", &subject, &hashes));
  EXPECT_FALSE(DecodeClaimantEntryValue(value.substr(0, value.size() - 1),
                                        &subject, &hashes));
  EXPECT_FALSE(
      DecodeClaimantEntryValue("\xff\xff\xff\xff\xff\x01", &subject, &hashes));
}

TEST(OverdueIndexTest, VerifyNoticesAMissingOrStaleEntry) {
  TempDir dir;
  {
    auto store = OpenStoreOrDie(dir.path());
    testing::FakeClock clock(Utc(2014, 5, 19));
    core::WriterOptions options;
    options.clock = [&clock] { return clock.Now(); };
    auto writer = core::Writer::Start(store.get(), options);
    ASSERT_TRUE(ApplySync(*writer, Promise("p", Utc(2014, 5, 26))).ok());
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), families.at("by_overdue"),
                           storage::keys::OverdueKey(Utc(2014, 5, 26), "p"))
                    .ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("by_overdue"),
                        storage::keys::OverdueKey(Utc(2014, 5, 25), "p"),
                        storage::keys::EncodeTime(Utc(2014, 5, 25)))
                    .ok());
  });
  auto store = OpenStoreOrDie(dir.path());
  auto verify = store->Verify();
  ASSERT_TRUE(verify.ok());
  EXPECT_THAT(verify->mismatches,
              ::testing::UnorderedElementsAre(
                  HasSubstr("by_overdue: unexpected entry \"2014-05-25"),
                  HasSubstr("by_overdue: missing entry \"2014-05-26")));
}

TEST(KeysTest, EncodedTimesSortLikeTimes) {
  using storage::keys::EncodeTime;
  const absl::Time times[] = {
      absl::InfinitePast(),
      absl::FromCivil(absl::CivilDay(1800, 1, 1), absl::UTCTimeZone()),
      absl::UnixEpoch() - absl::Nanoseconds(1),
      absl::UnixEpoch(),
      Utc(2014, 5, 19),
      Utc(2014, 5, 19) + absl::Nanoseconds(1),
      absl::InfiniteFuture()};
  for (size_t i = 1; i < std::size(times); ++i) {
    EXPECT_LT(EncodeTime(times[i - 1]), EncodeTime(times[i])) << i;
  }
  EXPECT_EQ(storage::keys::DecodeTime(EncodeTime(Utc(2014, 5, 19))),
            Utc(2014, 5, 19));
}

TEST(EventStoreTest, RebuildEqualsLiveProjectionsAfterRandomCommands) {
  for (uint32_t seed : {1u, 7u, 2014u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TempDir dir;
    auto store = OpenStoreOrDie(dir.path());
    testing::CommandGenerator gen(seed);
    int applied = 0, refused = 0;
    {
      auto writer = core::Writer::Start(store.get(), {});
      // Submit in bursts so group commits decide against in-batch state.
      const testing::BurstOutcome outcome =
          testing::SubmitInBursts(*writer, gen, 30, 100);
      applied = outcome.applied;
      refused = outcome.refused;
    }
    EXPECT_GT(applied, 1500);
    EXPECT_GT(refused, 50);

    auto live = AllClaims(*store);
    ASSERT_TRUE(testing::VerifiesClean(*store));

    ASSERT_TRUE(store->RebuildProjections().ok());
    // Every index and the per-claim event index, as well as the views.
    ASSERT_TRUE(testing::VerifiesClean(*store));
    auto rebuilt = AllClaims(*store);
    ASSERT_EQ(live.size(), rebuilt.size());
    for (const auto& [id, view] : live) {
      std::string diff;
      MessageDifferencer differ;
      differ.ReportDifferencesToString(&diff);
      EXPECT_TRUE(differ.Compare(view, rebuilt.at(id))) << id << ": " << diff;
    }
    // Versions per claim are gapless and match the claim_events index.
    for (const auto& [id, view] : rebuilt) {
      uint64_t expected_version = 1;
      ASSERT_TRUE(store
                      ->ReadClaimEvents(id, 1,
                                        [&](const v1::Event& e) {
                                          EXPECT_EQ(e.version(),
                                                    expected_version++);
                                          return true;
                                        })
                      .ok());
      EXPECT_EQ(expected_version - 1, view.version()) << id;
    }
  }
}

}  // namespace
}  // namespace factlog
