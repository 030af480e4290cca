#ifndef FACTLOG_SERVER_ADMIN_SERVICE_H_
#define FACTLOG_SERVER_ADMIN_SERVICE_H_

#include "factlog/v1/service.grpc.pb.h"
#include "server/hub.h"
#include "storage/event_store.h"

namespace factlog::server {

// factlog.v1.AdminService: operational views of a running server.
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // `store` and `hub` must outlive the service.
  AdminServiceImpl(const storage::EventStore* store, const Hub* hub);

  // Log end, subscribers with their lag, hub memory, bytes on disk.
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::GetStatsResponse* resp) override;

 private:
  const storage::EventStore* const store_;
  const Hub* const hub_;
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_ADMIN_SERVICE_H_
