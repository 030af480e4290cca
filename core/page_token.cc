#include "core/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace factlog::core {
namespace {

constexpr size_t kMacBytes = 16;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
}

std::string Mac(const std::string& secret, absl::string_view scope,
                absl::string_view last_key) {
  const std::string message = absl::StrCat(scope, "\x1f", last_key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

}  // namespace

std::string EncodePageToken(const std::string& secret, absl::string_view scope,
                            absl::string_view last_key) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(last_key, Mac(secret, scope, last_key)));
}

absl::StatusOr<std::string> DecodePageToken(const std::string& secret,
                                            absl::string_view token,
                                            absl::string_view scope) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kMacBytes) {
    return Invalid("malformed; pass next_page_token unchanged");
  }
  const std::string last_key = raw.substr(0, raw.size() - kMacBytes);
  const std::string expected = Mac(secret, scope, last_key);
  if (CRYPTO_memcmp(expected.data(), raw.data() + last_key.size(), kMacBytes) !=
      0) {
    return Invalid(
        "not issued by this server for these filters; repeat the same filters "
        "or start without a token");
  }
  return last_key;
}

absl::StatusOr<int> PageSize(int requested, int default_size, int max_size,
                             absl::string_view field) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must not be negative"));
  }
  if (requested == 0) return default_size;
  if (requested > max_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: at most %d, got %d", field, max_size, requested));
  }
  return requested;
}

}  // namespace factlog::core
