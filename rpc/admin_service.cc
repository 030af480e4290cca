#include "rpc/admin_service.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/grpc_status.h"
#include "storage/backup_path.h"

namespace factlog::rpc {

AdminServiceImpl::AdminServiceImpl(
    const storage::EventStore* store, const core::Hub* hub, RpcGate gate,
    std::string backup_root, const core::ServerMetrics* metrics,
    std::function<absl::StatusOr<v1::ClusterStatus>()> cluster_status)
    : store_(store),
      hub_(hub),
      gate_(gate),
      backup_root_(std::move(backup_root)),
      metrics_(metrics),
      cluster_status_(std::move(cluster_status)) {}

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
  absl::StatusOr<std::string> dir =
      storage::ResolveBackupPath(backup_root_, req->dir());
  if (!dir.ok()) {
    call.Finish(ToGrpcStatus(dir.status()));
    return call.reactor();
  }
  // The backup directory, and those between it and the new backup, are
  // made on first use (inside it: ResolveBackupPath checked the way).
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(*dir).parent_path(),
                                      ec);
  if (ec) {
    call.Finish(ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("dir: cannot create the directories that hold ", *dir,
                     ": ", ec.message()))));
    return call.reactor();
  }
  absl::StatusOr<uint64_t> position = store_->Backup(*dir);
  if (position.ok()) {
    resp->set_dir(*dir);
    resp->set_last_position(*position);
  }
  call.Finish(ToGrpcStatus(position.status()));
  return call.reactor();
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetClusterStatus(
    grpc::CallbackServerContext* ctx, const v1::GetClusterStatusRequest*,
    v1::ClusterStatus* resp) {
  auto [call, actor] =
      gate_.StartUnary(ctx, MethodFor<v1::GetClusterStatusRequest>());
  if (!actor.ok()) return call.reactor();
  if (!cluster_status_) {
    call.Finish(ToGrpcStatus(absl::FailedPreconditionError(
        "this factlogd runs single-node (no --etcd-endpoints): there is no "
        "cluster")));
    return call.reactor();
  }
  absl::StatusOr<v1::ClusterStatus> status = cluster_status_();
  if (status.ok()) *resp = *std::move(status);
  call.Finish(ToGrpcStatus(status.status()));
  return call.reactor();
}

}  // namespace factlog::rpc
