#include "domain/merkle.h"

#include <openssl/evp.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace factlog::merkle {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// SHA-256 over `prefix` followed by each part.
Hash Sha256(std::initializer_list<absl::string_view> parts,
            const uint8_t* prefix) {
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, Free> ctx(EVP_MD_CTX_new());
  // Fetched once: EVP_sha256() in DigestInit costs an implicit fetch (about
  // a third of a leaf hash) on every call under OpenSSL 3.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Hash out;
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), sha256, nullptr);
  if (prefix != nullptr) EVP_DigestUpdate(ctx.get(), prefix, 1);
  for (absl::string_view p : parts)
    EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

absl::string_view View(const Hash& h) {
  return absl::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

// The largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) {
  int level = 0;
  while (n > 1) {
    n >>= 1;
    ++level;
  }
  return level;
}

// MTH(D[begin:end]). `begin` is always a multiple of a power of two at
// least end - begin (the recursion of RFC 6962 keeps it so), so the left
// part of every split is a stored perfect subtree and only the right edge
// recurses: O(log n) node reads.
absl::StatusOr<Hash> SubtreeHash(uint64_t begin, uint64_t end,
                                 const NodeReader& read) {
  const uint64_t n = end - begin;
  if (IsPowerOfTwo(n)) {
    const int level = Log2(n);
    return read(NodeId{level, begin >> level});
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> left = SubtreeHash(begin, begin + k, read);
  if (!left.ok()) return left.status();
  absl::StatusOr<Hash> right = SubtreeHash(begin + k, end, read);
  if (!right.ok()) return right.status();
  return NodeHash(*left, *right);
}

absl::Status AuditPath(uint64_t m, uint64_t begin, uint64_t end,
                       const NodeReader& read, std::vector<Hash>* path) {
  const uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  if (m < k) {
    if (auto s = AuditPath(m, begin, begin + k, read, path); !s.ok()) return s;
    sibling = SubtreeHash(begin + k, end, read);
  } else {
    if (auto s = AuditPath(m - k, begin + k, end, read, path); !s.ok())
      return s;
    sibling = SubtreeHash(begin, begin + k, read);
  }
  if (!sibling.ok()) return sibling.status();
  path->push_back(*sibling);
  return absl::OkStatus();
}

// SUBPROOF(m, D[begin:end], b) of RFC 6962 §2.1.2.
absl::Status SubProof(uint64_t m, uint64_t begin, uint64_t end,
                      bool complete_subtree, const NodeReader& read,
                      std::vector<Hash>* proof) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (complete_subtree) return absl::OkStatus();
    absl::StatusOr<Hash> h = SubtreeHash(begin, end, read);
    if (!h.ok()) return h.status();
    proof->push_back(*h);
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  if (m <= k) {
    if (auto s = SubProof(m, begin, begin + k, complete_subtree, read, proof);
        !s.ok()) {
      return s;
    }
    sibling = SubtreeHash(begin + k, end, read);
  } else {
    if (auto s = SubProof(m - k, begin + k, end, false, read, proof); !s.ok())
      return s;
    sibling = SubtreeHash(begin, begin + k, read);
  }
  if (!sibling.ok()) return sibling.status();
  proof->push_back(*sibling);
  return absl::OkStatus();
}

}  // namespace

std::string CanonicalEventBytes(const v1::Event& event) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    event.SerializeToCodedStream(&coded);
  }
  return bytes;
}

Hash LeafHash(absl::string_view leaf_bytes) {
  return Sha256({leaf_bytes}, &kLeafPrefix);
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256({View(left), View(right)}, &kNodePrefix);
}

Hash EmptyTreeHash() { return Sha256({}, nullptr); }

std::string Hex(const Hash& hash) { return absl::BytesToHexString(View(hash)); }

