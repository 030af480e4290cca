// The tamper-evident log in the store: the tree is written with every
// commit, answers proofs for any size of the log, survives reopening,
// is built for stores from before it existed, and --verify (Verify())
// notices a changed byte in any stored event.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "domain/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/writer.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "tests/test_support.h"

namespace factlog {
namespace {

using testing::ApplySync;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TempDir;

std::unique_ptr<storage::EventStore> OpenOrDie(const std::string& dir) {
  auto store = storage::EventStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// Appends `claims` claims with two pieces of evidence each (3 events per
// claim) through the real writer.
void Append(storage::EventStore* store, int claims, const std::string& tag) {
  auto writer = server::Writer::Start(store, {});
  for (int i = 0; i < claims; ++i) {
    const std::string id = absl::StrCat(tag, "-", i);
    v1::Command record;
    *record.mutable_record_claim() =
        testing::NewClaim(id, absl::StrCat("Claim number ", i, "."));
    ASSERT_TRUE(ApplySync(*writer, record).ok());
    for (const char* source : {"NATO", "Kremlin"}) {
      v1::Command evidence;
      *evidence.mutable_add_evidence() =
          testing::NewEvidence(id, v1::STANCE_REFUTES, source);
      ASSERT_TRUE(ApplySync(*writer, evidence).ok());
    }
  }
  writer->Stop();
}

// The leaf hashes of the stored events, computed as a client would: from
// the Event messages, re-serialized.
std::vector<merkle::Hash> ClientLeaves(const storage::EventStore& store) {
  std::vector<merkle::Hash> leaves;
  EXPECT_TRUE(store
                  .ReadEvents(1,
                              [&](const v1::Event& e) {
                                leaves.push_back(merkle::LeafHash(
                                    merkle::CanonicalEventBytes(e)));
                                return true;
                              })
                  .ok());
  return leaves;
}

merkle::Hash RootOfLeaves(const std::vector<merkle::Hash>& leaves, size_t n) {
  merkle::Frontier f;
  std::vector<std::pair<merkle::NodeId, merkle::Hash>> ignored;
  for (size_t i = 0; i < n; ++i) f.Append(leaves[i], &ignored);
  return f.Root();
}

TEST(MerkleStoreTest, EveryCommitExtendsTheTreeAndEveryProofVerifies) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(*store->RootAt(0), merkle::EmptyTreeHash());
  Append(store.get(), 15, "c");  // 45 events
  const uint64_t last = store->LastPosition();
  ASSERT_EQ(last, 45u);
  const std::vector<merkle::Hash> leaves = ClientLeaves(*store);
  for (uint64_t size = 1; size <= last; ++size) {
    const merkle::Hash root = *store->RootAt(size);
    ASSERT_EQ(root, RootOfLeaves(leaves, size)) << size;
    for (uint64_t position = 1; position <= size; ++position) {
      auto proof = store->InclusionProof(position, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_TRUE(merkle::VerifyInclusion(position - 1, size,
                                          leaves[position - 1], *proof, root)
                      .ok())
          << position << " in " << size;
    }
    auto consistency = store->ConsistencyProof(size, last);
    ASSERT_TRUE(consistency.ok());
    ASSERT_TRUE(merkle::VerifyConsistency(size, last, root,
                                          *store->RootAt(last), *consistency)
                    .ok());
  }
}

TEST(MerkleStoreTest, ProofsBeyondTheLogAreOutOfRange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  Append(store.get(), 2, "c");
  const uint64_t last = store->LastPosition();
  EXPECT_EQ(store->RootAt(last + 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->InclusionProof(0, last).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->InclusionProof(last, last - 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->InclusionProof(1, last + 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->ConsistencyProof(2, 1).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->ConsistencyProof(1, last + 1).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(MerkleStoreTest, ReopenedStoreContinuesTheSameTree) {
  TempDir dir;
  merkle::Hash root_before;
  uint64_t size_before = 0;
  {
    auto store = OpenOrDie(dir.path());
    Append(store.get(), 7, "a");
    size_before = store->LastPosition();
    root_before = *store->RootAt(size_before);
  }
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(*store->RootAt(size_before), root_before);
  Append(store.get(), 5, "b");
  const std::vector<merkle::Hash> leaves = ClientLeaves(*store);
  EXPECT_EQ(*store->RootAt(store->LastPosition()),
            RootOfLeaves(leaves, leaves.size()));
  auto report = store->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
  // Every perfect subtree is stored once: 2n - popcount(n) nodes.
  EXPECT_EQ(report->merkle_nodes_checked,
            2 * leaves.size() - __builtin_popcountll(leaves.size()));
}

TEST(MerkleStoreTest, StoreFromBeforeTheTreeIsMigratedOnOpen) {
  TempDir dir;
  merkle::Hash root;
  uint64_t size = 0;
  {
    auto store = OpenOrDie(dir.path());
    Append(store.get(), 20, "old");
    size = store->LastPosition();
    root = *store->RootAt(size);
  }
  // Make it a schema 1 store: no tree at all.
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->DropColumnFamily(families.at("merkle")).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("meta"),
                        storage::keys::kSchemaVersion,
                        storage::keys::EncodeU64(1))
                    .ok());
  });
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->RootAt(size), root);
    ASSERT_TRUE(testing::VerifiesClean(*store));
    Append(store.get(), 1, "new");
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), families.at("meta"),
                        storage::keys::kSchemaVersion, &value)
                    .ok());
    EXPECT_EQ(storage::keys::DecodeU64(value),
              storage::keys::kCurrentSchemaVersion);
  });
}

