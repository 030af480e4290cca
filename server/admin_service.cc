#include "server/admin_service.h"

#include "server/grpc_status.h"

namespace factlog::server {

AdminServiceImpl::AdminServiceImpl(const storage::EventStore* store,
                                   const Hub* hub, const Authorizer* authorizer)
    : store_(store), hub_(hub), authorizer_(authorizer) {}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(
    grpc::CallbackServerContext* ctx, const v1::GetStatsRequest*,
    v1::GetStatsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, Role::kAdmin, "GetStats");
  if (!actor.ok()) {
    reactor->Finish(ToGrpcStatus(actor.status()));
    return reactor;
  }
  resp->set_last_position(store_->LastPosition());
  hub_->FillStats(resp);
  resp->set_disk_bytes(store_->ApproximateDiskBytes());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace factlog::server
