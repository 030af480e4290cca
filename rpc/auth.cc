#include "rpc/auth.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "rpc/rpc_observer.h"

namespace factlog::rpc {

absl::StatusOr<std::string> Authorizer::Authorize(
    const grpc::ServerContextBase& ctx, core::Role needed,
    absl::string_view method) const {
  if (tokens_ == nullptr) {
    // mTLS: the verified client certificate names the actor.
    std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
    std::string actor = "anonymous";
    if (auth && auth->IsPeerAuthenticated()) {
      for (const auto& property : auth->FindPropertyValues("x509_subject")) {
        actor.assign(property.data(), property.size());
        break;
      }
    }
    NotePrincipal(ctx, actor);
    return actor;
  }
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing authorization: send \"authorization: Bearer <token>\"");
  }
  absl::string_view header(it->second.data(), it->second.size());
  if (!absl::ConsumePrefix(&header, "Bearer ")) {
    return absl::UnauthenticatedError(
        "authorization: expected \"Bearer <token>\"");
  }
  std::optional<core::TokenStore::Principal> principal =
      tokens_->Authenticate(absl::StripAsciiWhitespace(header));
  if (!principal) {
    return absl::UnauthenticatedError("authorization: unknown token");
  }
  NotePrincipal(ctx, principal->name);
  if (principal->role < needed) {
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: principal \"%s\" has role %s; %s needs %s", method,
                        principal->name, core::RoleName(principal->role),
                        method, core::RoleName(needed)));
  }
  return principal->name;
}

}  // namespace factlog::rpc
