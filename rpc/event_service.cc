#include "rpc/event_service.h"

#include <deque>

#include "domain/event_filter.h"
#include "rpc/chunked_stream.h"
#include "rpc/grpc_status.h"
#include "rpc/subscription.h"

namespace factlog::rpc {
namespace {

// Writes the events matching a request up to the log's end when it started,
// EventServiceImpl::kChunk read at a time.
class ReadEventsReactor final : public ChunkedWriteReactor<v1::Event> {
 public:
  ReadEventsReactor(const storage::EventStore* store,
                    const v1::ReadEventsRequest& req)
      : store_(store),
        filter_(req.filter()),
        next_(std::max<uint64_t>(req.from_position(), 1)),
        end_(store->LastPosition()),
        remaining_(req.max_count() == 0 ? UINT64_MAX : req.max_count()) {
    Start();
  }

 private:
  absl::Status Fill(std::deque<v1::Event>* buffer) override {
    while (buffer->empty() && remaining_ > 0 && next_ <= end_) {
      const uint64_t before = next_;
      absl::Status s = store_->ReadEvents(next_, [&](const v1::Event& e) {
        if (e.position() > end_ || remaining_ == 0) return false;
        next_ = e.position() + 1;
        if (domain::Matches(filter_, e)) {
          buffer->push_back(e);
          --remaining_;
        }
        return buffer->size() < EventServiceImpl::kChunk;
      });
      if (s.ok() && next_ == before) {
        s = absl::DataLossError("event log ends before its last position");
      }
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  const storage::EventStore* const store_;
  const v1::EventFilter filter_;
  uint64_t next_;
  const uint64_t end_;
  uint64_t remaining_;
};

}  // namespace

EventServiceImpl::EventServiceImpl(const storage::EventStore* store,
                                   core::Hub* hub, const core::LogHeads* heads,
                                   RpcGate gate, domain::Limits limits,
                                   absl::Duration checkpoint_interval,
                                   std::function<absl::Time()> safe_time,
                                   core::PositionWaiters* waiters)
    : store_(store),
      hub_(hub),
      heads_(heads),
      gate_(gate),
      limits_(limits),
      checkpoint_interval_(checkpoint_interval),
      safe_time_(std::move(safe_time)),
      waiters_(waiters) {}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventServiceImpl::Subscribe(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) {
  absl::StatusOr<std::string> actor =
      gate_.AdmitStream(*ctx, MethodFor<v1::SubscribeRequest>());
  if (!actor.ok()) {
    return Refuse<grpc::ServerWriteReactor<grpc::ByteBuffer>>(actor.status());
  }
  return StartSubscription(ctx, *req, store_, hub_, limits_,
                           checkpoint_interval_, safe_time_, waiters_);
}

grpc::ServerWriteReactor<v1::Event>* EventServiceImpl::ReadEvents(
    grpc::CallbackServerContext* ctx, const v1::ReadEventsRequest* req) {
  absl::StatusOr<std::string> actor =
      gate_.AdmitStream(*ctx, MethodFor<v1::ReadEventsRequest>());
  if (!actor.ok()) {
    return Refuse<grpc::ServerWriteReactor<v1::Event>>(actor.status());
  }
  if (absl::Status s = domain::ValidateEventFilter(req->filter(), limits_);
      !s.ok()) {
    return Refuse<grpc::ServerWriteReactor<v1::Event>>(s);
  }
  return new ReadEventsReactor(store_, *req);
}

namespace {

// Admits a unary call of the method taking `Request`, then answers with
// `answer()` (a StatusOr of the response message).
template <typename Request, typename Response, typename Answer>
grpc::ServerUnaryReactor* AnswerUnary(grpc::CallbackServerContext* ctx,
                                      const RpcGate& gate, Response* resp,
                                      const Answer& answer) {
  auto [call, actor] = gate.StartUnary(ctx, MethodFor<Request>());
  if (!actor.ok()) return call.reactor();
  absl::StatusOr<Response> result = answer();
  if (result.ok()) *resp = *std::move(result);
  call.Finish(ToGrpcStatus(result.status()));
  return call.reactor();
}

}  // namespace

grpc::ServerUnaryReactor* EventServiceImpl::GetLogHead(
    grpc::CallbackServerContext* ctx, const v1::GetLogHeadRequest* req,
    v1::LogHead* resp) {
  if (waiters_ == nullptr || req->min_position() <= waiters_->position()) {
    return AnswerUnary<v1::GetLogHeadRequest>(ctx, gate_, resp,
                                              [&] { return heads_->Head(0); });
  }
  // Read-your-writes: answered on the waiters' pool once applied.
  auto [call, actor] = gate_.StartUnary(ctx, MethodFor<v1::GetLogHeadRequest>(),
                                        /*may_wait=*/true);
  if (!actor.ok()) return call.reactor();
  const absl::Time deadline =
      std::min(absl::FromChrono(ctx->deadline()),
               absl::Now() + kMaxSubscribeMinPositionWait);
  waiters_->Wait(
      req->min_position(), deadline,
      [call = call, resp, heads = heads_](absl::Status applied) mutable {
        absl::StatusOr<v1::LogHead> head =
            applied.ok() ? heads->Head(0)
                         : absl::StatusOr<v1::LogHead>(applied);
        if (head.ok()) *resp = *std::move(head);
        call.Finish(ToGrpcStatus(head.status()));
      });
  return call.reactor();
}

grpc::ServerUnaryReactor* EventServiceImpl::GetInclusionProof(
    grpc::CallbackServerContext* ctx, const v1::GetInclusionProofRequest* req,
    v1::InclusionProof* resp) {
  return AnswerUnary<v1::GetInclusionProofRequest>(
      ctx, gate_, resp, [&] { return heads_->Inclusion(*req); });
}

grpc::ServerUnaryReactor* EventServiceImpl::GetConsistencyProof(
    grpc::CallbackServerContext* ctx, const v1::GetConsistencyProofRequest* req,
    v1::ConsistencyProof* resp) {
  return AnswerUnary<v1::GetConsistencyProofRequest>(
      ctx, gate_, resp, [&] { return heads_->Consistency(*req); });
}

}  // namespace factlog::rpc
