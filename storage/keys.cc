#include "storage/keys.h"

#include "absl/strings/str_cat.h"
#include "common/wire.h"

namespace factlog::storage::keys {

std::string EncodeU64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::optional<uint64_t> DecodeU64(absl::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
  return value;
}

std::string MerkleLevelPrefix(int level) {
  return std::string(1, static_cast<char>(level));
}

std::string MerkleNodeKey(int level, uint64_t index) {
  return absl::StrCat(MerkleLevelPrefix(level), EncodeU64(index));
}

std::string ClaimEventPrefix(absl::string_view claim_id) {
  return absl::StrCat(claim_id, absl::string_view("\0", 1));
}

std::string ClaimEventKey(absl::string_view claim_id, uint64_t version) {
  return absl::StrCat(ClaimEventPrefix(claim_id), EncodeU64(version));
}

std::string IndexPrefix(absl::string_view value) {
  return absl::StrCat(value, absl::string_view("\0", 1));
}

std::string IndexKey(absl::string_view value, absl::string_view claim_id) {
  return absl::StrCat(IndexPrefix(value), claim_id);
}

absl::string_view IndexClaimId(absl::string_view key) {
  const size_t sep = key.find('\0');
  return sep == absl::string_view::npos ? absl::string_view()
                                        : key.substr(sep + 1);
}

absl::string_view IndexValue(absl::string_view key) {
  return key.substr(0, key.find('\0'));
}

std::string ClaimantEntryValue(absl::string_view subject,
                               const std::vector<uint32_t>& word_hashes) {
  std::string value;
  value.reserve(wire::VarintSize(subject.size()) + subject.size() +
                4 * word_hashes.size());
  wire::AppendVarint(subject.size(), &value);
  value.append(subject.data(), subject.size());
  for (uint32_t hash : word_hashes) {
    for (int shift = 0; shift < 32; shift += 8) {
      value.push_back(static_cast<char>((hash >> shift) & 0xff));
    }
  }
  return value;
}

bool DecodeClaimantEntryValue(absl::string_view value,
                              absl::string_view* subject,
                              std::vector<uint32_t>* word_hashes) {
  uint64_t length = 0;
  const char* const after_length =
      wire::ReadVarint(value.data(), value.data() + value.size(),
                       wire::kMaxVarint32Bytes, &length);
  if (after_length == nullptr) return false;
  size_t i = after_length - value.data();
  if (length > value.size() - i || (value.size() - i - length) % 4 != 0) {
    return false;
  }
  *subject = value.substr(i, length);
  word_hashes->clear();
  for (i += length; i < value.size(); i += 4) {
    uint32_t hash = 0;
    for (int k = 0; k < 4; ++k) {
      hash |= static_cast<uint32_t>(static_cast<unsigned char>(value[i + k]))
              << (8 * k);
    }
    word_hashes->push_back(hash);
  }
  return true;
}

std::string EncodeTime(absl::Time t) {
  const int64_t nanos = t <= absl::FromUnixNanos(INT64_MIN) ? INT64_MIN
                        : t >= absl::FromUnixNanos(INT64_MAX)
                            ? INT64_MAX
                            : absl::ToUnixNanos(t);
  return EncodeU64(static_cast<uint64_t>(nanos) ^ (1ULL << 63));
}

std::optional<absl::Time> DecodeTime(absl::string_view bytes) {
  const std::optional<uint64_t> raw = DecodeU64(bytes);
  if (!raw) return std::nullopt;
  return absl::FromUnixNanos(static_cast<int64_t>(*raw ^ (1ULL << 63)));
}

std::string OverdueKey(absl::Time overdue_at, absl::string_view claim_id) {
  return absl::StrCat(EncodeTime(overdue_at), claim_id);
}

bool DecodeOverdueKey(absl::string_view key, absl::Time* overdue_at,
                      absl::string_view* claim_id) {
  if (key.size() < 8) return false;
  *overdue_at = *DecodeTime(key.substr(0, 8));
  *claim_id = key.substr(8);
  return true;
}

}  // namespace factlog::storage::keys
