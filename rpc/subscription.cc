#include "rpc/subscription.h"

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/subscription_cursor.h"
#include "factlog/v1/service.pb.h"
#include "rpc/grpc_order.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_decode.h"
#include "rpc/rpc_gate.h"

namespace factlog::rpc {
namespace {

using Reactor = grpc::ServerWriteReactor<grpc::ByteBuffer>;

// Writes what one cursor yields on one Subscribe call: one write in
// flight; the end when the cursor ends or the client goes away. Shared by
// the reactor and, weakly, by the cursor, which may call Ready at any time
// from the hub's threads.
//
// Locking: mu_ guards the state below, and is taken before the cursor's
// own lock (never the other way: the cursor calls Ready without holding
// it). StartWrite and Finish are called without holding mu_. The reactor
// stays valid while write_in_flight_ is set or until Finish is called,
// because gRPC calls OnDone only after Finish and the last write
// completed; OnDone clears reactor_.
class SubscriptionStream final
    : public core::SubscriptionCursor::Listener,
      public std::enable_shared_from_this<SubscriptionStream> {
 public:
  explicit SubscriptionStream(std::shared_ptr<core::SubscriptionCursor> cursor)
      : cursor_(std::move(cursor)) {}

  // Writes to `reactor` from now on, starting with what is ready.
  void Start(Reactor* reactor) {
    {
      absl::MutexLock lock(&mu_);
      reactor_ = reactor;
    }
    cursor_->Attach(weak_from_this());
    Pump();
  }

  // Sends the cursor's next message, or its end, unless a write is in
  // flight.
  void Pump() {
    Reactor* reactor;
    absl::Status fail;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr || finished_ || write_in_flight_) return;
      core::EncodedResponse next;
      absl::StatusOr<bool> got = cursor_->Next(&next);
      if (!got.ok()) {
        finished_ = true;
        fail = got.status();
      } else if (!*got) {
        return;
      } else {
        writing_ = EncodeMessage(next.header, std::move(next.body));
        write_in_flight_ = true;
      }
      reactor = reactor_;
    }
    if (!fail.ok()) {
      GrpcStart(reactor, [&] { reactor->Finish(ToGrpcStatus(fail)); });
    } else {
      GrpcStart(reactor, [&] { reactor->StartWrite(&writing_); });
    }
  }

  void OnWriteDone(bool ok) {
    Reactor* reactor = nullptr;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      writing_.Clear();
      cursor_->WriteDone();
      if (!ok && !finished_) {
        // The client went away mid-write.
        finished_ = true;
        reactor = reactor_;
      }
    }
    if (reactor != nullptr) {
      GrpcStart(reactor, [&] {
        reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                     "subscriber disconnected"));
      });
      return;
    }
    Pump();
  }

  void OnCancel() {
    cursor_->Stop(absl::CancelledError("subscriber cancelled"));
  }

  void OnDone() {
    {
      absl::MutexLock lock(&mu_);
      reactor_ = nullptr;
    }
    cursor_->Close();
  }

  // core::SubscriptionCursor::Listener:
  void Ready() override { Pump(); }

 private:
  const std::shared_ptr<core::SubscriptionCursor> cursor_;

  absl::Mutex mu_;
  Reactor* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ByteBuffer writing_;  // owned by the write in flight
};

class SubscribeReactor final : public Reactor {
 public:
  explicit SubscribeReactor(std::shared_ptr<SubscriptionStream> stream)
      : stream_(std::move(stream)) {
    stream_->Start(this);
  }
  // Each reaction starts with GrpcReact, keyed on the reactor as the
  // stream's operations are (grpc_order.h).
  void OnWriteDone(bool ok) override {
    GrpcReact(Key());
    stream_->OnWriteDone(ok);
  }
  void OnCancel() override {
    GrpcReact(Key());
    stream_->OnCancel();
  }
  void OnDone() override {
    GrpcReact(Key());
    stream_->OnDone();
    delete this;
  }

 private:
  const void* Key() { return static_cast<Reactor*>(this); }

  const std::shared_ptr<SubscriptionStream> stream_;
};

}  // namespace

Reactor* StartSubscription(grpc::CallbackServerContext* ctx,
                           const grpc::ByteBuffer& raw_request,
                           const storage::EventStore* store, core::Hub* hub,
                           const domain::Limits& limits,
                           absl::Duration checkpoint_interval,
                           const std::function<absl::Time()>& safe_time) {
  v1::SubscribeRequest request;
  if (absl::Status s = DecodeMessage(raw_request, &request); !s.ok()) {
    return Refuse<Reactor>(s);
  }
  absl::StatusOr<std::shared_ptr<core::SubscriptionCursor>> cursor =
      core::SubscriptionCursor::Open(
          request, ctx->peer(), limits,
          {store, hub, checkpoint_interval, safe_time});
  if (!cursor.ok()) return Refuse<Reactor>(cursor.status());
  return new SubscribeReactor(
      std::make_shared<SubscriptionStream>(*std::move(cursor)));
}

}  // namespace factlog::rpc
