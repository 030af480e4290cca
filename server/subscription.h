#ifndef FACTLOG_SERVER_SUBSCRIPTION_H_
#define FACTLOG_SERVER_SUBSCRIPTION_H_

#include <memory>

#include "absl/time/time.h"
#include "domain/limits.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/hub.h"
#include "storage/event_store.h"

namespace factlog::server {

// Starts one EventService.Subscribe stream: a ServerWriteReactor with one
// write in flight, fed from the store while catching up and from the hub's
// window when live (see the Subscribe contract in service.proto). Messages
// are assembled from each event's serialized bytes (kept once per event by
// the hub, or read as stored), so an event is never re-encoded per
// subscriber; with SubscribeRequest.max_events_per_message > 1 they are
// batched. The returned reactor deletes itself when the RPC is done. `store`
// and `hub` must outlive every stream (the server stops the hub, which ends
// them, before closing the store).
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartSubscription(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& request,
    const storage::EventStore* store, Hub* hub, const domain::Limits& limits,
    absl::Duration checkpoint_interval);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_SUBSCRIPTION_H_
