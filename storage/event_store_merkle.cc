// EventStore: the tamper-evident log's Merkle tree (domain/merkle.h) as
// stored, its roots and proofs.

#include <optional>
#include <string>

#include "absl/strings/str_format.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"

namespace factlog::storage {
namespace {

// OUT_OF_RANGE when the log has fewer than `size` events.
absl::Status CheckTreeSize(uint64_t size, uint64_t last) {
  if (size > last) {
    return absl::OutOfRangeError(absl::StrFormat(
        "tree size %d is beyond the log, which ends at position %d", size,
        last));
  }
  return absl::OkStatus();
}

}  // namespace

merkle::NodeReader StoreState::MerkleReader() const {
  return [this](merkle::NodeId id) -> absl::StatusOr<merkle::Hash> {
    if (id.level >= keys::kLowestStoredMerkleLevel) return StoredMerkleNode(id);
    {
      absl::MutexLock lock(&tail_mu);
      if (std::optional<merkle::Hash> peak = tail.Find(id)) return *peak;
    }
    return SubtreeFromEvents(id);
  };
}

absl::StatusOr<merkle::Hash> StoreState::StoredMerkleNode(
    merkle::NodeId id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), family(kMerkle),
                              keys::MerkleNodeKey(id.level, id.index), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrFormat(
        "merkle: node (level %d, index %d) is missing", id.level, id.index));
  }
  if (auto st = FromRocks(s, "reading merkle node"); !st.ok()) return st;
  absl::StatusOr<merkle::Hash> hash = merkle::HashFromBytes(ToView(value));
  if (!hash.ok()) {
    return absl::DataLossError(
        absl::StrFormat("merkle: node (level %d, index %d): %s", id.level,
                        id.index, hash.status().message()));
  }
  return hash;
}

absl::StatusOr<merkle::Hash> StoreState::SubtreeFromEvents(
    merkle::NodeId id) const {
  const uint64_t first = (id.index << id.level) + 1;
  const uint64_t count = uint64_t{1} << id.level;
  const std::string end_key = keys::EventKey(first + count);
  const rocksdb::Slice end(end_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &end;
  merkle::Frontier subtree;
  MerkleNodes ignored;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, family(kEvents)));
  for (it->Seek(keys::EventKey(first)); it->Valid(); it->Next()) {
    if (keys::DecodeU64(ToView(it->key())) != first + subtree.size()) break;
    subtree.Append(merkle::LeafHash(ToView(it->value())), &ignored);
    ignored.clear();
  }
  if (auto st = FromRocks(it->status(), "reading events"); !st.ok()) return st;
  if (subtree.size() != count) {
    return absl::DataLossError(absl::StrFormat(
        "merkle: node (level %d, index %d) needs the events at positions %d "
        "to %d, and the log lacks position %d",
        id.level, id.index, first, first + count - 1, first + subtree.size()));
  }
  return subtree.Root();
}

absl::Status StoreState::LoadFrontier(uint64_t last_position,
                                      bool every_node_stored) {
  // The stored tail; when there is none or it is malformed, the newest
  // events are hashed as they are (Verify says so).
  rocksdb::PinnableSlice bytes;
  absl::StatusOr<bool> found =
      ReadValue(kMeta, keys::kMerkleTail, "merkle tail", &bytes);
  if (!found.ok()) return found.status();
  if (*found) {
    if (std::optional<MerkleTail> stored = MerkleTail::Decode(ToView(bytes))) {
      absl::MutexLock lock(&tail_mu);
      tail = *std::move(stored);
    }
  }
  // Schema 2 to 4 stores hold every node (or, when a migration to 5 was cut
  // short after pruning them, the tail); their stored leaves are the ones to
  // trust, not the events.
  const merkle::NodeReader read = MerkleReader();
  absl::StatusOr<merkle::Frontier> loaded = merkle::Frontier::Load(
      last_position,
      every_node_stored ? merkle::NodeReader([&](merkle::NodeId id) {
        absl::StatusOr<merkle::Hash> stored = StoredMerkleNode(id);
        return stored.ok() ? stored : read(id);
      })
                        : read);
  if (!loaded.ok()) return loaded.status();
  frontier = *std::move(loaded);
  absl::MutexLock lock(&tail_mu);
  tail = MerkleTail::Of(frontier);
  return absl::OkStatus();
}

void StoreState::PutMerkleNodes(rocksdb::WriteBatch* wb,
                                const MerkleNodes& nodes) const {
  for (const auto& [id, hash] : nodes) {
    if (id.level < keys::kLowestStoredMerkleLevel) continue;
    wb->Put(family(kMerkle), keys::MerkleNodeKey(id.level, id.index),
            merkle::ToBytes(hash));
  }
}

absl::StatusOr<merkle::Hash> EventStore::RootAt(uint64_t size) const {
  if (auto s = CheckTreeSize(size, LastPosition()); !s.ok()) return s;
  return merkle::RootHash(size, state_->MerkleReader());
}

absl::StatusOr<std::vector<merkle::Hash>> EventStore::InclusionProof(
    uint64_t position, uint64_t tree_size) const {
  if (auto s = CheckTreeSize(tree_size, LastPosition()); !s.ok()) return s;
  if (position == 0 || position > tree_size) {
    return absl::OutOfRangeError(
        absl::StrFormat("position %d is not in the tree of the first %d events",
                        position, tree_size));
  }
  return merkle::InclusionProof(position - 1, tree_size,
                                state_->MerkleReader());
}

absl::StatusOr<std::vector<merkle::Hash>> EventStore::ConsistencyProof(
    uint64_t old_size, uint64_t new_size) const {
  if (auto s = CheckTreeSize(new_size, LastPosition()); !s.ok()) return s;
  return merkle::ConsistencyProof(old_size, new_size, state_->MerkleReader());
}

}  // namespace factlog::storage
