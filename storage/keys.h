#ifndef FACTLOG_STORAGE_KEYS_H_
#define FACTLOG_STORAGE_KEYS_H_

// The only place RocksDB keys are encoded. Integers are big-endian so that
// byte order equals numeric order; composite keys separate a text part from
// what follows with 0x00, which validated text never contains.
//
//   cf            key                                   value
//   events        position (u64 BE)                     Event
//   claim_events  claim_id 0x00 version (u64 BE)        position (u64 BE)
//   claims        claim_id                              ClaimView
//   by_status     STATUS_NAME 0x00 claim_id             (empty)
//   by_subject    subject 0x00 claim_id                 (empty)
//   by_claimant   claimant 0x00 claim_id                ClaimantEntryValue
//                                                       (from schema 4)
//   by_tag        tag 0x00 claim_id                     (empty)
//   by_overdue    overdue_at (8 bytes, EncodeTime) claim_id
//                                                       due_at (EncodeTime)
//   requests      request_id                            RequestRecord
//   merkle        level (u8) index (u64 BE)             32-byte node hash
//                 (the perfect subtree of 2^level leaves starting at leaf
//                 index << level; leaf i is the event at position i+1),
//                 kLowestStoredMerkleLevel and up only
//   meta          "last_position" | "projection_position" | "schema_version"
//                                                       u64 BE
//                 "merkle_tail"                         tree size (u64 BE),
//                                                       32-byte hashes
//                 (the tree's peaks below kLowestStoredMerkleLevel, largest
//                 first: what covers the newest events until they fill a
//                 stored subtree; storage/merkle_tail.h)
//                 "token_secret"                        32 random bytes
//   sources       's' source_id                         SourceView
//                 'p'                                   DeskPolicyView
//                 (from schema 6; the names index is built in memory from
//                 the views on open)
//   default       "wal_guard" (written without the WAL;   (empty)
//                 nothing reads it)

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace factlog::storage::keys {

inline constexpr char kLastPosition[] = "last_position";
inline constexpr char kProjectionPosition[] = "projection_position";
inline constexpr char kSchemaVersion[] = "schema_version";
inline constexpr char kTokenSecret[] = "token_secret";
inline constexpr char kMerkleTail[] = "merkle_tail";
// Replicated mode only: which commit record of the cluster's log this store
// has applied, written with that record's events (CommitBatch::
// replica_state; its bytes are the replication layer's).
inline constexpr char kReplicaState[] = "replica_state";
// Kept in the default column family's memtable so that RocksDB always has a
// memtable to flush when it resumes after a failed write (event_store.cc).
inline constexpr char kWalGuard[] = "wal_guard";
// 1: the log and projections. 2: adds the Merkle tree (migrated on open).
// 3: adds ClaimView.overdue_at and the by_overdue index. 4: by_claimant
// entries carry ClaimantEntryValue. (Both: projections rebuilt on open.)
// 5: Merkle nodes below kLowestStoredMerkleLevel are computed from the
// events instead of stored, and meta holds kMerkleTail (pruned on open).
// 6: adds the sources family (the source registry's projection; a store of
// an older schema has no source events, so it starts empty).
inline constexpr uint64_t kCurrentSchemaVersion = 6;
inline constexpr uint64_t kOldestMigratableSchemaVersion = 1;

std::string EncodeU64(uint64_t value);

// The sources family's keys.
inline constexpr char kDeskPolicyKey[] = "p";
inline std::string SourceViewKey(absl::string_view source_id) {
  return std::string("s").append(source_id.data(), source_id.size());
}

// Decodes exactly 8 big-endian bytes; nullopt for any other size.
std::optional<uint64_t> DecodeU64(absl::string_view bytes);

inline std::string EventKey(uint64_t position) { return EncodeU64(position); }

// Subtrees of fewer leaves (2^4 = 16) are hashed from their events when
// read: storing them cost two memtable inserts per event, a third of the
// writer's inserts, and most of a proof's nodes are above it.
inline constexpr int kLowestStoredMerkleLevel = 4;

std::string MerkleNodeKey(int level, uint64_t index);
// The prefix of every node key of `level`.
std::string MerkleLevelPrefix(int level);

std::string ClaimEventKey(absl::string_view claim_id, uint64_t version);
// The prefix every claim_events key of `claim_id` starts with.
std::string ClaimEventPrefix(absl::string_view claim_id);

// Secondary index entry: value 0x00 claim_id.
std::string IndexKey(absl::string_view value, absl::string_view claim_id);
// The prefix of every index entry for `value`.
std::string IndexPrefix(absl::string_view value);
// The claim_id part of an index key.
absl::string_view IndexClaimId(absl::string_view key);
// The value part of an index key.
absl::string_view IndexValue(absl::string_view key);

// The value of a by_claimant entry: the claim's subject and the hashes of
// its text's content words (domain::ContentWordHashes), which is all that
// RecordClaim's similar-claims search needs of each earlier claim. Varint
// subject length, the subject, then each hash as 4 little-endian bytes.
std::string ClaimantEntryValue(absl::string_view subject,
                               const std::vector<uint32_t>& word_hashes);
// The parts of a ClaimantEntryValue; false when `value` is not one.
bool DecodeClaimantEntryValue(absl::string_view value,
                              absl::string_view* subject,
                              std::vector<uint32_t>* word_hashes);

// A time as 8 bytes whose byte order is time order: Unix nanoseconds with
// the sign bit flipped, big-endian. Times beyond the int64 nanosecond range
// (years 1677..2262) are clamped to it.
std::string EncodeTime(absl::Time t);
// Decodes exactly 8 bytes; nullopt for any other size.
std::optional<absl::Time> DecodeTime(absl::string_view bytes);

// by_overdue entry: EncodeTime(overdue_at) followed by the claim id (fixed
// width, no separator), so entries sort by (overdue_at, claim_id).
std::string OverdueKey(absl::Time overdue_at, absl::string_view claim_id);
// The parts of an OverdueKey; false when `key` is shorter than 8 bytes.
bool DecodeOverdueKey(absl::string_view key, absl::Time* overdue_at,
                      absl::string_view* claim_id);

}  // namespace factlog::storage::keys

#endif  // FACTLOG_STORAGE_KEYS_H_
