// The tamper-evident log in the store: the tree is written with every
// commit, answers proofs for any size of the log, survives reopening,
// is built for stores from before it existed (and pruned for stores that
// stored every node), and --verify (Verify()) notices a changed byte in any
// stored event, tree node or the tree's tail.
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/writer.h"
#include "domain/merkle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::ApplySync;
using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TempDir;

// Appends `claims` claims with two pieces of evidence each (3 events per
// claim) through the real writer.
void Append(storage::EventStore* store, int claims, const std::string& tag) {
  auto writer = core::Writer::Start(store, {});
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
  auto store = testing::OpenStoreOrDie(dir.path());
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
  auto store = testing::OpenStoreOrDie(dir.path());
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
    auto store = testing::OpenStoreOrDie(dir.path());
    Append(store.get(), 7, "a");  // 21 events: one stored subtree, a tail
    size_before = store->LastPosition();
    root_before = *store->RootAt(size_before);
  }
  auto store = testing::OpenStoreOrDie(dir.path());
  EXPECT_EQ(*store->RootAt(size_before), root_before);
  Append(store.get(), 5, "b");
  const std::vector<merkle::Hash> leaves = ClientLeaves(*store);
  EXPECT_EQ(*store->RootAt(store->LastPosition()),
            RootOfLeaves(leaves, leaves.size()));
  auto report = store->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
  // Every perfect subtree of 16 leaves or more is stored once (2m -
  // popcount(m) of them for m = n / 16), and the tail holds a hash for each
  // of the low four bits of n.
  const uint64_t n = leaves.size();
  ASSERT_EQ(n, 36u);
  const uint64_t m = n >> storage::keys::kLowestStoredMerkleLevel;
  EXPECT_EQ(report->merkle_nodes_checked,
            2 * m - __builtin_popcountll(m) + __builtin_popcountll(n % 16));
}

TEST(MerkleStoreTest, StoreFromBeforeTheTreeIsMigratedOnOpen) {
  TempDir dir;
  merkle::Hash root;
  uint64_t size = 0;
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    Append(store.get(), 20, "old");
    size = store->LastPosition();
    root = *store->RootAt(size);
  }
  // Make it a schema 1 store: no tree at all.
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->DropColumnFamily(families.at("merkle")).ok());
    testing::SetSchemaVersion(db, families, 1);
  });
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->RootAt(size), root);
    ASSERT_TRUE(testing::VerifiesClean(*store));
    Append(store.get(), 1, "new");
  }
  EXPECT_EQ(testing::StoredSchemaVersion(dir.path()),
            storage::keys::kCurrentSchemaVersion);
}

TEST(MerkleStoreTest, StoreWithEveryNodeStoredIsPrunedOnOpen) {
  TempDir dir;
  merkle::Hash root;
  uint64_t size = 0;
  std::vector<merkle::Hash> leaves;
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    Append(store.get(), 7, "old");  // 21 events
    size = store->LastPosition();
    root = *store->RootAt(size);
    leaves = ClientLeaves(*store);
  }
  // Make it what a schema 4 factlogd left: every node, no tail.
  testing::WithRawRocksDb(dir.path(), [&](rocksdb::DB* db, auto families) {
    merkle::Frontier frontier;
    std::vector<std::pair<merkle::NodeId, merkle::Hash>> nodes;
    for (const merkle::Hash& leaf : leaves) frontier.Append(leaf, &nodes);
    for (const auto& [id, hash] : nodes) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("merkle"),
                          storage::keys::MerkleNodeKey(id.level, id.index),
                          merkle::ToBytes(hash))
                      .ok());
    }
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), families.at("meta"),
                           storage::keys::kMerkleTail)
                    .ok());
    testing::SetSchemaVersion(db, families, 4);
  });
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->RootAt(size), root);
    ASSERT_TRUE(testing::VerifiesClean(*store));
    Append(store.get(), 1, "new");
    ASSERT_TRUE(testing::VerifiesClean(*store));
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), families.at("merkle")));
    int nodes = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++nodes) {
      EXPECT_GE(static_cast<int>(it->key()[0]),
                storage::keys::kLowestStoredMerkleLevel);
    }
    EXPECT_EQ(nodes, 1);  // (4, 0): 24 events
  });
  EXPECT_EQ(testing::StoredSchemaVersion(dir.path()),
            storage::keys::kCurrentSchemaVersion);
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

// The range "positions A to B" a Verify mismatch names, if it names one.
std::optional<std::pair<uint64_t, uint64_t>> NamedRange(
    const std::string& mismatch) {
  static const std::regex kRange("positions ([0-9]+) to ([0-9]+)");
  std::smatch m;
  if (!std::regex_search(mismatch, m, kRange)) return std::nullopt;
  return std::make_pair(std::stoull(m[1]), std::stoull(m[2]));
}

