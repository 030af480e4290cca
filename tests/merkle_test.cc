// The Merkle tree functions against RFC 6962's definitions: a direct
// recursive MTH over the leaves (independent of the frontier and the node
// store), the Certificate Transparency reference roots, and exhaustive
// proofs for every tree of 1..300 leaves.
#include "domain/merkle.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace factlog::merkle {
namespace {

using ::testing::HasSubstr;

// MTH(D[n]) exactly as RFC 6962 §2.1 defines it.
Hash ReferenceRoot(const std::vector<std::string>& leaves, size_t begin,
                   size_t end) {
  const size_t n = end - begin;
  if (n == 0) return EmptyTreeHash();
  if (n == 1) return LeafHash(leaves[begin]);
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return NodeHash(ReferenceRoot(leaves, begin, begin + k),
                  ReferenceRoot(leaves, begin + k, end));
}

// A tree kept the way the store keeps it: every node Frontier::Append
// reports, in a map.
class MemoryTree {
 public:
  void Append(absl::string_view leaf_bytes) {
    std::vector<std::pair<NodeId, Hash>> completed;
    frontier_.Append(LeafHash(leaf_bytes), &completed);
    for (const auto& [id, hash] : completed) {
      nodes_[{id.level, id.index}] = hash;
    }
  }
  NodeReader Reader() const {
    return [this](NodeId id) -> absl::StatusOr<Hash> {
      auto it = nodes_.find({id.level, id.index});
      if (it == nodes_.end()) return absl::NotFoundError("no such node");
      return it->second;
    };
  }
  const Frontier& frontier() const { return frontier_; }

