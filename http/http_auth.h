#ifndef FACTLOG_HTTP_HTTP_AUTH_H_
#define FACTLOG_HTTP_HTTP_AUTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/access.h"
#include "http/http_server.h"

namespace factlog::http {

// Who an HTTP request acts as, by the rules gRPC calls follow (core/access.h;
// rpc/auth.h): without `tokens`, "anonymous" (the web view asks for no
// client certificates, even with TLS); with them, the principal of the
// request's "Authorization: Bearer <token>" header, which must hold `needed`
// for `method` (the RPC's name, for messages). UNAUTHENTICATED or
// PERMISSION_DENIED as core::AuthenticateBearer and core::CheckRole say.
// No cookies are read: a page sends its token itself, so no other site can
// make a browser act with it. `tokens` may be null.
absl::StatusOr<std::string> Authorize(const HttpExchange& exchange,
                                      const core::TokenStore* tokens,
                                      core::Role needed,
                                      absl::string_view method);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_HTTP_AUTH_H_
