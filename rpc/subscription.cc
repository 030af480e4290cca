#include "rpc/subscription.h"

#include <algorithm>
#include <memory>
#include <string>
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

// The reactor of one Subscribe call. Its stream starts at once, or, for a
// request with a min_position this node has not applied yet, once it has
// (core::PositionWaiters calls back; nothing blocks meanwhile). `state_` is
// shared with that callback, which may run after the call ended.
class SubscribeReactor final : public Reactor {
 public:
  struct Opening {
    v1::SubscribeRequest request;
    std::string peer;
    domain::Limits limits;
    core::SubscriptionCursor::Sources deps;
  };

  struct State {
    absl::Mutex mu;
    SubscribeReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // until OnDone
    std::shared_ptr<SubscriptionStream> stream ABSL_GUARDED_BY(mu);
    bool finished ABSL_GUARDED_BY(mu) = false;
  };

  SubscribeReactor() : state_(std::make_shared<State>()) {
    state_->reactor = this;
  }

  // Opens the cursor and starts streaming, or finishes with why the cursor
  // did not open.
  static void Open(const std::shared_ptr<State>& state, const Opening& opening,
                   const absl::Status& waited);

  void OnWriteDone(bool ok) override {
    GrpcReact(Key());
    Stream()->OnWriteDone(ok);
  }
  void OnCancel() override {
    GrpcReact(Key());
    std::shared_ptr<SubscriptionStream> stream;
    {
      absl::MutexLock lock(&state_->mu);
      stream = state_->stream;
      if (stream == nullptr && !state_->finished) {
        // Still waiting for min_position: end the call now.
        state_->finished = true;
        GrpcStart(Key(), [&] {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                              "subscriber cancelled"));
        });
      }
    }
    if (stream != nullptr) stream->OnCancel();
  }
  void OnDone() override {
    GrpcReact(Key());
    std::shared_ptr<SubscriptionStream> stream;
    {
      absl::MutexLock lock(&state_->mu);
      stream = state_->stream;
      state_->reactor = nullptr;
    }
    if (stream != nullptr) stream->OnDone();
    delete this;
  }

  const std::shared_ptr<State>& state() const { return state_; }

 private:
  const void* Key() { return static_cast<Reactor*>(this); }
  std::shared_ptr<SubscriptionStream> Stream() {
    absl::MutexLock lock(&state_->mu);
    return state_->stream;
  }

  const std::shared_ptr<State> state_;
};

void SubscribeReactor::Open(const std::shared_ptr<State>& state,
                            const Opening& opening,
                            const absl::Status& waited) {
  absl::MutexLock lock(&state->mu);
  SubscribeReactor* reactor = state->reactor;
  if (reactor == nullptr || state->finished) return;
  absl::StatusOr<std::shared_ptr<core::SubscriptionCursor>> cursor =
      waited.ok()
          ? core::SubscriptionCursor::Open(opening.request, opening.peer,
                                           opening.limits, opening.deps)
          : absl::StatusOr<std::shared_ptr<core::SubscriptionCursor>>(waited);
  if (!cursor.ok()) {
    state->finished = true;
    GrpcStart(reactor->Key(),
              [&] { reactor->Finish(ToGrpcStatus(cursor.status())); });
    return;
  }
  state->stream = std::make_shared<SubscriptionStream>(*std::move(cursor));
  state->stream->Start(reactor);
}

}  // namespace

Reactor* StartSubscription(grpc::CallbackServerContext* ctx,
                           const grpc::ByteBuffer& raw_request,
                           const storage::EventStore* store, core::Hub* hub,
                           const domain::Limits& limits,
                           absl::Duration checkpoint_interval,
                           const std::function<absl::Time()>& safe_time,
                           core::PositionWaiters* waiters) {
  SubscribeReactor::Opening opening;
  if (absl::Status s = DecodeMessage(raw_request, &opening.request); !s.ok()) {
    return Refuse<Reactor>(s);
  }
  opening.peer = ctx->peer();
  opening.limits = limits;
  opening.deps = {store, hub, checkpoint_interval, safe_time};
  auto* reactor = new SubscribeReactor();
  const uint64_t min_position = opening.request.min_position();
  if (waiters == nullptr || min_position <= waiters->position()) {
    SubscribeReactor::Open(reactor->state(), opening, absl::OkStatus());
    return reactor;
  }
  // Read-your-writes: the stream starts once this node applied
  // min_position (its catch-up then includes it), or ends with why not.
  const absl::Time deadline =
      std::min(absl::FromChrono(ctx->deadline()),
               absl::Now() + kMaxSubscribeMinPositionWait);
  waiters->Wait(min_position, deadline,
                [state = reactor->state(),
                 opening = std::move(opening)](absl::Status applied) {
                  SubscribeReactor::Open(state, opening, applied);
                });
  return reactor;
}

}  // namespace factlog::rpc
