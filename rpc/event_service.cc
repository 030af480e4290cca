#include "rpc/event_service.h"

#include <deque>

#include "domain/event_filter.h"
#include "rpc/grpc_order.h"
#include "rpc/grpc_status.h"
#include "rpc/subscription.h"

namespace factlog::rpc {
namespace {

class ReadEventsReactor final : public grpc::ServerWriteReactor<v1::Event> {
 public:
  ReadEventsReactor(const storage::EventStore* store,
                    const v1::ReadEventsRequest& req)
      : store_(store),
        filter_(req.filter()),
        next_(std::max<uint64_t>(req.from_position(), 1)),
        end_(store->LastPosition()),
        remaining_(req.max_count() == 0 ? UINT64_MAX : req.max_count()) {
    Next();
  }

  void OnWriteDone(bool ok) override {
    GrpcReact(this);
    if (!ok) {
      GrpcStart(this, [&] {
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      });
      return;
    }
    buffer_.pop_front();
    Next();
  }

  void OnDone() override {
    GrpcReact(this);
    delete this;
  }

 private:
  // Writes the next buffered event, refilling the buffer from the store.
  void Next() {
    while (buffer_.empty() && remaining_ > 0 && next_ <= end_) {
      const uint64_t before = next_;
      absl::Status s = store_->ReadEvents(next_, [&](const v1::Event& e) {
        if (e.position() > end_ || remaining_ == 0) return false;
        next_ = e.position() + 1;
        if (domain::Matches(filter_, e)) {
          buffer_.push_back(e);
          --remaining_;
        }
        return buffer_.size() < EventServiceImpl::kChunk;
      });
      if (s.ok() && next_ == before) {
        s = absl::DataLossError("event log ends before its last position");
      }
      if (!s.ok()) {
        GrpcStart(this, [&] { Finish(ToGrpcStatus(s)); });
        return;
      }
    }
    if (buffer_.empty()) {
      GrpcStart(this, [&] { Finish(grpc::Status::OK); });
      return;
    }
    GrpcStart(this, [&] { StartWrite(&buffer_.front()); });
  }

  const storage::EventStore* const store_;
  const v1::EventFilter filter_;
  uint64_t next_;
  const uint64_t end_;
  uint64_t remaining_;
  std::deque<v1::Event> buffer_;
};

// A stream that ends at once with an error.
template <typename Message>
class RefusedWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit RefusedWriter(const absl::Status& s) {
    this->Finish(ToGrpcStatus(s));
  }
  void OnDone() override { delete this; }
};

}  // namespace

EventServiceImpl::EventServiceImpl(const storage::EventStore* store,
                                   core::Hub* hub, const core::LogHeads* heads,
                                   const Authorizer* authorizer,
                                   const RpcObserver* observer,
                                   domain::Limits limits,
                                   absl::Duration checkpoint_interval,
                                   std::function<absl::Time()> safe_time)
    : store_(store),
      hub_(hub),
      heads_(heads),
      authorizer_(authorizer),
      observer_(observer),
      limits_(limits),
      checkpoint_interval_(checkpoint_interval),
      safe_time_(std::move(safe_time)) {}

grpc::ServerWriteReactor<grpc::ByteBuffer>* EventServiceImpl::Subscribe(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* req) {
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, Role::kReader, "Subscribe");
  if (!actor.ok()) return new RefusedWriter<grpc::ByteBuffer>(actor.status());
  return StartSubscription(ctx, *req, store_, hub_, limits_,
                           checkpoint_interval_, safe_time_);
}

grpc::ServerWriteReactor<v1::Event>* EventServiceImpl::ReadEvents(
    grpc::CallbackServerContext* ctx, const v1::ReadEventsRequest* req) {
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, Role::kReader, "ReadEvents");
  if (!actor.ok()) return new RefusedWriter<v1::Event>(actor.status());
  if (absl::Status s = domain::ValidateEventFilter(req->filter(), limits_);
      !s.ok()) {
    return new RefusedWriter<v1::Event>(s);
  }
  return new ReadEventsReactor(store_, *req);
}

namespace {

// Authorizes a reader, then answers with `answer()` (a StatusOr of the
// response message).
template <typename Response, typename Answer>
grpc::ServerUnaryReactor* AnswerReader(grpc::CallbackServerContext* ctx,
                                       const Authorizer* authorizer,
                                       const RpcObserver* observer,
                                       const char* full_method,
                                       const char* method, Response* resp,
                                       const Answer& answer) {
  RpcObserver::UnaryCall call = observer->StartUnary(ctx, full_method);
  absl::StatusOr<std::string> actor =
      authorizer->Authorize(*ctx, Role::kReader, method);
  if (!actor.ok()) {
    call.Finish(ToGrpcStatus(actor.status()));
    return call.reactor();
  }
  absl::StatusOr<Response> result = answer();
  if (result.ok()) *resp = *std::move(result);
  call.Finish(ToGrpcStatus(result.status()));
  return call.reactor();
}

}  // namespace

grpc::ServerUnaryReactor* EventServiceImpl::GetLogHead(
    grpc::CallbackServerContext* ctx, const v1::GetLogHeadRequest* req,
    v1::LogHead* resp) {
  return AnswerReader(ctx, authorizer_, observer_,
                      "/factlog.v1.EventService/GetLogHead", "GetLogHead", resp,
                      [&] { return heads_->Head(0); });
}

grpc::ServerUnaryReactor* EventServiceImpl::GetInclusionProof(
    grpc::CallbackServerContext* ctx, const v1::GetInclusionProofRequest* req,
    v1::InclusionProof* resp) {
  return AnswerReader(
      ctx, authorizer_, observer_, "/factlog.v1.EventService/GetInclusionProof",
      "GetInclusionProof", resp, [&] { return heads_->Inclusion(*req); });
}

grpc::ServerUnaryReactor* EventServiceImpl::GetConsistencyProof(
    grpc::CallbackServerContext* ctx, const v1::GetConsistencyProofRequest* req,
    v1::ConsistencyProof* resp) {
  return AnswerReader(ctx, authorizer_, observer_,
                      "/factlog.v1.EventService/GetConsistencyProof",
                      "GetConsistencyProof", resp,
                      [&] { return heads_->Consistency(*req); });
}

}  // namespace factlog::rpc
