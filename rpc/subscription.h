#ifndef FACTLOG_RPC_SUBSCRIPTION_H_
#define FACTLOG_RPC_SUBSCRIPTION_H_

#include <functional>

#include "absl/time/time.h"
#include "core/hub.h"
#include "core/position_waiters.h"
#include "domain/limits.h"
#include "factlog/v1/service.grpc.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "storage/event_store.h"

namespace factlog::rpc {

// Starts one EventService.Subscribe stream (see the Subscribe contract in
// service.proto): decodes the request, opens a core::SubscriptionCursor on
// `store` and `hub` (core/subscription_cursor.h says what the stream
// carries, in what order, and why nothing is missed or repeated) and writes
// what it yields with a ServerWriteReactor, one write in flight, each
// message handed to gRPC without copying it. The stream ends with the
// cursor's status (OK never: the stream is endless), or CANCELLED when the
// client goes away. A request that does not decode or open is refused
// with its status. The returned reactor deletes itself when the RPC is
// done. `store` and `hub` must outlive every stream (the server stops the
// hub, which ends them, before closing the store); `safe_time`
// (Writer::SafeTime, for overdue notices) must be thread-safe and outlive
// every stream.
//
// A request with a min_position above what `waiters` says is applied starts
// streaming only once it is (asynchronously, up to the call's deadline or
// kMaxSubscribeMinPositionWait: DEADLINE_EXCEEDED then, UNAVAILABLE when
// the node stopped applying). Null `waiters`: min_position is ignored.
inline constexpr absl::Duration kMaxSubscribeMinPositionWait =
    absl::Seconds(60);
grpc::ServerWriteReactor<grpc::ByteBuffer>* StartSubscription(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& request,
    const storage::EventStore* store, core::Hub* hub,
    const domain::Limits& limits, absl::Duration checkpoint_interval,
    const std::function<absl::Time()>& safe_time,
    core::PositionWaiters* waiters = nullptr);

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_SUBSCRIPTION_H_
