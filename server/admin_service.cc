#include "server/admin_service.h"

namespace factlog::server {

AdminServiceImpl::AdminServiceImpl(const storage::EventStore* store,
                                   const Hub* hub)
    : store_(store), hub_(hub) {}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(
    grpc::CallbackServerContext* ctx, const v1::GetStatsRequest*,
    v1::GetStatsResponse* resp) {
  resp->set_last_position(store_->LastPosition());
  hub_->FillStats(resp);
  resp->set_disk_bytes(store_->ApproximateDiskBytes());
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace factlog::server
