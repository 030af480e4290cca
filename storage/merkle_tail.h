#ifndef FACTLOG_STORAGE_MERKLE_TAIL_H_
#define FACTLOG_STORAGE_MERKLE_TAIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "domain/merkle.h"

namespace factlog::storage {

// The store keeps the Merkle tree's nodes from keys::kLowestStoredMerkleLevel
// up; a lower node is hashed from its events when read. The newest events,
// in no stored node yet, are vouched for by the tail: the peaks of the tree
// below that level at one size, stored under keys::kMerkleTail with every
// commit. Roots and proofs take those peaks from the tail, never from the
// events, so an event edited in the files after it was appended cannot
// change the current root (and `Verify` finds it).
struct MerkleTail {
  uint64_t size = 0;                // the tree size the peaks are of
  std::vector<merkle::Hash> peaks;  // largest first; one per low bit of size

  // The tail of the tree whose right edge is `frontier`.
  static MerkleTail Of(const merkle::Frontier& frontier);

  // The size (8 bytes, big-endian), then each peak's 32 bytes.
  std::string Encode() const;
  // nullopt unless `bytes` is an Encode()d tail whose peak count fits its
  // size.
  static std::optional<MerkleTail> Decode(absl::string_view bytes);

  // The perfect subtree the peak for bit `level` of `size` stands for:
  // valid when that bit is set and level < kLowestStoredMerkleLevel.
  static merkle::NodeId PeakId(uint64_t size, int level);

  // The hash of `id` when it is one of the peaks; nullopt otherwise.
  std::optional<merkle::Hash> Find(merkle::NodeId id) const;
};

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_MERKLE_TAIL_H_