TEST(MerkleStoreTest, VerifyFindsAChangedByteInAnyStoredEvent) {
  TempDir dir;
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    // 42 events, each names its claim: two stored subtrees of 16 (1-16,
    // 17-32) and a tail of 8 + 2 (33-40, 41-42).
    Append(store.get(), 14, "c");
  }
  for (uint64_t position : {1, 2, 9, 16, 17, 25, 32, 33, 36, 40, 41, 42}) {
    // "c-1" -> "c-Z": a different claim id, same length, still parses.
    const std::string id = absl::StrCat("c-", (position - 1) / 3);
    const std::string changed = id.size() == 3 ? "c-Z" : "c-ZZ";
    RewriteStoredEvent(dir.path(), position, id, changed);
    {
      auto store = testing::OpenStoreOrDie(dir.path());
      auto report = store->Verify();
      ASSERT_TRUE(report.ok()) << report.status();
      // Named within its subtree: the 16 of a stored one, or the tail's
      // peak it is under.
      const uint64_t first = position <= 32   ? (position - 1) / 16 * 16 + 1
                             : position <= 40 ? 33
                                              : 41;
      const uint64_t last = position <= 32   ? first + 15
                            : position <= 40 ? 40
                                             : 42;
      bool named = false;
      for (const std::string& mismatch : report->mismatches) {
        if (NamedRange(mismatch) == std::make_pair(first, last) &&
            absl::StrContains(mismatch, "do not match")) {
          named = true;
        }
      }
      EXPECT_TRUE(named) << "position " << position << ": "
                         << ::testing::PrintToString(report->mismatches);
    }
    RewriteStoredEvent(dir.path(), position, changed, id);
  }
  auto store = testing::OpenStoreOrDie(dir.path());
  ASSERT_TRUE(testing::VerifiesClean(*store));
}

TEST(MerkleStoreTest, AnEventChangedInTheFilesCannotChangeTheRoot) {
  TempDir dir;
  merkle::Hash root;
  uint64_t size = 0;
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    Append(store.get(), 7, "c");  // 21: positions 17 to 21 are the tail
    size = store->LastPosition();
    root = *store->RootAt(size);
  }
  for (uint64_t position : {3, 20}) {
    const std::string id = absl::StrCat("c-", (position - 1) / 3);
    RewriteStoredEvent(dir.path(), position, id, "c-Z");
    auto store = testing::OpenStoreOrDie(dir.path());
    // The root comes from the stored subtree and the stored tail, not from
    // the events as they are now; so does what Commit builds on.
    EXPECT_EQ(*store->RootAt(size), root) << position;
    auto proof = store->InclusionProof(position, size);
    ASSERT_TRUE(proof.ok());
    const std::vector<merkle::Hash> leaves = ClientLeaves(*store);
    EXPECT_FALSE(merkle::VerifyInclusion(position - 1, size,
                                         leaves[position - 1], *proof, root)
                     .ok())
        << position;
    store.reset();
    RewriteStoredEvent(dir.path(), position, "c-Z", id);
  }
}

TEST(MerkleStoreTest, VerifyFindsAChangedTreeNodeOrTail) {
  TempDir dir;
  {
    auto store = testing::OpenStoreOrDie(dir.path());
    Append(store.get(), 14, "c");  // 42 events
  }
  testing::WithRawRocksDb(dir.path(), [](rocksdb::DB* db, auto families) {
    for (auto [level, index] : {std::pair<int, uint64_t>{5, 0}, {4, 1}}) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("merkle"),
                          storage::keys::MerkleNodeKey(level, index),
                          std::string(32, 'x'))
                      .ok());
    }
    // The last hash of the tail: the peak over positions 41 and 42.
    std::string tail;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), families.at("meta"),
                        storage::keys::kMerkleTail, &tail)
                    .ok());
    tail.back() ^= 1;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), families.at("meta"),
                        storage::keys::kMerkleTail, tail)
                    .ok());
  });
  auto store = testing::OpenStoreOrDie(dir.path());
  auto report = store->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_THAT(report->mismatches,
              Contains(HasSubstr("node (level 5, index 0) is not the hash")));
  EXPECT_THAT(report->mismatches,
              Contains(HasSubstr("positions 17 to 32 do not match their "
                                 "stored subtree (level 4, index 1)")));
  EXPECT_THAT(
      report->mismatches,
      Contains(HasSubstr("positions 41 to 42 do not match the stored tail")));
  // Nothing else: each change is reported once, not once per ancestor.
  EXPECT_EQ(report->mismatches.size(), 4u)
      << ::testing::PrintToString(report->mismatches);
}

}  // namespace
}  // namespace factlog
