#include "rpc/subscription.h"

#include <atomic>
#include <deque>
#include <optional>

#include "absl/strings/str_format.h"
#include "domain/event_filter.h"
#include "domain/overdue.h"
#include "domain/time_util.h"
#include "rpc/grpc_order.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_decode.h"

namespace factlog::rpc {
namespace {

// Most messages a subscription buffers, and most events it examines per
// refill, so one refill is cheap whatever the filter.
constexpr size_t kBufferMessages = 256;
constexpr size_t kScanPerRefill = 4096;
// Limits of one EventBatch.
constexpr size_t kMaxEventsPerMessage = 1024;
constexpr size_t kMaxBatchBytes = 256 << 10;
// Most overdue index entries one wake-up examines.
constexpr size_t kSweepScan = 4096;

std::atomic<uint64_t> next_subscription_id{1};

// ---- Protobuf wire format, for messages assembled from encoded events ----
// (field numbers from service.proto)
constexpr uint32_t kResponseEvent = 1;        // SubscribeResponse.event
constexpr uint32_t kResponseStatusAfter = 5;  // SubscribeResponse.status_after
constexpr uint32_t kResponseEvents = 6;       // SubscribeResponse.events
constexpr uint32_t kBatchEvents = 1;          // EventBatch.events
constexpr uint32_t kItemEvent = 1;            // SubscribedEvent.event
constexpr uint32_t kItemStatusAfter = 2;      // SubscribedEvent.status_after

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Encodes `v` at `p` (room for 10 bytes); returns the end.
char* EncodeVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Appends the varints `a` and `b` with one append: these run for every
// event and subscriber.
void AppendTwoVarints(uint64_t a, uint64_t b, std::string* out) {
  char buf[20];
  char* end = EncodeVarint(b, EncodeVarint(a, buf));
  out->append(buf, end - buf);
}

// The tag and length of a length-delimited field.
void AppendHeader(uint32_t field, size_t length, std::string* out) {
  AppendTwoVarints(field << 3 | 2, length, out);
}

// An enum field, left out when 0 as proto3 does.
void AppendEnum(uint32_t field, int value, std::string* out) {
  if (value == 0) return;
  AppendTwoVarints(field << 3, static_cast<uint64_t>(value), out);
}

size_t EnumSize(int value) {
  return value == 0 ? 0 : 1 + VarintSize(static_cast<uint64_t>(value));
}

// A SubscribeResponse ready to send: `header` then `body` on the wire.
struct Outgoing {
  std::string header;
  std::string body;
  uint64_t covered = 0;  // the last position it accounts for
  uint64_t events = 0;   // events in it

  size_t size() const { return header.size() + body.size(); }