absl::StatusOr<Hash> HashFromBytes(absl::string_view bytes) {
  Hash h;
  if (bytes.size() != h.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a hash is 32 bytes, got %d", static_cast<int>(bytes.size())));
  }
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

absl::StatusOr<Hash> RootHash(uint64_t size, const NodeReader& read) {
  if (size == 0) return EmptyTreeHash();
  return SubtreeHash(0, size, read);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t leaf_index,
                                                 uint64_t size,
                                                 const NodeReader& read) {
  if (leaf_index >= size) {
    return absl::OutOfRangeError(absl::StrFormat(
        "leaf %d is not in a tree of %d leaves", leaf_index, size));
  }
  std::vector<Hash> path;
  if (auto s = AuditPath(leaf_index, 0, size, read, &path); !s.ok()) return s;
  return path;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                   uint64_t new_size,
                                                   const NodeReader& read) {
  if (old_size > new_size) {
    return absl::OutOfRangeError(
        absl::StrFormat("a tree of %d leaves cannot be a prefix of one of %d",
                        old_size, new_size));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  if (auto s = SubProof(old_size, 0, new_size, true, read, &proof); !s.ok())
    return s;
  return proof;
}

absl::Status VerifyInclusion(uint64_t leaf_index, uint64_t size,
                             const Hash& leaf, const std::vector<Hash>& proof,
                             const Hash& root) {
  if (leaf_index >= size) {
    return absl::DataLossError(absl::StrFormat(
        "leaf %d is not in a tree of %d leaves", leaf_index, size));
  }
  uint64_t fn = leaf_index;
  uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) {
      return absl::DataLossError("inclusion proof is longer than the tree");
    }
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::DataLossError("inclusion proof is shorter than the tree");
  }
  if (r != root) {
    return absl::DataLossError(absl::StrFormat(
        "inclusion proof leads to root %s, not %s", Hex(r), Hex(root)));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               const std::vector<Hash>& proof) {
  if (old_size > new_size) {
    return absl::DataLossError(absl::StrFormat(
        "the new tree (%d leaves) is smaller than the old one (%d)", new_size,
        old_size));
  }
  if (old_size == 0) {
    if (!proof.empty()) {
      return absl::DataLossError(
          "consistency proof from an empty tree must be empty");
    }
    return absl::OkStatus();
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return absl::DataLossError(
          "consistency proof between equal sizes must be empty");
    }
    if (old_root != new_root) {
      return absl::DataLossError(absl::StrFormat(
          "two different roots for a tree of %d leaves: %s and %s", old_size,
          Hex(old_root), Hex(new_root)));
    }
    return absl::OkStatus();
  }
  if (proof.empty()) return absl::DataLossError("consistency proof is empty");
  std::vector<Hash> path;
  if (IsPowerOfTwo(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) {
      return absl::DataLossError("consistency proof is longer than the tree");
    }
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::DataLossError("consistency proof is shorter than the tree");
  }
  if (fr != old_root) {
    return absl::DataLossError(absl::StrFormat(
        "the proof does not lead to the old root %s (got %s): history before "
        "leaf %d was changed",
        Hex(old_root), Hex(fr), old_size));
  }
  if (sr != new_root) {
    return absl::DataLossError(
        absl::StrFormat("the proof does not lead to the new root %s (got %s)",
                        Hex(new_root), Hex(sr)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Frontier> Frontier::Load(uint64_t size, const NodeReader& read) {
  Frontier f;
  f.size_ = size;
  uint64_t offset = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if (!(size & width)) continue;
    absl::StatusOr<Hash> h = read(NodeId{level, offset >> level});
    if (!h.ok()) return h.status();
    f.peaks_.push_back(*h);
    offset += width;
  }
  return f;
}

Hash Frontier::Root() const {
  if (peaks_.empty()) return EmptyTreeHash();
  Hash h = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) h = NodeHash(peaks_[i], h);
  return h;
}

std::vector<Hash> Frontier::PeaksBelow(int level) const {
  const uint64_t low_bits = size_ & ((uint64_t{1} << level) - 1);
  const size_t n = static_cast<size_t>(__builtin_popcountll(low_bits));
  return std::vector<Hash>(peaks_.end() - n, peaks_.end());
}

void Frontier::Append(const Hash& leaf,
                      std::vector<std::pair<NodeId, Hash>>* completed) {
  uint64_t index = size_;
  int level = 0;
  completed->emplace_back(NodeId{0, index}, leaf);
  peaks_.push_back(leaf);
  while (index & 1) {
    Hash parent = NodeHash(peaks_[peaks_.size() - 2], peaks_.back());
    peaks_.pop_back();
    peaks_.back() = parent;
    index >>= 1;
    ++level;
    completed->emplace_back(NodeId{level, index}, parent);
  }
  ++size_;
}

}  // namespace factlog::merkle
