#include "server/admin_service.h"

#include "server/grpc_status.h"

namespace factlog::server {

AdminServiceImpl::AdminServiceImpl(const storage::EventStore* store,
                                   const Hub* hub, const Authorizer* authorizer,
                                   const ServerMetrics* metrics)
    : store_(store), hub_(hub), authorizer_(authorizer), metrics_(metrics) {}

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
  if (metrics_ != nullptr) metrics_->FillStats(resp);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(
    grpc::CallbackServerContext* ctx, const v1::BackupRequest* req,
    v1::BackupResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, Role::kAdmin, "Backup");
  if (!actor.ok()) {
    reactor->Finish(ToGrpcStatus(actor.status()));
    return reactor;
  }
  if (req->dir().empty()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError("dir: required")));
    return reactor;
  }
  absl::StatusOr<uint64_t> position = store_->Backup(req->dir());
  if (position.ok()) {
    resp->set_dir(req->dir());
    resp->set_last_position(*position);
  }
  reactor->Finish(ToGrpcStatus(position.status()));
  return reactor;
}

}  // namespace factlog::server
