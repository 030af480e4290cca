#include "storage/merkle_tail.h"

#include "storage/keys.h"

namespace factlog::storage {
namespace {

constexpr int kLevels = keys::kLowestStoredMerkleLevel;

uint64_t LowBits(uint64_t size) {
  return size & ((uint64_t{1} << kLevels) - 1);
}

}  // namespace

MerkleTail MerkleTail::Of(const merkle::Frontier& frontier) {
  return MerkleTail{frontier.size(), frontier.PeaksBelow(kLevels)};
}

std::string MerkleTail::Encode() const {
  std::string bytes = keys::EncodeU64(size);
  for (const merkle::Hash& peak : peaks) {
    bytes.append(reinterpret_cast<const char*>(peak.data()), peak.size());
  }
  return bytes;
}

std::optional<MerkleTail> MerkleTail::Decode(absl::string_view bytes) {
  constexpr size_t kHash = sizeof(merkle::Hash);
  if (bytes.size() < 8) return std::nullopt;
  MerkleTail tail;
  tail.size = *keys::DecodeU64(bytes.substr(0, 8));
  bytes.remove_prefix(8);
  const size_t count =
      static_cast<size_t>(__builtin_popcountll(LowBits(tail.size)));
  if (bytes.size() != count * kHash) return std::nullopt;
  for (size_t i = 0; i < count; ++i) {
    tail.peaks.push_back(
        *merkle::HashFromBytes(bytes.substr(i * kHash, kHash)));
  }
  return tail;
}

merkle::NodeId MerkleTail::PeakId(uint64_t size, int level) {
  return merkle::NodeId{level, (size >> level) - 1};
}

std::optional<merkle::Hash> MerkleTail::Find(merkle::NodeId id) const {
  if (id.level >= kLevels || !((size >> id.level) & 1) ||
      !(PeakId(size, id.level) == id)) {
    return std::nullopt;
  }
  // Peaks are largest first: one for each set bit above id.level.
  const uint64_t above = LowBits(size) >> (id.level + 1);
  const size_t i = static_cast<size_t>(__builtin_popcountll(above));
  if (i >= peaks.size()) return std::nullopt;
  return peaks[i];
}

}  // namespace factlog::storage
