#ifndef FACTLOG_RPC_SUBSCRIPTION_H_
#define FACTLOG_RPC_SUBSCRIPTION_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "core/hub.h"
#include "domain/limits.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "storage/event_store.h"

namespace factlog::rpc {

// Starts one EventService.Subscribe stream: a ServerWriteReactor with one
// write in flight, fed from the store while catching up and from the hub's
// window when live (see the Subscribe contract in service.proto). Messages
// are assembled from each event's serialized bytes (kept once per event by
// the hub, or read as stored), so an event is never re-encoded per
// subscriber; with SubscribeRequest.max_events_per_message > 1 they are
// batched. The returned reactor deletes itself when the RPC is done. `store`
// and `hub` must outlive every stream (the server stops the hub, which ends
// them, before closing the store).
//
// With overdue.notify the stream also sends ClaimOverdue notices: while
// live, on each of the hub's sweep ticks, it scans the store's overdue index
// after its cursor up to `safe_time()` (Writer::SafeTime: no event committed
// later can be recorded at or before it), sends the matching notices in
// (overdue_at, claim_id) order, then moves its cursor to that safe time.
// A sweep examines a bounded number of entries per wake-up and may span
// several. `safe_time` must be thread-safe and outlive every stream.
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartSubscription(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& request,
    const storage::EventStore* store, core::Hub* hub,
    const domain::Limits& limits, absl::Duration checkpoint_interval,
    const std::function<absl::Time()>& safe_time);

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_SUBSCRIPTION_H_
