// The stored tail of the Merkle tree: what vouches for the newest events
// until they fill a stored subtree.
#include "storage/merkle_tail.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "storage/keys.h"

namespace factlog::storage {
namespace {

TEST(MerkleTailTest, HoldsThePeaksBelowTheStoredLevelsAndFindsEachByNode) {
  merkle::Frontier frontier;
  std::vector<std::pair<merkle::NodeId, merkle::Hash>> nodes;
  for (uint64_t size = 0; size <= 40; ++size) {
    if (size > 0) {
      frontier.Append(merkle::LeafHash(std::to_string(size)), &nodes);
    }
    const MerkleTail tail = MerkleTail::Of(frontier);
    ASSERT_EQ(tail.size, size);
    std::optional<MerkleTail> decoded = MerkleTail::Decode(tail.Encode());
    ASSERT_TRUE(decoded.has_value()) << size;
    EXPECT_EQ(decoded->size, size);
    EXPECT_EQ(decoded->peaks, tail.peaks);
    // Each node Append reported is found exactly when it is a peak of the
    // tail: below the stored levels and on the right edge at this size.
    for (const auto& [id, hash] : nodes) {
      const uint64_t first = id.index << id.level;  // leaf index
      const uint64_t end = first + (uint64_t{1} << id.level);
      const bool low_peak = id.level < keys::kLowestStoredMerkleLevel &&
                            (size >> id.level) & 1 &&
                            end == size - size % (uint64_t{1} << id.level);
      const std::optional<merkle::Hash> found = decoded->Find(id);
      EXPECT_EQ(found.has_value(), low_peak)
          << "size " << size << " node " << id.level << "/" << id.index;
      if (found) {
        EXPECT_EQ(*found, hash);
      }
    }
  }
}

TEST(MerkleTailTest, DecodeRefusesWhatIsNotATail) {
  merkle::Frontier frontier;
  std::vector<std::pair<merkle::NodeId, merkle::Hash>> nodes;
  for (int i = 0; i < 3; ++i) frontier.Append(merkle::LeafHash("x"), &nodes);
  const std::string bytes = MerkleTail::Of(frontier).Encode();
  ASSERT_EQ(bytes.size(), 8u + 2 * 32);  // size 3: two peaks
  EXPECT_FALSE(MerkleTail::Decode(bytes.substr(0, 7)).has_value());
  EXPECT_FALSE(MerkleTail::Decode(bytes.substr(0, 8 + 32)).has_value());
  EXPECT_FALSE(MerkleTail::Decode(bytes + std::string(32, 'x')).has_value());
  EXPECT_TRUE(MerkleTail::Decode(bytes).has_value());
}

}  // namespace
}  // namespace factlog::storage
