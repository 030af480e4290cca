#ifndef FACTLOG_SERVER_ADMIN_SERVICE_H_
#define FACTLOG_SERVER_ADMIN_SERVICE_H_

#include "factlog/v1/service.grpc.pb.h"
#include "server/auth.h"
#include "server/hub.h"
#include "storage/event_store.h"

namespace factlog::server {

// factlog.v1.AdminService: operational views of a running server.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // `store`, `hub` and `authorizer` must outlive the service. Every RPC
  // needs the admin role.
  AdminServiceImpl(const storage::EventStore* store, const Hub* hub,
                   const Authorizer* authorizer);

  // Log end, subscribers with their lag, hub memory, bytes on disk.
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::GetStatsResponse* resp) override;
  // A consistent online backup into a new server-side directory.
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx,
                                   const v1::BackupRequest* req,
                                   v1::BackupResponse* resp) override;

 private:
  const storage::EventStore* const store_;
  const Hub* const hub_;
  const Authorizer* const authorizer_;
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_ADMIN_SERVICE_H_