// Replaces the first occurrence of `from` in the stored bytes of the event
// at `position` with `to` (same length), as someone editing the files
// would.
void RewriteStoredEvent(const std::string& dir, uint64_t position,
                        const std::string& from, const std::string& to) {
  testing::WithRawRocksDb(dir, [&](rocksdb::DB* db, auto families) {
    std::string bytes;
    const std::string key = storage::keys::EventKey(position);
    ASSERT_TRUE(
        db->Get(rocksdb::ReadOptions(), families.at("events"), key, &bytes)
            .ok());
    const size_t at = bytes.find(from);
    ASSERT_NE(at, std::string::npos) << "position " << position;
    bytes.replace(at, from.size(), to);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), families.at("events"), key, bytes)
            .ok());
  });
}

TEST(MerkleStoreTest, VerifyFindsAChangedByteInAnyStoredEvent) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    Append(store.get(), 4, "c");  // 12 events, each names its claim
  }
  for (uint64_t position = 1; position <= 12; ++position) {
    // "c-1" -> "c-9": a different claim id, same length, still parses.
    const std::string id = absl::StrCat("c-", (position - 1) / 3);
    RewriteStoredEvent(dir.path(), position, id, "c-9");
    {
      auto store = OpenOrDie(dir.path());
      auto report = store->Verify();
      ASSERT_TRUE(report.ok()) << report.status();
      EXPECT_THAT(
          report->mismatches,
          Contains(HasSubstr(absl::StrCat("the event at position ", position,
                                          " does not match its leaf hash"))));
    }
    RewriteStoredEvent(dir.path(), position, "c-9", id);
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(testing::VerifiesClean(*store));
}

TEST(MerkleStoreTest, VerifyFindsAChangedTreeNode) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    Append(store.get(), 3, "c");  // 9 events
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("merkle"),
                        storage::keys::MerkleNodeKey(2, 1),
                        std::string(32, 'x'))
                    .ok());
  });
  auto store = OpenOrDie(dir.path());
  auto report = store->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->mismatches,
              Contains(HasSubstr("node (level 2, index 1) is not the hash")));
}

}  // namespace
}  // namespace factlog