  // Hands the bytes to gRPC without copying the body.
  grpc::ByteBuffer Take() {
    auto* owned = new std::string(std::move(body));
    grpc::Slice slices[2] = {
        grpc::Slice(header),
        grpc::Slice(
            owned->data(), owned->size(),
            [](void* p) { delete static_cast<std::string*>(p); }, owned)};
    return header.empty() ? grpc::ByteBuffer(&slices[1], 1)
                          : grpc::ByteBuffer(slices, 2);
  }
};

Outgoing Encoded(const v1::SubscribeResponse& message, uint64_t covered) {
  Outgoing out;
  message.SerializeToString(&out.body);
  out.covered = covered;
  return out;
}

// The state of one stream. Shared with the hub, which may wake it at any
// time; the reactor is only touched under the rules below.
//
// Locking: mu_ guards all state. StartWrite and Finish are called without
// holding mu_. The reactor stays valid while write_in_flight_ is set or
// until Finish is called, because gRPC calls OnDone only after Finish and
// the last write completed; OnDone clears reactor_.
class Subscription final : public core::HubSubscriber,
                           public std::enable_shared_from_this<Subscription> {
 public:
  // `overdue_cursor`: where notices start (with overdue.notify). A cursor
  // the client did not send (from now on) goes out in the first checkpoint.
  Subscription(const v1::SubscribeRequest& req, std::string peer,
               const storage::EventStore* store, core::Hub* hub, uint64_t start,
               absl::Duration checkpoint_interval,
               std::function<absl::Time()> safe_time,
               domain::OverdueCursor overdue_cursor)
      : id_(next_subscription_id++),
        peer_(std::move(peer)),
        filter_(req.filter()),
        filter_matches_all_(req.filter().ByteSizeLong() == 0),
        batch_limit_(std::min<size_t>(req.max_events_per_message(),
                                      kMaxEventsPerMessage)),
        store_(store),
        hub_(hub),
        checkpoint_interval_(checkpoint_interval),
        notify_(req.overdue().notify()),
        events_(!req.overdue().only()),
        safe_time_(std::move(safe_time)),
        next_(start + 1),
        last_sent_(start),
        cursor_(overdue_cursor),
        cursor_reported_(req.overdue().has_after() ? std::move(overdue_cursor)
                                                   : domain::OverdueCursor()) {}

  void Attach(grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor) {
    absl::MutexLock lock(&mu_);
    reactor_ = reactor;
  }

  // Sends the next message if none is in flight.
  void Pump() {
    grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor;
    absl::Status fail;
    {
      absl::MutexLock lock(&mu_);
      if (reactor_ == nullptr || finished_ || write_in_flight_) return;
      if (!stop_status_.ok()) {
        finished_ = true;
        fail = stop_status_;
      } else {
        if (buffer_.empty()) fail = Refill();
        if (fail.ok() && buffer_.empty()) fail = MaybeSweep();
        if (fail.ok() && buffer_.empty()) MaybeCheckpoint();
        if (!fail.ok()) {
          finished_ = true;
        } else if (buffer_.empty()) {
          return;
        } else {
          Outgoing& next = buffer_.front();
          buffered_bytes_ -= std::min(buffered_bytes_, next.size());
          writing_bytes_ = next.size();
          writing_covered_ = next.covered;
          writing_events_ = next.events;
          writing_ = next.Take();
          buffer_.pop_front();
          write_in_flight_ = true;
        }
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
    grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor = nullptr;
    {
      absl::MutexLock lock(&mu_);
      write_in_flight_ = false;
      writing_.Clear();
      writing_bytes_ = 0;
      last_sent_ = std::max(last_sent_, writing_covered_);
      events_sent_ += writing_events_;
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

  bool WantsSweepTicks() const override { return notify_; }

  void SweepTick() override {
    {
      absl::MutexLock lock(&mu_);
      sweep_due_ = true;
    }
    Pump();
  }

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
    return buffered_bytes_ + writing_bytes_;
  }

 private:
  bool batching() const { return batch_limit_ > 1; }

  void Push(Outgoing message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    buffered_bytes_ += message.size();
    buffer_.push_back(std::move(message));
  }

  // Queues a control message (caught_up, fell_behind, checkpoint) after
  // the events before it.
  void PushControl(const v1::SubscribeResponse& message, uint64_t covered)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    FlushBatch();
    Push(Encoded(message, covered));
  }

  // Queues one matching event, encoded as `serialized`.
  void AddEvent(uint64_t position, absl::string_view serialized,
                v1::ClaimStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Room for the event and its few header bytes up front: growing a
    // string byte by byte from empty reallocates it several times.
    constexpr size_t kItemOverhead = 16;
    if (!batching()) {
      Outgoing message;
      message.body.reserve(serialized.size() + kItemOverhead);
      AppendHeader(kResponseEvent, serialized.size(), &message.body);
      message.body.append(serialized.data(), serialized.size());
      AppendEnum(kResponseStatusAfter, status, &message.body);
      message.covered = position;
      message.events = 1;
      Push(std::move(message));
      return;
    }
    // EventBatch.events[i] = SubscribedEvent{event, status_after}.
    const size_t item_size = 1 + VarintSize(serialized.size()) +
                             serialized.size() + EnumSize(status);
    if (batch_.events == 0) {
      batch_.body.reserve(
          std::min(kMaxBatchBytes, (serialized.size() + kItemOverhead) *
                                       std::min<size_t>(batch_limit_, 8)));
    }
    AppendHeader(kBatchEvents, item_size, &batch_.body);
    AppendHeader(kItemEvent, serialized.size(), &batch_.body);
    batch_.body.append(serialized.data(), serialized.size());
    AppendEnum(kItemStatusAfter, status, &batch_.body);
    batch_.covered = position;
    ++batch_.events;
    if (batch_.events >= batch_limit_ || batch_.body.size() >= kMaxBatchBytes) {
      FlushBatch();
    }
  }

  // Queues the events gathered for a batch, if any, as one message.
  void FlushBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (batch_.events == 0) return;
    AppendHeader(kResponseEvents, batch_.body.size(), &batch_.header);
    Push(std::move(batch_));
    batch_ = Outgoing();
  }

  // Whether a refill has gathered enough: one batch, or a buffer's worth of
  // single-event messages.
  bool Full() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return batching() ? !buffer_.empty() : buffer_.size() >= kBufferMessages;
  }

  // Examines the next events after next_ - 1 and buffers the matching ones,
  // plus fell_behind / caught_up transitions. Bounded work per call.
  absl::Status Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t want = batching() ? batch_limit_ : kBufferMessages;
    size_t scanned = 0;
    while (buffer_.empty() && scanned < kScanPerRefill) {
      std::vector<core::LiveEventPtr> live;
      switch (hub_->Read(next_, want, &live, shared_from_this())) {
        case core::Hub::ReadResult::kEvents:
          if (live.empty()) return absl::OkStatus();
          for (const core::LiveEventPtr& e : live) {
            next_ = e->event.position() + 1;
            ++scanned;
            if (events_ &&
                (filter_matches_all_ || domain::Matches(filter_, e->event))) {
              AddEvent(e->event.position(), e->serialized, e->status_after);
            }
          }
          break;
        case core::Hub::ReadResult::kWaiting:
          FlushBatch();
          if (!live_) {
            live_ = true;
            v1::SubscribeResponse message;
            message.mutable_caught_up()->set_position(next_ - 1);
            PushControl(message, next_ - 1);
          }
          return absl::OkStatus();
        case core::Hub::ReadResult::kFellBehind: {
          if (live_) {
            live_ = false;
            v1::SubscribeResponse message;
            message.mutable_fell_behind()->set_position(next_ - 1);
            PushControl(message, next_ - 1);
          }
          const uint64_t before = next_;
          absl::Status parse_error;
          absl::Status s = store_->ReadEventBytes(
              next_, [&](uint64_t position, absl::string_view bytes) {
                next_ = position + 1;
                ++scanned;
                bool matches = events_ && filter_matches_all_;
                if (events_ && !matches) {
                  if (!scratch_.ParseFromArray(bytes.data(), bytes.size())) {
                    parse_error = absl::DataLossError(absl::StrFormat(
                        "event %d: stored bytes do not parse", position));
                    return false;
                  }
                  matches = domain::Matches(filter_, scratch_);
                }
                if (matches) {
                  AddEvent(position, bytes, v1::CLAIM_STATUS_UNSPECIFIED);
                }
                return !Full() && scanned < kScanPerRefill;
              });
          if (!s.ok()) return s;
          if (!parse_error.ok()) return parse_error;
          if (next_ == before) {
            // The window says these events exist, so the store has them.
            return absl::DataLossError(
                absl::StrFormat("event %d is missing from the log", next_));
          }
          break;
        }
      }
      FlushBatch();
    }
    return absl::OkStatus();
  }

