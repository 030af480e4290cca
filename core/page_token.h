#ifndef FACTLOG_CORE_PAGE_TOKEN_H_
#define FACTLOG_CORE_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Page tokens of the paged queries (ListClaims, ListSubjects): web-safe
// base64 of the last key returned followed by 16 bytes of
// HMAC-SHA256(secret, scope 0x1f last key). The scope names the request's
// filters, so a token only works for the listing that issued it, and a forged
// or altered token is refused instead of starting a scan at an arbitrary key.
// Pure functions; thread-safe.
namespace factlog::core {

// The token that resumes the listing named `scope` after `last_key`.
std::string EncodePageToken(const std::string& secret, absl::string_view scope,
                            absl::string_view last_key);

// The last key carried by `token`: "" for an empty token (start at the
// beginning), else the key EncodePageToken(secret, scope, key) was given.
// INVALID_ARGUMENT naming "page_token" when the token is not base64, too
// short, or was not issued with this secret for this scope.
absl::StatusOr<std::string> DecodePageToken(const std::string& secret,
                                            absl::string_view token,
                                            absl::string_view scope);

// The page size a listing serves: `default_size` for 0, `requested` up to
// `max_size`; INVALID_ARGUMENT naming `field` when negative or above it.
absl::StatusOr<int> PageSize(int requested, int default_size, int max_size,
                             absl::string_view field = "page_size");

}  // namespace factlog::core

#endif  // FACTLOG_CORE_PAGE_TOKEN_H_
