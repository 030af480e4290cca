#ifndef FACTLOG_CORE_SUBSCRIPTION_CURSOR_H_
#define FACTLOG_CORE_SUBSCRIPTION_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/hub.h"
#include "domain/limits.h"
#include "domain/overdue.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "storage/event_store.h"

namespace factlog::core {

// One SubscribeResponse, encoded and ready to send: `header` then `body`
// on the wire. Two parts so that a batch goes out as it was gathered, its
// header written after it; `header` is empty for other messages.
struct EncodedResponse {
  std::string header;
  std::string body;
  uint64_t covered = 0;  // the last log position it accounts for
  uint64_t events = 0;   // events it carries

  size_t size() const { return header.size() + body.size(); }
};

// The engine side of one EventService.Subscribe stream (the contract in
// service.proto; see docs/ARCHITECTURE.md, Read path): a cursor over the
// log that yields the stream's messages, encoded, for a transport to send.
// It reads the store while catching up and the hub's window while live,
// switching between the two as the hub says (Hub::Read), and sweeps the
// store's overdue index for ClaimOverdue notices. It knows nothing of gRPC:
// rpc/subscription.h writes what it yields.
//
// What it yields, in this order on the stream:
//  * every committed event after the start position that matches the
//    filter, in position order, exactly once: no gap and no repeat across
//    the switches between store and window, since the cursor only moves
//    forward, one position at a time, and the hub registers the waiter
//    atomically with the check (Hub::Read). Never an event that is not
//    durable: the hub publishes and the store holds only committed ones.
//    One `event` per message, or `events` batches with
//    max_events_per_message > 1 (up to that many, at most 1024, and about
//    256 KiB). Live events carry status_after; events read from the store
//    carry none. With known_at, every event carries the status of its
//    claim as known then, as recorded up to the event (a replay each). With
//    overdue.only, no events (the cursor still moves).
//  * caught_up when it first reaches the end of the log, and again after
//    each fell_behind; fell_behind when the window has moved past it while
//    it was live. Both after the events before them.
//  * with overdue.notify, while live and with nothing else to send:
//    ClaimOverdue notices in (overdue_at, claim_id) order, each exactly
//    once (the sweep below).
//  * with nothing else to send: a checkpoint when the position (or the
//    overdue cursor) moved past what was last sent and checkpoint_interval
//    has passed since the last one.
// Each event is encoded once for all subscribers (the hub's bytes, or as
// stored) and copied once into a message; a message is not copied again.
//
// The overdue sweep: on each of the hub's sweep ticks (and when the stream
// first goes live) it takes a safe time S (`safe_time`, Writer::SafeTime:
// no event committed later can be recorded at or before it), yields the
// notices after its cursor up to S, then moves its cursor to (S, ""). One
// call examines a bounded number of entries; a sweep may span several.
//
// Thread-safety: thread-safe. The hub calls the HubSubscriber methods on
// its threads; the transport calls the others, and may call Next from
// within Listener::Ready, which the cursor calls without holding its lock.
// A transport that guards its own state with a lock may hold it across
// calls into the cursor (the cursor never calls out under its lock, except
// into the hub and the store).
class SubscriptionCursor final
    : public HubSubscriber,
      public std::enable_shared_from_this<SubscriptionCursor> {
 public:
  // What cursors read from. Everything must outlive every cursor (the
  // server stops the hub, which ends the streams, before closing the
  // store); `safe_time` must be thread-safe.
  struct Sources {
    const storage::EventStore* store = nullptr;
    Hub* hub = nullptr;
    absl::Duration checkpoint_interval;
    std::function<absl::Time()> safe_time;
  };

  // The transport that sends what the cursor yields.
  class Listener {
   public:
    virtual ~Listener() = default;
    // The cursor may have something to yield: call Next, unless a message
    // is still being sent (then call it after). Called on the hub's
    // threads; must not block for long.
    virtual void Ready() = 0;
  };

  // Validates `request` against `limits` and opens a cursor registered with the
  // hub, from the request's start (from_end: the last published position).
  // INVALID_ARGUMENT for the filter, overdue options or known_at (the
  // message names the field), OUT_OF_RANGE for a from_position beyond the log's
  // last position, RESOURCE_EXHAUSTED beyond the hub's subscriber limits,
  // UNAVAILABLE once the hub shuts down. `peer` names the client in stats
  // and limits. The hub may call the cursor as soon as this returns.
  static absl::StatusOr<std::shared_ptr<SubscriptionCursor>> Open(
      const v1::SubscribeRequest& request, const std::string& peer,
      const domain::Limits& limits, const Sources& sources);

  SubscriptionCursor(const SubscriptionCursor&) = delete;
  SubscriptionCursor& operator=(const SubscriptionCursor&) = delete;

  // Sets the listener told when to call Next; until then, or once it is
  // destroyed, nobody is told. Does not own it.
  void Attach(std::weak_ptr<Listener> listener);

  // The next message to send. True with it in `*out`; false when there is
  // none yet (Listener::Ready says when to ask again). A non-OK status ends
  // the stream and every later call returns one: UNAVAILABLE when the hub
  // shut down, Stop's status (Stop), or the store's error (DATA_LOSS for an
  // event missing from the log or whose bytes do not parse). At most one
  // message is out at a time: after true, call WriteDone before Next again.
  absl::StatusOr<bool> Next(EncodedResponse* out);

  // The message Next gave was written (or the stream failed): its events
  // count as sent, and its position as covered.
  void WriteDone();

  // The stream is over: unregisters from the hub and forgets the listener.
  // Call once, last.
  void Close();

  // HubSubscriber. Stop also ends the stream early for the transport
  // (e.g. CANCELLED when the client cancels): Next returns `status`.
  void Wake() override;
  bool WantsSweepTicks() const override { return notify_; }
  void SweepTick() override;
  void Stop(const absl::Status& status) override;
  v1::SubscriberStats Stats() const override;
  size_t BufferedBytes() const override;

 private:
  // `overdue_cursor`: where notices start (with overdue.notify).
  SubscriptionCursor(const v1::SubscribeRequest& request, std::string peer,
                     const Sources& sources, uint64_t start,
                     domain::OverdueCursor overdue_cursor);

  void NotifyListener();
  bool batching() const { return batch_limit_ > 1; }
  void Push(EncodedResponse message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushControl(const v1::SubscribeResponse& message, uint64_t covered)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The status of `serialized`'s claim as known at known_at_, as recorded
  // up to `position`; UNSPECIFIED when not yet asserted then.
  v1::ClaimStatus KnownStatus(uint64_t position, absl::string_view serialized)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddEvent(uint64_t position, absl::string_view serialized,
                v1::ClaimStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Full() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RefillFromStore(size_t* scanned)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MaybeSweep() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushNotice(const v1::ClaimView& claim)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeCheckpoint() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const uint64_t id_;
  const std::string peer_;
  const v1::EventFilter filter_;
  const bool filter_matches_all_;
  const size_t batch_limit_;  // events per message; batches when > 1
  const storage::EventStore* const store_;
  Hub* const hub_;
  const absl::Duration checkpoint_interval_;
  const bool notify_;  // overdue.notify
  const bool events_;  // !overdue.only
  const std::function<absl::Time()> safe_time_;
  const std::optional<absl::Time> known_at_;  // SubscribeRequest.known_at

  mutable absl::Mutex mu_;
  std::weak_ptr<Listener> listener_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_);       // next position to examine
  uint64_t last_sent_ ABSL_GUARDED_BY(mu_);  // covered by messages sent
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  // Why the stream ends (Stop, or the error Next returned); OK until then.
  absl::Status stop_status_ ABSL_GUARDED_BY(mu_);
  std::deque<EncodedResponse> buffer_ ABSL_GUARDED_BY(mu_);
  size_t buffered_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Events gathered for a batch, not yet queued.
  EncodedResponse batch_ ABSL_GUARDED_BY(mu_);
  v1::Event scratch_ ABSL_GUARDED_BY(mu_);  // parses stored events to filter
  // The first error computing a status for known_at_ (ends the stream).
  absl::Status known_error_ ABSL_GUARDED_BY(mu_);
  // The message Next gave out, until WriteDone.
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

}  // namespace factlog::core

#endif  // FACTLOG_CORE_SUBSCRIPTION_CURSOR_H_
