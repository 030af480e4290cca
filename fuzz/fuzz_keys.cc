// Fuzz target: the RocksDB key encoding of storage/keys.h. Arbitrary bytes
// are read as a key, as an encoded integer and as the parts of composite keys;
// nothing may crash and the encoding's promises must hold:
//  - DecodeU64 accepts exactly 8 bytes and EncodeU64 gives them back;
//    DecodeU64(EncodeU64(x)) == x; byte order of encodings is numeric order;
//  - for any key, IndexKey(IndexValue(key), IndexClaimId(key)) == key when
//    the key has a 0x00 separator, and the value is the whole key otherwise;
//  - for a value without 0x00, IndexKey splits back into value and claim id
//    and starts with IndexPrefix(value);
//  - ClaimEventKey(id, v) starts with ClaimEventPrefix(id), carries v in its
//    last 8 bytes, sorts by version within a claim, and no other 0x00-free
//    claim id's keys fall under that prefix.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "storage/keys.h"

namespace factlog::fuzz {
namespace {

namespace keys = storage::keys;

// RocksDB's default comparator: bytewise, as unsigned; -1, 0 or 1.
int Compare(absl::string_view a, absl::string_view b) {
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int CompareU64(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

uint64_t Load64(absl::string_view bytes) {
  uint64_t v = 0;
  if (bytes.empty()) return v;
  std::memcpy(&v, bytes.data(), std::min<size_t>(bytes.size(), 8));
  return v;
}

void CheckU64(absl::string_view bytes) {
  const std::optional<uint64_t> decoded = keys::DecodeU64(bytes);
  FUZZ_CHECK(decoded.has_value() == (bytes.size() == 8),
             absl::StrCat(bytes.size(), " bytes"));
  if (decoded) FUZZ_CHECK(keys::EncodeU64(*decoded) == bytes, "re-encode");
  const uint64_t x = Load64(bytes);
  const std::string encoded = keys::EncodeU64(x);
  FUZZ_CHECK(encoded.size() == 8, "EncodeU64 size");
  FUZZ_CHECK(keys::DecodeU64(encoded) == x, absl::StrCat(x));
  const uint64_t y = Load64(bytes.size() > 8 ? bytes.substr(8) : "");
  FUZZ_CHECK(Compare(encoded, keys::EncodeU64(y)) == CompareU64(x, y),
             absl::StrCat(x, " vs ", y));
}

void CheckIndexKey(absl::string_view key) {
  const absl::string_view value = keys::IndexValue(key);
  const absl::string_view claim_id = keys::IndexClaimId(key);
  if (key.find('\0') == absl::string_view::npos) {
    FUZZ_CHECK(value == key && claim_id.empty(), "key without separator");
    return;
  }
  FUZZ_CHECK(keys::IndexKey(value, claim_id) == key, "split and join");
}

void CheckComposite(absl::string_view value, absl::string_view claim_id,
                    uint64_t version) {
  const std::string index = keys::IndexKey(value, claim_id);
  FUZZ_CHECK(absl::StartsWith(index, keys::IndexPrefix(value)), "prefix");
  FUZZ_CHECK(keys::IndexValue(index) == value, "value");
  FUZZ_CHECK(keys::IndexClaimId(index) == claim_id, "claim id");

  const std::string prefix = keys::ClaimEventPrefix(claim_id);
  const std::string event = keys::ClaimEventKey(claim_id, version);
  FUZZ_CHECK(absl::StartsWith(event, prefix), "event key prefix");
  FUZZ_CHECK(event.size() == prefix.size() + 8, "event key size");
  FUZZ_CHECK(keys::DecodeU64(absl::string_view(event).substr(prefix.size())) ==
                 version,
             "event key version");
  if (version < UINT64_MAX) {
    FUZZ_CHECK(Compare(event, keys::ClaimEventKey(claim_id, version + 1)) < 0,
               "versions sort");
  }
  // Claim ids are 0x00-free: another one's keys never fall under this prefix.
  if (claim_id.find('\0') == absl::string_view::npos &&
      value.find('\0') == absl::string_view::npos && value != claim_id) {
    FUZZ_CHECK(!absl::StartsWith(keys::ClaimEventKey(value, version), prefix),
               "claim prefixes are disjoint");
  }
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  factlog::fuzz::CheckU64(bytes);
  factlog::fuzz::CheckIndexKey(bytes);
  // Split the rest into an index value (up to the first 0x00, so that it is
  // 0x00-free as validated values are), a claim id and a version.
  const size_t sep = bytes.find('\0');
  const absl::string_view value = bytes.substr(0, sep);
  absl::string_view rest = sep == absl::string_view::npos
                               ? absl::string_view()
                               : bytes.substr(sep + 1);
  const uint64_t version = factlog::fuzz::Load64(rest);
  const absl::string_view claim_id =
      rest.substr(std::min<size_t>(8, rest.size()));
  factlog::fuzz::CheckComposite(value, claim_id, version);
  return 0;
}
