#ifndef FACTLOG_RPC_EVENT_SERVICE_H_
#define FACTLOG_RPC_EVENT_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "core/hub.h"
#include "core/log_heads.h"
#include "core/position_waiters.h"
#include "domain/limits.h"
#include "factlog/v1/service.grpc.pb.h"
#include "rpc/auth.h"
#include "rpc/rpc_gate.h"
#include "storage/event_store.h"

namespace factlog::rpc {

// factlog.v1.EventService. ReadEvents streams committed events from a
// snapshot of the log's end taken at the call, reading the store in chunks
// with one write in flight, so memory per stream stays bounded. Subscribe
// streams are served by rpc/subscription.h over the hub. The log head
// and proof RPCs are answered from the store's Merkle tree (LogHeads).
class EventServiceImpl final
    : public v1::EventService::WithRawCallbackMethod_Subscribe<
          v1::EventService::CallbackService> {
 public:
  static constexpr size_t kChunk = 256;

  // `store`, `hub`, `heads` and what `gate` refers to must outlive the
  // service.
  // Every RPC needs the reader role. `safe_time` is the writer's
  // SafeTime(), for Subscribe's overdue notices (rpc/subscription.h).
  // With `waiters` (outliving the service), Subscribe and GetLogHead
  // honour min_position (read-your-writes; rpc/subscription.h); without,
  // they ignore it.
  EventServiceImpl(const storage::EventStore* store, core::Hub* hub,
                   const core::LogHeads* heads, RpcGate gate,
                   domain::Limits limits, absl::Duration checkpoint_interval,
                   std::function<absl::Time()> safe_time,
                   core::PositionWaiters* waiters = nullptr);

  grpc::ServerWriteReactor<v1::Event>* ReadEvents(
      grpc::CallbackServerContext* ctx,
      const v1::ReadEventsRequest* req) override;
  // Raw: the subscription assembles its messages from encoded events.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) override;
  grpc::ServerUnaryReactor* GetLogHead(grpc::CallbackServerContext* ctx,
                                       const v1::GetLogHeadRequest* req,
                                       v1::LogHead* resp) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* ctx, const v1::GetInclusionProofRequest* req,
      v1::InclusionProof* resp) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* ctx,
      const v1::GetConsistencyProofRequest* req,
      v1::ConsistencyProof* resp) override;

 private:
  const storage::EventStore* const store_;
  core::Hub* const hub_;
  const core::LogHeads* const heads_;
  const RpcGate gate_;
  const domain::Limits limits_;
  const absl::Duration checkpoint_interval_;
  const std::function<absl::Time()> safe_time_;
  core::PositionWaiters* const waiters_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_EVENT_SERVICE_H_
