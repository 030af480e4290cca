#ifndef FACTLOG_RPC_AUTH_H_
#define FACTLOG_RPC_AUTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/access.h"
#include "grpcpp/server_context.h"

namespace factlog::rpc {

// Decides who an RPC acts as and whether it may. Without a token store
// (loopback, no --auth-tokens) every call is allowed and acts as the client
// certificate's subject under mTLS, else "anonymous". With one, calls must
// carry `authorization: Bearer <token>`.
class Authorizer {
 public:
  // `tokens` may be null; it must outlive the Authorizer.
  explicit Authorizer(const core::TokenStore* tokens) : tokens_(tokens) {}

  // The acting principal, or UNAUTHENTICATED (no or unknown token) /
  // PERMISSION_DENIED (role too low; the message names both roles).
  absl::StatusOr<std::string> Authorize(const grpc::ServerContextBase& ctx,
                                        core::Role needed,
                                        absl::string_view method) const;
  bool enabled() const { return tokens_ != nullptr; }

 private:
  const core::TokenStore* const tokens_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_AUTH_H_
