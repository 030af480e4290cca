#include "http/http_auth.h"

namespace factlog::http {

absl::StatusOr<std::string> Authorize(const HttpExchange& exchange,
                                      const core::TokenStore* tokens,
                                      core::Role needed,
                                      absl::string_view method) {
  if (tokens == nullptr) return std::string("anonymous");
  absl::StatusOr<core::TokenStore::Principal> principal =
      core::AuthenticateBearer(*tokens, exchange.header("Authorization"));
  if (!principal.ok()) return principal.status();
  if (absl::Status s = core::CheckRole(*principal, needed, method); !s.ok()) {
    return s;
  }
  return principal->name;
}

}  // namespace factlog::http
