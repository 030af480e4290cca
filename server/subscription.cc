#include "server/subscription.h"

#include <atomic>
#include <deque>

#include "absl/strings/str_format.h"
#include "domain/event_filter.h"
#include "server/grpc_status.h"

namespace factlog::server {
namespace {

// Most messages a subscription buffers, and most events it examines per
// refill, so one refill is cheap whatever the filter.
constexpr size_t kBufferMessages = 256;
constexpr size_t kScanPerRefill = 4096;

std::atomic<uint64_t> next_subscription_id{1};

class SubscribeReactor;

// The state of one stream. Shared with the hub, which may wake it at any
// time; the reactor is only touched under the rules below.
//
// Locking: mu_ guards all state. StartWrite and Finish are called without
// holding mu_. The reactor stays valid while write_in_flight_ is set or
// until Finish is called, because gRPC calls OnDone only after Finish and
// the last write completed; OnDone clears reactor_.
class Subscription final : public HubSubscriber,
                           public std::enable_shared_from_this<Subscription> {
 public:
  Subscription(const v1::SubscribeRequest& req, std::string peer,
               const storage::EventStore* store, Hub* hub, uint64_t start,
               absl::Duration checkpoint_interval)
      : id_(next_subscription_id++),
        peer_(std::move(peer)),
        filter_(req.filter()),
        store_(store),
        hub_(hub),
        checkpoint_interval_(checkpoint_interval),
        next_(start + 1),
        last_sent_(start) {}

  void Attach(grpc::ServerWriteReactor<v1::SubscribeResponse>* reactor) {
    absl::MutexLock lock(&mu_);
    reactor_ = reactor;
  }

  // Sends the next message if none is in flight.
  void Pump() {
    grpc::ServerWriteReactor<v1::SubscribeResponse>* reactor;
    absl::Status fail;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr || finished_ || write_in_flight_) return;
      if (!stop_status_.ok()) {
        finished_ = true;
        fail = stop_status_;
      } else {
        if (buffer_.empty()) fail = Refill();
        if (fail.ok() && buffer_.empty()) MaybeCheckpoint();
        if (!fail.ok()) {
          finished_ = true;
        } else if (buffer_.empty()) {
          return;
        } else {
          writing_ = std::move(buffer_.front());
          buffer_.pop_front();
          buffered_bytes_ -= std::min(buffered_bytes_, writing_.ByteSizeLong());
          write_in_flight_ = true;
        }
      }
      reactor = reactor_;
    }
    if (!fail.ok()) {
      reactor->Finish(ToGrpcStatus(fail));
    } else {
      reactor->StartWrite(&writing_);
    }
  }

