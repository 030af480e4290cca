// Fuzz target: page tokens (core/page_token.h), the one part of a query
// request that carries server-made state back. The first byte is the length
// of the scope, those bytes are the scope (the listing's filters), the rest is
// read both as a token from a client and as a last key to issue a token for.
// Checked:
//  - decoding any token never crashes; it is accepted only when empty (no
//    key) or when its bytes are exactly those EncodePageToken makes for the
//    key it yields; a refusal is INVALID_ARGUMENT naming page_token;
//  - an issued token decodes to its key, is web-safe base64, and is refused
//    for another scope, under another secret, with any bit flipped or with a
//    byte cut off.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "core/page_token.h"
#include "fuzz/fuzz_check.h"

namespace factlog::fuzz {
namespace {

using core::DecodePageToken;
using core::EncodePageToken;

// Stands in for the store's 32 random bytes.
const std::string& Secret() {
  static const std::string* const secret = [] {
    auto* s = new std::string;
    for (int i = 0; i < 32; ++i) s->push_back(static_cast<char>(0xa5 ^ i));
    return s;
  }();
  return *secret;
}

void CheckRefused(const absl::StatusOr<std::string>& decoded,
                  const std::string& what) {
  FUZZ_CHECK(!decoded.ok(), what);
  FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument,
             decoded.status().ToString());
  FUZZ_CHECK(absl::StartsWith(decoded.status().message(), "page_token: "),
             decoded.status().ToString());
}

std::string Unescaped(absl::string_view token) {
  std::string raw;
  FUZZ_CHECK(absl::WebSafeBase64Unescape(token, &raw), "unescape");
  return raw;
}

void CheckClientToken(absl::string_view scope, absl::string_view token) {
  const absl::StatusOr<std::string> decoded =
      DecodePageToken(Secret(), token, scope);
  if (!decoded.ok()) {
    CheckRefused(decoded, "");
    return;
  }
  if (token.empty()) {
    FUZZ_CHECK(decoded->empty(), "an empty token starts at the beginning");
    return;
  }
  FUZZ_CHECK(
      Unescaped(token) == Unescaped(EncodePageToken(Secret(), scope, *decoded)),
      "accepted a token this server did not make");
}

// `flip` picks the bit of the raw token to flip.
void CheckIssuedToken(absl::string_view scope, absl::string_view key,
                      size_t flip) {
  const std::string token = EncodePageToken(Secret(), scope, key);
  for (char c : token) {
    FUZZ_CHECK(absl::ascii_isalnum(c) || c == '-' || c == '_',
               "not web-safe base64: " + token);
  }
  const absl::StatusOr<std::string> decoded =
      DecodePageToken(Secret(), token, scope);
  FUZZ_CHECK(decoded.ok() && *decoded == key, "round trip: " + token);

  CheckRefused(DecodePageToken(Secret(), token, std::string(scope) + "x"),
               "another scope");
  CheckRefused(DecodePageToken(Secret() + "x", token, scope), "another secret");
  std::string raw = Unescaped(token);
  std::string flipped = raw;
  flipped[(flip / 8) % flipped.size()] ^= static_cast<char>(1 << (flip % 8));
  CheckRefused(
      DecodePageToken(Secret(), absl::WebSafeBase64Escape(flipped), scope),
      "a flipped bit");
  raw.pop_back();
  CheckRefused(DecodePageToken(Secret(), absl::WebSafeBase64Escape(raw), scope),
               "a cut token");
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const absl::string_view scope = rest.substr(0, data[0]);
  rest.remove_prefix(scope.size());
  factlog::fuzz::CheckClientToken(scope, rest);
  const size_t flip = size_t{data[size - 1]} * 8 + data[0] % 8;
  factlog::fuzz::CheckIssuedToken(scope, rest, flip);
  return 0;
}
