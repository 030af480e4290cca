#include "rpc/auth.h"

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
  std::optional<absl::string_view> header;
  if (it != metadata.end()) {
    header = absl::string_view(it->second.data(), it->second.size());
  }
  absl::StatusOr<core::TokenStore::Principal> principal =
      core::AuthenticateBearer(*tokens_, header);
  if (!principal.ok()) return principal.status();
  NotePrincipal(ctx, principal->name);
  if (absl::Status s = core::CheckRole(*principal, needed, method); !s.ok()) {
    return s;
  }
  return principal->name;
}

}  // namespace factlog::rpc