  // Overdue notices, while live and with nothing else to send: a sweep
  // starts on a SweepTick (and when the stream first goes live) with a safe
  // time S, sends the notices after cursor_ up to S in (overdue_at,
  // claim_id) order, then moves cursor_ to (S, ""). Each call examines at
  // most kSweepScan entries and buffers at most kBufferMessages notices; an
  // unfinished sweep goes on when the buffer has drained (or on the next
  // tick), still up to the same S.
  //
  // Why nothing is missed or repeated: cursor_ only moves forward, and an
  // index entry written after S was taken has overdue_at >= its event's
  // recorded_at > S (Writer::SafeTime), so it always lies after the cursor;
  // the scan's snapshot, taken after S, holds every entry committed before.
  absl::Status MaybeSweep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!notify_ || !live_) return absl::OkStatus();
    if (!sweep_until_) {
      if (!sweep_due_) return absl::OkStatus();
      sweep_due_ = false;
      sweep_until_ = safe_time_();
    }
    const domain::OverdueCursor from = cursor_;
    size_t examined = 0;
    bool complete = true;
    absl::Status read;
    absl::Status s = store_->ScanOverdue(
        from, *sweep_until_,
        [&](const storage::EventStore::OverdueEntry& entry) {
          if (examined == kSweepScan || buffer_.size() >= kBufferMessages) {
            complete = false;
            return false;
          }
          ++examined;
          if (!filter_.claim_id().empty() &&
              filter_.claim_id() != entry.claim_id) {
            cursor_ = {entry.overdue_at, std::string(entry.claim_id)};
            return true;  // not read at all
          }
          absl::StatusOr<std::optional<v1::ClaimView>> claim =
              store_->GetClaim(entry.claim_id);
          if (!claim.ok()) {
            read = claim.status();
            return false;
          }
          cursor_ = {entry.overdue_at, std::string(entry.claim_id)};
          // The claim as it is now. Its episode may have ended since the
          // scan's snapshot (no notice: it began and ended between two
          // sweeps) or been replaced by a later one, which lies after S and
          // comes with a later sweep.
          if (!claim->has_value() || !(*claim)->has_overdue_at() ||
              domain::FromProto((*claim)->overdue_at()) != entry.overdue_at ||
              !domain::MatchesClaim(filter_, **claim)) {
            return true;
          }
          PushNotice(**claim);
          return true;
        });
    if (s.ok()) s = read;
    if (!s.ok()) return s;
    if (complete) {
      domain::OverdueCursor swept{*sweep_until_, ""};
      if (cursor_ < swept) cursor_ = std::move(swept);
      sweep_until_.reset();
    }
    return absl::OkStatus();
  }

  void PushNotice(const v1::ClaimView& claim)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::SubscribeResponse message;
    v1::ClaimOverdue* notice = message.mutable_overdue();
    notice->set_claim_id(claim.claim_id());
    *notice->mutable_due_at() = claim.due_at();
    *notice->mutable_overdue_at() = claim.overdue_at();
    // Read after the claim: the claim is as of this position or earlier.
    notice->set_position(
        std::max(store_->LastPosition(), claim.last_position()));
    *notice->mutable_cursor() = domain::CursorToProto(cursor_);
    notice->set_kind(claim.kind());
    notice->set_claimant(claim.claimant());
    notice->set_subject(claim.subject());
    notice->set_text(claim.text());
    cursor_reported_ = cursor_;
    PushControl(message, /*covered=*/0);  // a notice covers no position
  }

  // With nothing to send: a checkpoint when the position (or, for overdue
  // notices, the cursor) moved past what was last sent and the interval has
  // passed.
  void MaybeCheckpoint() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t scanned_to = next_ - 1;
    const absl::Time now = absl::Now();
    const bool cursor_moved = notify_ && cursor_reported_ < cursor_;
    if ((scanned_to > last_sent_ || cursor_moved) &&
        now - last_checkpoint_ >= checkpoint_interval_) {
      last_checkpoint_ = now;
      v1::SubscribeResponse message;
      message.mutable_checkpoint()->set_position(scanned_to);
      if (notify_) {
        *message.mutable_checkpoint()->mutable_overdue_cursor() =
            domain::CursorToProto(cursor_);
        cursor_reported_ = cursor_;
      }
      // O(log n) reads of immutable tree nodes; the position is committed.
      if (absl::StatusOr<merkle::Hash> root = store_->RootAt(scanned_to);
          root.ok()) {
        message.mutable_checkpoint()->set_root_hash(merkle::ToBytes(*root));
      }
      PushControl(message, scanned_to);
    }
  }

  const uint64_t id_;
  const std::string peer_;
  const v1::EventFilter filter_;
  const bool filter_matches_all_;
  const size_t batch_limit_;  // events per message; batches when > 1
  const storage::EventStore* const store_;
  core::Hub* const hub_;
  const absl::Duration checkpoint_interval_;
  const bool notify_;  // overdue.notify
  const bool events_;  // !overdue.only
  const std::function<absl::Time()> safe_time_;

  mutable absl::Mutex mu_;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* reactor_ ABSL_GUARDED_BY(mu_) =
      nullptr;
  uint64_t next_ ABSL_GUARDED_BY(mu_);       // next position to examine
  uint64_t last_sent_ ABSL_GUARDED_BY(mu_);  // covered by messages sent
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stop_status_ ABSL_GUARDED_BY(mu_);
  std::deque<Outgoing> buffer_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  Outgoing batch_ ABSL_GUARDED_BY(mu_);     // events gathered, not yet queued
  v1::Event scratch_ ABSL_GUARDED_BY(mu_);  // parses stored events to filter
  grpc::ByteBuffer writing_;                // owned by the write in flight
  size_t writing_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t writing_covered_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t writing_events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t events_sent_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_checkpoint_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Overdue notices: everything up to cursor_ is buffered or sent, and
  // cursor_reported_ is the last cursor a notice or checkpoint carried.
  domain::OverdueCursor cursor_ ABSL_GUARDED_BY(mu_);
  domain::OverdueCursor cursor_reported_ ABSL_GUARDED_BY(mu_);
  bool sweep_due_ ABSL_GUARDED_BY(mu_) = true;  // the first one when live
  // The safe time of the sweep in progress.
  std::optional<absl::Time> sweep_until_ ABSL_GUARDED_BY(mu_);
};