 private:
  Frontier frontier_;
  std::map<std::pair<int, uint64_t>, Hash> nodes_;
};

std::vector<std::string> Leaves(size_t n) {
  std::vector<std::string> leaves;
  for (size_t i = 0; i < n; ++i) leaves.push_back("event " + std::to_string(i));
  return leaves;
}

TEST(MerkleTest, MatchesCertificateTransparencyReferenceRoots) {
  // The leaf inputs and roots of RFC 6962's reference implementation tests.
  const std::vector<std::string> leaves = {
      "",
      std::string("\x00", 1),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  const char* roots[] = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  EXPECT_EQ(Hex(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  MemoryTree tree;
  for (size_t i = 0; i < leaves.size(); ++i) {
    tree.Append(leaves[i]);
    EXPECT_EQ(Hex(tree.frontier().Root()), roots[i]) << "size " << i + 1;
    EXPECT_EQ(Hex(*RootHash(i + 1, tree.Reader())), roots[i]);
  }
}

// Known answers for proofs: the inclusion and consistency proofs of the
// Certificate Transparency reference tests (RFC 6962's, as kept in
// transparency-dev/merkle's proof tests) over the eight leaves above. A proof
// encoding wrong in the same way on the server and in the client (order of
// the path, which sibling is sent) would pass every round-trip test below;
// it cannot pass these.
struct ProofVector {
  uint64_t first;  // inclusion: the leaf (1-based); consistency: old size
  uint64_t size;   // the (new) tree size
  std::vector<const char*> proof;
};

const std::vector<std::string>& ReferenceLeaves() {
  static const auto* leaves = new std::vector<std::string>{
      "",
      std::string("\x00", 1),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  return *leaves;
}

Hash FromHex(const char* hex) {
  std::string bytes;
  for (size_t i = 0; hex[i] != '\0'; i += 2) {
    bytes.push_back(
        static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  }
  absl::StatusOr<Hash> hash = HashFromBytes(bytes);
  EXPECT_TRUE(hash.ok()) << hex;
  return hash.ok() ? *hash : Hash{};
}

std::vector<std::string> HexAll(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& h : hashes) out.push_back(Hex(h));
  return out;
}

TEST(MerkleTest, InclusionProofsMatchCertificateTransparencyVectors) {
  const std::vector<ProofVector> vectors = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {3,
       3,
       {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {2,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  MemoryTree tree;
  for (const std::string& leaf : ReferenceLeaves()) tree.Append(leaf);
  for (const ProofVector& v : vectors) {
    SCOPED_TRACE(absl::StrCat("leaf ", v.first, " of ", v.size));
    std::vector<Hash> expected;
    for (const char* hex : v.proof) expected.push_back(FromHex(hex));
    // The server's proofs are the reference's, hash for hash, in order.
    absl::StatusOr<std::vector<Hash>> proof =
        InclusionProof(v.first - 1, v.size, tree.Reader());
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(HexAll(*proof), HexAll(expected));
    // The client accepts the reference's proofs against the reference root.
    const Hash root = ReferenceRoot(ReferenceLeaves(), 0, v.size);
    const Hash leaf = LeafHash(ReferenceLeaves()[v.first - 1]);
    EXPECT_TRUE(
        VerifyInclusion(v.first - 1, v.size, leaf, expected, root).ok());
    // And refuses them for a neighbouring leaf, or reversed.
    if (v.size > 1) {
      const uint64_t other = v.first == 1 ? 1 : v.first - 2;
      EXPECT_FALSE(VerifyInclusion(other, v.size, leaf, expected, root).ok());
    }
    if (expected.size() > 1) {
      std::vector<Hash> reversed(expected.rbegin(), expected.rend());
      EXPECT_FALSE(
          VerifyInclusion(v.first - 1, v.size, leaf, reversed, root).ok());
    }
  }
}

TEST(MerkleTest, ConsistencyProofsMatchCertificateTransparencyVectors) {
  const std::vector<ProofVector> vectors = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {6,
       7,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  MemoryTree tree;
  for (const std::string& leaf : ReferenceLeaves()) tree.Append(leaf);
  for (const ProofVector& v : vectors) {
    SCOPED_TRACE(absl::StrCat(v.first, " -> ", v.size));
    std::vector<Hash> expected;
    for (const char* hex : v.proof) expected.push_back(FromHex(hex));
    absl::StatusOr<std::vector<Hash>> proof =
        ConsistencyProof(v.first, v.size, tree.Reader());
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(HexAll(*proof), HexAll(expected));
    const Hash old_root = ReferenceRoot(ReferenceLeaves(), 0, v.first);
    const Hash new_root = ReferenceRoot(ReferenceLeaves(), 0, v.size);
    EXPECT_TRUE(
        VerifyConsistency(v.first, v.size, old_root, new_root, expected).ok());
    if (!expected.empty()) {
      EXPECT_FALSE(
          VerifyConsistency(v.first, v.size, new_root, old_root, expected)
              .ok());
      std::vector<Hash> truncated(expected.begin(), expected.end() - 1);
      EXPECT_FALSE(
          VerifyConsistency(v.first, v.size, old_root, new_root, truncated)
              .ok());
    }
  }
}

TEST(MerkleTest, RootsAndFrontiersAgreeWithTheDefinitionUpTo300Leaves) {
  const std::vector<std::string> leaves = Leaves(300);
  MemoryTree tree;
  EXPECT_EQ(*RootHash(0, tree.Reader()), EmptyTreeHash());
  for (size_t n = 1; n <= leaves.size(); ++n) {
    tree.Append(leaves[n - 1]);
    const Hash want = ReferenceRoot(leaves, 0, n);
    ASSERT_EQ(tree.frontier().Root(), want) << n;
    ASSERT_EQ(*RootHash(n, tree.Reader()), want) << n;
    // Every earlier size is still answerable from the stored nodes.
    const size_t earlier = n / 2;
    ASSERT_EQ(*RootHash(earlier, tree.Reader()),
              ReferenceRoot(leaves, 0, earlier));
  }
}

TEST(MerkleTest, LoadedFrontierContinuesLikeTheLiveOne) {
  const std::vector<std::string> leaves = Leaves(70);
  MemoryTree tree;
  for (size_t n = 0; n < 40; ++n) tree.Append(leaves[n]);
  for (uint64_t size = 0; size <= 40; ++size) {
    absl::StatusOr<Frontier> loaded = Frontier::Load(size, tree.Reader());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->size(), size);
    EXPECT_EQ(loaded->Root(), ReferenceRoot(leaves, 0, size));
    std::vector<std::pair<NodeId, Hash>> completed;
    for (size_t n = size; n < leaves.size(); ++n) {
      loaded->Append(LeafHash(leaves[n]), &completed);
    }
    EXPECT_EQ(loaded->Root(), ReferenceRoot(leaves, 0, leaves.size()));
  }
}

TEST(MerkleTest, PeaksBelowALevelCoverTheNewestLeaves) {
  const std::vector<std::string> leaves = Leaves(100);
  MemoryTree tree;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    if (n > 0) tree.Append(leaves[n - 1]);
    for (int level : {0, 1, 4, 63}) {
      const std::vector<Hash> peaks = tree.frontier().PeaksBelow(level);
      // The subtrees the low bits of n stand for, in leaf order: the last
      // (n mod 2^level) leaves, largest subtree first.
      size_t begin = level == 63 ? 0 : n - n % (size_t{1} << level);
      std::vector<Hash> want;
      for (int bit = std::min(level, 62) - 1; bit >= 0; --bit) {
        const size_t width = size_t{1} << bit;
        if (!(n & width)) continue;
        want.push_back(ReferenceRoot(leaves, begin, begin + width));
        begin += width;
      }
      ASSERT_EQ(peaks, want) << "n " << n << " level " << level;
    }
  }
}

TEST(MerkleTest, AppendReportsEachNodeOnceWhenItCompletes) {
  Frontier f;
  std::vector<std::pair<NodeId, Hash>> completed;
  for (int i = 0; i < 8; ++i) f.Append(LeafHash(std::to_string(i)), &completed);
  // 8 leaves, 4 + 2 + 1 parents.
  ASSERT_EQ(completed.size(), 15u);
  EXPECT_EQ(completed.back().first, (NodeId{3, 0}));
  EXPECT_EQ(completed.back().second, f.Root());
}

TEST(MerkleTest, EveryInclusionProofVerifiesUpTo300Leaves) {
  const std::vector<std::string> leaves = Leaves(300);
  MemoryTree tree;
  for (const std::string& leaf : leaves) tree.Append(leaf);
  for (uint64_t size = 1; size <= leaves.size(); ++size) {
    const Hash root = ReferenceRoot(leaves, 0, size);
    const Hash smaller_root = ReferenceRoot(leaves, 0, size - 1);
    for (uint64_t i = 0; i < size; ++i) {
      absl::StatusOr<std::vector<Hash>> proof =
          InclusionProof(i, size, tree.Reader());
      ASSERT_TRUE(proof.ok()) << proof.status();
      const Hash leaf = LeafHash(leaves[i]);
      ASSERT_TRUE(VerifyInclusion(i, size, leaf, *proof, root).ok())
          << "leaf " << i << " size " << size;
      // A different leaf, index or size does not verify.
      ASSERT_FALSE(
          VerifyInclusion(i, size, LeafHash("forged"), *proof, root).ok());
      if (size > 1) {
        ASSERT_FALSE(
            VerifyInclusion((i + 1) % size, size, leaf, *proof, root).ok());
      }
      // Nor against the root of another size (a head binds root to size).
      ASSERT_FALSE(VerifyInclusion(i, size, leaf, *proof, smaller_root).ok());
    }
  }
}

TEST(MerkleTest, TamperedInclusionProofsFail) {
  const std::vector<std::string> leaves = Leaves(13);
  MemoryTree tree;
  for (const std::string& leaf : leaves) tree.Append(leaf);
  const Hash root = ReferenceRoot(leaves, 0, 13);
  std::vector<Hash> proof = *InclusionProof(5, 13, tree.Reader());
  ASSERT_FALSE(proof.empty());
  const Hash leaf = LeafHash(leaves[5]);
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<Hash> bad = proof;
    bad[i][0] ^= 1;
    EXPECT_FALSE(VerifyInclusion(5, 13, leaf, bad, root).ok()) << i;
  }
  std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
  EXPECT_THAT(VerifyInclusion(5, 13, leaf, shorter, root).message(),
              HasSubstr("shorter"));
  std::vector<Hash> longer = proof;
  longer.push_back(root);
  EXPECT_THAT(VerifyInclusion(5, 13, leaf, longer, root).message(),
              HasSubstr("longer"));
  EXPECT_EQ(InclusionProof(13, 13, tree.Reader()).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(MerkleTest, EveryConsistencyProofVerifiesUpTo300Leaves) {
  const std::vector<std::string> leaves = Leaves(300);
  MemoryTree tree;
  for (const std::string& leaf : leaves) tree.Append(leaf);
  std::vector<Hash> roots;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    roots.push_back(ReferenceRoot(leaves, 0, n));
  }
  for (uint64_t n = 0; n <= leaves.size(); ++n) {
    for (uint64_t m = 0; m <= n; ++m) {
      absl::StatusOr<std::vector<Hash>> proof =
          ConsistencyProof(m, n, tree.Reader());
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], *proof).ok())
          << m << " -> " << n;
      if (m > 0 && m < n) {
        // A rewritten old tree, or a proof for other sizes, is caught.
        ASSERT_FALSE(
            VerifyConsistency(m, n, roots[m - 1], roots[n], *proof).ok());
        ASSERT_FALSE(
            VerifyConsistency(m, n, roots[m], roots[n - 1], *proof).ok());
        std::vector<Hash> bad = *proof;
        bad.front()[7] ^= 0x80;
        ASSERT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad).ok());
      }
    }
  }
}

TEST(MerkleTest, ConsistencyRejectsShrinkingAndForkedTrees) {
  const std::vector<std::string> leaves = Leaves(10);
  MemoryTree tree;
  for (const std::string& leaf : leaves) tree.Append(leaf);
  EXPECT_EQ(ConsistencyProof(5, 4, tree.Reader()).status().code(),
            absl::StatusCode::kOutOfRange);
  const Hash r10 = ReferenceRoot(leaves, 0, 10);
  EXPECT_FALSE(VerifyConsistency(10, 10, r10, LeafHash("x"), {}).ok());
  EXPECT_FALSE(VerifyConsistency(10, 4, r10, r10, {}).ok());

  // A log that rewrote leaf 2 cannot prove it extends the old head.
  std::vector<std::string> forked = leaves;
  forked[2] = "rewritten";
  MemoryTree fork;
  for (const std::string& leaf : forked) fork.Append(leaf);
  const Hash old_root = ReferenceRoot(leaves, 0, 6);
  std::vector<Hash> proof = *ConsistencyProof(6, 10, fork.Reader());
  EXPECT_THAT(
      VerifyConsistency(6, 10, old_root, ReferenceRoot(forked, 0, 10), proof)
          .message(),
      HasSubstr("old root"));
}

TEST(MerkleTest, CanonicalEventBytesRoundTrip) {
  v1::Event event;
  event.set_position(42);
  event.set_claim_id("c-42");
  event.set_version(3);
  event.mutable_evidence_added()->set_note("NATO sees no sign of withdrawal");
  const std::string bytes = CanonicalEventBytes(event);
  v1::Event parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(CanonicalEventBytes(parsed), bytes);
  EXPECT_EQ(LeafHash(CanonicalEventBytes(parsed)), LeafHash(bytes));
}

TEST(MerkleTest, HashFromBytesNeeds32Bytes) {
  EXPECT_EQ(HashFromBytes("short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(HashFromBytes(std::string(32, 'x')).ok());
}

}  // namespace
}  // namespace factlog::merkle
