// The tamper-evident log: an RFC 6962 / RFC 9162 Merkle tree over every event
// in position order (leaf i is the event at position i+1).
//
//   leaf hash  SHA-256(0x00 || canonical event bytes)
//   node hash  SHA-256(0x01 || left || right)
//   empty tree SHA-256("")
//
// A tree of n leaves is built from the perfect subtrees given by the binary
// decomposition of n, so every node a proof needs is either a perfect,
// aligned subtree (stored once, when its last leaf is appended, and never
// changed) or is computed from O(log n) of them. This file holds the pure
// part: hashing, the append frontier, proof generation over any node reader
// and proof verification. It does no I/O; storage/ keeps the nodes and
// clients verify with the same functions.
#ifndef FACTLOG_DOMAIN_MERKLE_H_
#define FACTLOG_DOMAIN_MERKLE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "factlog/v1/events.pb.h"

namespace factlog::merkle {

using Hash = std::array<uint8_t, 32>;

// The bytes an event is hashed (and stored) as: its deterministic protobuf
// serialization, envelope included. Clients recompute it from the Event
// they received.
std::string CanonicalEventBytes(const v1::Event& event);

Hash LeafHash(absl::string_view leaf_bytes);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyTreeHash();

// Lower-case hex, and its inverse for 32-byte hashes given as raw bytes.
std::string Hex(const Hash& hash);
// INVALID_ARGUMENT unless `bytes` is exactly 32 bytes.
absl::StatusOr<Hash> HashFromBytes(absl::string_view bytes);
inline std::string ToBytes(const Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// A perfect subtree: the 2^level leaves starting at leaf index << level.
struct NodeId {
  int level = 0;
  uint64_t index = 0;
  bool operator==(const NodeId& o) const {
    return level == o.level && index == o.index;
  }
};

// Returns the stored hash of a perfect subtree. Proof generation only asks
// for nodes whose leaves are all inside the tree it was asked about.
using NodeReader = std::function<absl::StatusOr<Hash>(NodeId)>;

// The root of the tree of the first `size` leaves.
absl::StatusOr<Hash> RootHash(uint64_t size, const NodeReader& read);

// The audit path of leaf `leaf_index` in the tree of `size` leaves
// (RFC 6962 §2.1.1), deepest sibling first. OUT_OF_RANGE unless
// leaf_index < size.
absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index,
                                                 uint64_t size,
                                                 const NodeReader& read);

// The proof that the tree of `old_size` leaves is a prefix of the tree of
// `new_size` leaves (RFC 6962 §2.1.2). Empty when old_size is 0 or equals
// new_size. OUT_OF_RANGE when old_size > new_size.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                   uint64_t new_size,
                                                   const NodeReader& read);

// RFC 9162 §2.1.3.2. OK when `proof` leads from `leaf` at `leaf_index` to
// `root` of a tree of `size` leaves; otherwise DATA_LOSS saying what
// failed.
absl::Status VerifyInclusion(uint64_t leaf_index, uint64_t size,
                             const Hash& leaf, const std::vector<Hash>& proof,
                             const Hash& root);

// RFC 9162 §2.1.4.2. OK when the tree with `old_root` of `old_size` leaves
// is a prefix of the tree with `new_root` of `new_size` leaves; otherwise
// DATA_LOSS. A tree of 0 leaves is a prefix of every tree.
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               const std::vector<Hash>& proof);

// The right edge of a growing tree: one hash per perfect subtree of the
// binary decomposition of size(), largest first. Appending a leaf completes
// the leaf node and possibly a chain of parents; those are the nodes to
// store. Copyable and small (at most 64 hashes).
class Frontier {
 public:
  Frontier() = default;

  // The frontier of a stored tree of `size` leaves.
  static absl::StatusOr<Frontier> Load(uint64_t size, const NodeReader& read);

  uint64_t size() const { return size_; }
  Hash Root() const;
  // The peaks of the subtrees of fewer than 2^level leaves, largest first:
  // one for each bit of size() below `level`.
  std::vector<Hash> PeaksBelow(int level) const;

  // Adds a leaf; appends to `completed` every node it completes, the leaf
  // itself first, then its new ancestors bottom-up.
  void Append(const Hash& leaf,
              std::vector<std::pair<NodeId, Hash>>* completed);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> peaks_;
};

}  // namespace factlog::merkle

#endif  // FACTLOG_DOMAIN_MERKLE_H_