class SubscribeReactor final
    : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit SubscribeReactor(std::shared_ptr<Subscription> subscription)
      : subscription_(std::move(subscription)) {
    subscription_->Attach(this);
    subscription_->Pump();
  }
  // Each reaction starts with GrpcReact, keyed on the reactor as
  // Subscription's operations are (grpc_order.h).
  void OnWriteDone(bool ok) override {
    GrpcReact(Key());
    subscription_->OnWriteDone(ok);
  }
  void OnCancel() override {
    GrpcReact(Key());
    subscription_->OnCancel();
  }
  void OnDone() override {
    GrpcReact(Key());
    subscription_->OnDone();
    delete this;
  }

 private:
  const void* Key() {
    return static_cast<grpc::ServerWriteReactor<grpc::ByteBuffer>*>(this);
  }

  const std::shared_ptr<Subscription> subscription_;
};

class RefusedReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedReactor(const absl::Status& status) {
    Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* StartSubscription(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer& raw_request,
    const storage::EventStore* store, core::Hub* hub,
    const domain::Limits& limits, absl::Duration checkpoint_interval,
    const std::function<absl::Time()>& safe_time) {
  v1::SubscribeRequest request;
  if (absl::Status s = DecodeMessage(raw_request, &request); !s.ok()) {
    return new RefusedReactor(s);
  }
  if (absl::Status s = domain::ValidateEventFilter(request.filter(), limits);
      !s.ok()) {
    return new RefusedReactor(s);
  }
  if (absl::Status s =
          domain::ValidateOverdueOptions(request.overdue(), limits);
      !s.ok()) {
    return new RefusedReactor(s);
  }
  // Without a cursor: only episodes that begin from now on, i.e. after a
  // safe time taken now.
  domain::OverdueCursor overdue_cursor;
  if (request.overdue().has_after()) {
    overdue_cursor = domain::CursorFromProto(request.overdue().after());
  } else if (request.overdue().notify()) {
    overdue_cursor.at = safe_time();
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
      request, ctx->peer(), store, hub, start, checkpoint_interval, safe_time,
      std::move(overdue_cursor));
  if (absl::Status s = hub->Register(subscription, ctx->peer()); !s.ok()) {
    return new RefusedReactor(s);
  }
  return new SubscribeReactor(std::move(subscription));
}

}  // namespace factlog::rpc
