#ifndef FACTLOG_RPC_ADMIN_SERVICE_H_
#define FACTLOG_RPC_ADMIN_SERVICE_H_

#include <functional>
#include <string>

#include "core/hub.h"
#include "core/server_metrics.h"
#include "factlog/v1/service.grpc.pb.h"
#include "rpc/auth.h"
#include "rpc/rpc_gate.h"
#include "storage/event_store.h"

namespace factlog::rpc {

// factlog.v1.AdminService: operational views of a running server.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // `store`, `hub`, `metrics` and what `gate` refers to must outlive the
  // service; `metrics` may be null (GetStats then leaves its counters at
  // 0). Backups are written only below `backup_root` (absolute; factlogd's
  // --backup-dir). Every RPC needs the admin role.
  // `cluster_status` answers GetClusterStatus (replicated mode; it must
  // not block); empty: FAILED_PRECONDITION (single-node).
  AdminServiceImpl(
      const storage::EventStore* store, const core::Hub* hub, RpcGate gate,
      std::string backup_root, const core::ServerMetrics* metrics = nullptr,
      std::function<absl::StatusOr<v1::ClusterStatus>()> cluster_status = {});

  // Log end, subscribers with their lag, hub memory, bytes on disk, and the
  // numbers /metrics shows: commands, events by type, rejections by code,
  // commit latency, RocksDB compaction and stalls, resident memory.
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::GetStatsResponse* resp) override;
  // A consistent online backup into a new directory below the backup
  // root: BackupRequest.dir relative to it, or absolute inside it
  // (storage/backup_path.h says what is refused, with which code). Answers
  // the absolute path written.
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx,
                                   const v1::BackupRequest* req,
                                   v1::BackupResponse* resp) override;
  // The replicated cluster's nodes, leader, applied positions and lags.
  grpc::ServerUnaryReactor* GetClusterStatus(
      grpc::CallbackServerContext* ctx, const v1::GetClusterStatusRequest* req,
      v1::ClusterStatus* resp) override;

 private:
  const storage::EventStore* const store_;
  const core::Hub* const hub_;
  const RpcGate gate_;
  const std::string backup_root_;
  const core::ServerMetrics* const metrics_;
  const std::function<absl::StatusOr<v1::ClusterStatus>()> cluster_status_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_ADMIN_SERVICE_H_