  void OnWriteDone(bool ok) {
    grpc::ServerWriteReactor<v1::SubscribeResponse>* reactor = nullptr;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      NoteSent(writing_);
      if (!ok && !finished_) {
        // The client went away mid-write.
        finished_ = true;
        reactor = reactor_;
      }
    }
    if (reactor != nullptr) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "subscriber disconnected"));
      return;
    }
    Pump();
  }

  void OnCancel() { Stop(absl::CancelledError("subscriber cancelled")); }

  void OnDone() {
    {
      absl::MutexLock lock(&mu_);
      reactor_ = nullptr;
    }
    hub_->Unregister(this);
  }

  // HubSubscriber:
  void Wake() override { Pump(); }

  void Stop(const absl::Status& status) override {
    {
      absl::MutexLock lock(&mu_);
      if (stop_status_.ok()) stop_status_ = status;
    }
    Pump();  // finishes now unless a write is in flight
  }

  v1::SubscriberStats Stats() const override {
    absl::MutexLock lock(&mu_);
    v1::SubscriberStats s;
    s.set_id(id_);
    s.set_peer(peer_);
    s.set_position(next_ - 1);
    const uint64_t last = store_->LastPosition();
    s.set_lag(last > next_ - 1 ? last - (next_ - 1) : 0);
    s.set_live(live_);
    s.set_events_sent(events_sent_);
    return s;
  }

  size_t BufferedBytes() const override {
    absl::MutexLock lock(&mu_);
    return buffered_bytes_ + (write_in_flight_ ? writing_.ByteSizeLong() : 0);
  }

 private:
  void Push(v1::SubscribeResponse message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    buffered_bytes_ += message.ByteSizeLong();
    buffer_.push_back(std::move(message));
  }

  void PushEvent(const v1::Event& event, v1::ClaimStatus status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::SubscribeResponse message;
    *message.mutable_event() = event;
    message.set_status_after(status);
    Push(std::move(message));
  }

  // Records what a sent message covers, for checkpoints and stats.
  void NoteSent(const v1::SubscribeResponse& m)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint64_t covered = 0;
    if (m.has_event()) {
      covered = m.event().position();
      ++events_sent_;
    } else if (m.has_checkpoint()) {
      covered = m.checkpoint().position();
    } else if (m.has_caught_up()) {
      covered = m.caught_up().position();
    }
    last_sent_ = std::max(last_sent_, covered);
  }

  // Examines the next events after next_ - 1 and buffers the matching ones,
  // plus fell_behind / caught_up transitions. Bounded work per call.
  absl::Status Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    size_t scanned = 0;
    while (buffer_.empty() && scanned < kScanPerRefill) {
      std::vector<LiveEventPtr> live;
      switch (hub_->Read(next_, kBufferMessages, &live, shared_from_this())) {
        case Hub::ReadResult::kEvents:
          if (live.empty()) return absl::OkStatus();
          for (const LiveEventPtr& e : live) {
            next_ = e->event.position() + 1;
            ++scanned;
            if (domain::Matches(filter_, e->event)) {
              PushEvent(e->event, e->status_after);
            }
          }
          break;
        case Hub::ReadResult::kWaiting:
          if (!live_) {
            live_ = true;
            v1::SubscribeResponse message;
            message.mutable_caught_up()->set_position(next_ - 1);
            Push(std::move(message));
          }
          return absl::OkStatus();
        case Hub::ReadResult::kFellBehind: {
          if (live_) {
            live_ = false;
            v1::SubscribeResponse message;
            message.mutable_fell_behind()->set_position(next_ - 1);
            Push(std::move(message));
          }
          const uint64_t before = next_;
          absl::Status s = store_->ReadEvents(next_, [&](const v1::Event& e) {
            next_ = e.position() + 1;
            ++scanned;
            if (domain::Matches(filter_, e)) {
              PushEvent(e, v1::CLAIM_STATUS_UNSPECIFIED);
            }
            return buffer_.size() < kBufferMessages && scanned < kScanPerRefill;
          });
          if (!s.ok()) return s;
          if (next_ == before) {
            // The window says these events exist, so the store has them.
            return absl::DataLossError(
                absl::StrFormat("event %d is missing from the log", next_));
          }
          break;
        }
      }
    }
    return absl::OkStatus();
  }

  // With nothing to send: a checkpoint when the cursor moved past what was
  // last sent and the interval has passed.
  void MaybeCheckpoint() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t scanned_to = next_ - 1;
    const absl::Time now = absl::Now();
    if (scanned_to > last_sent_ &&
        now - last_checkpoint_ >= checkpoint_interval_) {
      last_checkpoint_ = now;
      v1::SubscribeResponse message;
      message.mutable_checkpoint()->set_position(scanned_to);
      // O(log n) reads of immutable tree nodes; the position is committed.
      if (absl::StatusOr<merkle::Hash> root = store_->RootAt(scanned_to);
          root.ok()) {
        message.mutable_checkpoint()->set_root_hash(merkle::ToBytes(*root));
      }
      Push(std::move(message));
    }
  }

  const uint64_t id_;
  const std::string peer_;
  const v1::EventFilter filter_;
  const storage::EventStore* const store_;
  Hub* const hub_;
  const absl::Duration checkpoint_interval_;

  mutable absl::Mutex mu_;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* reactor_
      ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t next_ ABSL_GUARDED_BY(mu_);       // next position to examine
  uint64_t last_sent_ ABSL_GUARDED_BY(mu_);  // covered by messages sent
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stop_status_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::SubscribeResponse> buffer_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  v1::SubscribeResponse writing_;  // owned by the write in flight
  uint64_t events_sent_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_checkpoint_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

class SubscribeReactor final
    : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  explicit SubscribeReactor(std::shared_ptr<Subscription> subscription)
      : subscription_(std::move(subscription)) {
    subscription_->Attach(this);
    subscription_->Pump();
  }
  void OnWriteDone(bool ok) override { subscription_->OnWriteDone(ok); }
  void OnCancel() override { subscription_->OnCancel(); }
  void OnDone() override {
    subscription_->OnDone();
    delete this;
  }

 private:
  const std::shared_ptr<Subscription> subscription_;
};

class RefusedReactor final
    : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  explicit RefusedReactor(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::SubscribeResponse>* StartSubscription(
    grpc::CallbackServerContext* ctx, const v1::SubscribeRequest& request,
    const storage::EventStore* store, Hub* hub, const domain::Limits& limits,
    absl::Duration checkpoint_interval) {
  if (absl::Status s = domain::ValidateEventFilter(request.filter(), limits);
      !s.ok()) {
    return new RefusedReactor(s);
  }
  uint64_t start;
  if (request.start_case() == v1::SubscribeRequest::kFromEnd) {
    start = hub->LastPublished();
  } else {
    start = request.from_position();
    const uint64_t last = store->LastPosition();
    if (start > last) {
      return new RefusedReactor(absl::OutOfRangeError(absl::StrFormat(
          "from_position: %d is beyond the last committed position %d", start,
          last)));
    }
  }
  auto subscription = std::make_shared<Subscription>(
      request, ctx->peer(), store, hub, start, checkpoint_interval);
  if (absl::Status s = hub->Register(subscription, ctx->peer()); !s.ok()) {
    return new RefusedReactor(s);
  }
  return new SubscribeReactor(std::move(subscription));
}

}  // namespace factlog::server
