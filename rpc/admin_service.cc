#include "rpc/admin_service.h"

#include <filesystem>
#include <system_error>

#include "rpc/grpc_status.h"

namespace factlog::rpc {

AdminServiceImpl::AdminServiceImpl(const storage::EventStore* store,
                                   const core::Hub* hub, RpcGate gate,
                                   const core::ServerMetrics* metrics)
    : store_(store), hub_(hub), gate_(gate), metrics_(metrics) {}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(
    grpc::CallbackServerContext* ctx, const v1::GetStatsRequest*,
    v1::GetStatsResponse* resp) {
  auto [call, actor] = gate_.StartUnary(ctx, MethodFor<v1::GetStatsRequest>());
  if (!actor.ok()) return call.reactor();
  resp->set_last_position(store_->LastPosition());
  hub_->FillStats(resp);
  resp->set_disk_bytes(store_->ApproximateDiskBytes());
  if (metrics_ != nullptr) metrics_->FillStats(resp);
  call.Finish(grpc::Status::OK);
  return call.reactor();
}

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(
    grpc::CallbackServerContext* ctx, const v1::BackupRequest* req,
    v1::BackupResponse* resp) {
  auto [call, actor] = gate_.StartUnary(ctx, MethodFor<v1::BackupRequest>());
  if (!actor.ok()) return call.reactor();
  if (req->dir().empty()) {
    call.Finish(ToGrpcStatus(absl::InvalidArgumentError("dir: required")));
    return call.reactor();
  }
  absl::StatusOr<uint64_t> position = store_->Backup(req->dir());
  if (position.ok()) {
    // The path as the server resolved it: a relative `dir` is under
    // factlogd's working directory, which the caller may not know.
    std::error_code error;
    const std::filesystem::path absolute =
        std::filesystem::absolute(req->dir(), error);
    resp->set_dir(error ? req->dir() : absolute.lexically_normal().string());
    resp->set_last_position(*position);
  }
  call.Finish(ToGrpcStatus(position.status()));
  return call.reactor();
}

}  // namespace factlog::rpc
