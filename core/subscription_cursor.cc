#include "core/subscription_cursor.h"

#include <algorithm>
#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/subscribe_response.h"
#include "domain/event_filter.h"
#include "domain/known_at.h"
#include "domain/merkle.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"

namespace factlog::core {
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

EncodedResponse Encoded(const v1::SubscribeResponse& message,
                        uint64_t covered) {
  EncodedResponse out;
  message.SerializeToString(&out.body);
  out.covered = covered;
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<SubscriptionCursor>> SubscriptionCursor::Open(
    const v1::SubscribeRequest& request, const std::string& peer,
    const domain::Limits& limits, const Sources& sources) {
  if (absl::Status s = domain::ValidateEventFilter(request.filter(), limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          domain::ValidateOverdueOptions(request.overdue(), limits);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = domain::RequestedKnownAt(request).status(); !s.ok()) {
    return s;
  }
  // Without a cursor: only episodes that begin from now on, i.e. after a
  // safe time taken now.
  domain::OverdueCursor overdue_cursor;
  if (request.overdue().has_after()) {
    overdue_cursor = domain::CursorFromProto(request.overdue().after());
  } else if (request.overdue().notify()) {
    overdue_cursor.at = sources.safe_time();
  }
  uint64_t start;
  if (request.start_case() == v1::SubscribeRequest::kFromEnd) {
    start = sources.hub->LastPublished();
  } else {
    start = request.from_position();
    const uint64_t last = sources.store->LastPosition();
    if (start > last) {
      return absl::OutOfRangeError(absl::StrFormat(
          "from_position: %d is beyond the last committed position %d", start,
          last));
    }
  }
  std::shared_ptr<SubscriptionCursor> cursor(new SubscriptionCursor(
      request, peer, sources, start, std::move(overdue_cursor)));
  if (absl::Status s = sources.hub->Register(cursor, peer); !s.ok()) return s;
  return cursor;
}

// A cursor the client did not send (from now on) goes out in the first
// checkpoint, so cursor_reported_ starts empty then.
SubscriptionCursor::SubscriptionCursor(const v1::SubscribeRequest& request,
                                       std::string peer, const Sources& sources,
                                       uint64_t start,
                                       domain::OverdueCursor overdue_cursor)
    : id_(next_subscription_id++),
      peer_(std::move(peer)),
      filter_(request.filter()),
      filter_matches_all_(request.filter().ByteSizeLong() == 0),
      batch_limit_(std::min<size_t>(request.max_events_per_message(),
                                    kMaxEventsPerMessage)),
      store_(sources.store),
      hub_(sources.hub),
      checkpoint_interval_(sources.checkpoint_interval),
      notify_(request.overdue().notify()),
      events_(!request.overdue().only()),
      safe_time_(sources.safe_time),
      known_at_(
          request.has_known_at()
              ? std::optional<absl::Time>(domain::FromProto(request.known_at()))
              : std::nullopt),
      next_(start + 1),
      last_sent_(start),
      cursor_(overdue_cursor),
      cursor_reported_(request.overdue().has_after()
                           ? std::move(overdue_cursor)
                           : domain::OverdueCursor()) {}

void SubscriptionCursor::Attach(std::weak_ptr<Listener> listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

absl::StatusOr<bool> SubscriptionCursor::Next(EncodedResponse* out) {
  absl::MutexLock lock(&mu_);
  if (!stop_status_.ok()) return stop_status_;
  absl::Status fail;
  if (buffer_.empty()) fail = Refill();
  if (fail.ok() && buffer_.empty()) fail = MaybeSweep();
  if (fail.ok() && buffer_.empty()) MaybeCheckpoint();
  if (!fail.ok()) {
    stop_status_ = fail;
    return fail;
  }
  if (buffer_.empty()) return false;
  EncodedResponse& next = buffer_.front();
  buffered_bytes_ -= std::min(buffered_bytes_, next.size());
  writing_bytes_ = next.size();
  writing_covered_ = next.covered;
  writing_events_ = next.events;
  *out = std::move(next);
  buffer_.pop_front();
  return true;
}

void SubscriptionCursor::WriteDone() {
  absl::MutexLock lock(&mu_);
  writing_bytes_ = 0;
  last_sent_ = std::max(last_sent_, writing_covered_);
  events_sent_ += writing_events_;
}

void SubscriptionCursor::Close() {
  {
    absl::MutexLock lock(&mu_);
    listener_.reset();
  }
  hub_->Unregister(this);
}

void SubscriptionCursor::NotifyListener() {
  std::shared_ptr<Listener> listener;
  {
    absl::MutexLock lock(&mu_);
    listener = listener_.lock();
  }
  if (listener != nullptr) listener->Ready();
}

void SubscriptionCursor::Wake() { NotifyListener(); }

void SubscriptionCursor::SweepTick() {
  {
    absl::MutexLock lock(&mu_);
    sweep_due_ = true;
  }
  NotifyListener();
}

void SubscriptionCursor::Stop(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (stop_status_.ok()) stop_status_ = status;
  }
  NotifyListener();  // the stream ends now unless a write is in flight
}

v1::SubscriberStats SubscriptionCursor::Stats() const {
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

size_t SubscriptionCursor::BufferedBytes() const {
  absl::MutexLock lock(&mu_);
  return buffered_bytes_ + writing_bytes_;
}

void SubscriptionCursor::Push(EncodedResponse message) {
  buffered_bytes_ += message.size();
  buffer_.push_back(std::move(message));
}

// Queues a control message (caught_up, fell_behind, checkpoint, notice)
// after the events before it.
void SubscriptionCursor::PushControl(const v1::SubscribeResponse& message,
                                     uint64_t covered) {
  FlushBatch();
  Push(Encoded(message, covered));
}

v1::ClaimStatus SubscriptionCursor::KnownStatus(uint64_t position,
                                                absl::string_view serialized) {
  v1::Event event;
  if (!event.ParseFromArray(serialized.data(), serialized.size())) {
    known_error_ = absl::DataLossError(
        absl::StrFormat("event %d: stored bytes do not parse", position));
    return v1::CLAIM_STATUS_UNSPECIFIED;
  }
  domain::KnownAtReplay replay(*known_at_);
  absl::Status s =
      store_->ReadClaimEvents(event.claim_id(), 1, [&](const v1::Event& e) {
        if (e.position() > position) return false;
        replay.Add(e);
        return true;
      });
  if (!s.ok()) {
    known_error_ = s;
    return v1::CLAIM_STATUS_UNSPECIFIED;
  }
  if (!replay.exists()) return v1::CLAIM_STATUS_UNSPECIFIED;
  return domain::EffectiveStatus(replay.view(), *known_at_);
}

// Queues one matching event, encoded as `serialized`.
void SubscriptionCursor::AddEvent(uint64_t position,
                                  absl::string_view serialized,
                                  v1::ClaimStatus status) {
  if (known_at_) status = KnownStatus(position, serialized);
  // Room for the event and its few header bytes up front: growing a
  // string byte by byte from empty reallocates it several times.
  constexpr size_t kItemOverhead = 16;
  if (!batching()) {
    EncodedResponse message;
    message.body.reserve(serialized.size() + kItemOverhead);
    AppendEventResponse(serialized, status, &message.body);
    message.covered = position;
    message.events = 1;
    Push(std::move(message));
    return;
  }
  if (batch_.events == 0) {
    batch_.body.reserve(
        std::min(kMaxBatchBytes, (serialized.size() + kItemOverhead) *
                                     std::min<size_t>(batch_limit_, 8)));
  }
  AppendBatchItem(serialized, status, &batch_.body);
  batch_.covered = position;
  ++batch_.events;
  if (batch_.events >= batch_limit_ || batch_.body.size() >= kMaxBatchBytes) {
    FlushBatch();
  }
}

// Queues the events gathered for a batch, if any, as one message.
void SubscriptionCursor::FlushBatch() {
  if (batch_.events == 0) return;
  AppendBatchResponseHeader(batch_.body.size(), &batch_.header);
  Push(std::move(batch_));
  batch_ = EncodedResponse();
}

// Whether a refill has gathered enough: one batch, or a buffer's worth of
// single-event messages.
bool SubscriptionCursor::Full() const {
  return batching() ? !buffer_.empty() : buffer_.size() >= kBufferMessages;
}

// Examines the next events after next_ - 1 and buffers the matching ones,
// plus fell_behind / caught_up transitions. Bounded work per call.
absl::Status SubscriptionCursor::Refill() {
  const size_t want = batching() ? batch_limit_ : kBufferMessages;
  size_t scanned = 0;
  while (buffer_.empty() && scanned < kScanPerRefill) {
    std::vector<LiveEventPtr> live;
    switch (hub_->Read(next_, want, &live, shared_from_this())) {
      case Hub::ReadResult::kEvents:
        if (live.empty()) return known_error_;
        for (const LiveEventPtr& e : live) {
          next_ = e->event.position() + 1;
          ++scanned;
          if (events_ &&
              (filter_matches_all_ || domain::Matches(filter_, e->event))) {
            AddEvent(e->event.position(), e->serialized, e->status_after);
          }
        }
        break;
      case Hub::ReadResult::kWaiting:
        FlushBatch();
        if (!live_) {
          live_ = true;
          v1::SubscribeResponse message;
          message.mutable_caught_up()->set_position(next_ - 1);
          PushControl(message, next_ - 1);
        }
        return known_error_;
      case Hub::ReadResult::kFellBehind:
        if (live_) {
          live_ = false;
          v1::SubscribeResponse message;
          message.mutable_fell_behind()->set_position(next_ - 1);
          PushControl(message, next_ - 1);
        }
        if (absl::Status s = RefillFromStore(&scanned); !s.ok()) return s;
        break;
    }
    FlushBatch();
  }
  return known_error_;
}

// The catch-up half of Refill: the events from next_ on, as stored, until
// the buffer is full or `*scanned` reaches kScanPerRefill.
absl::Status SubscriptionCursor::RefillFromStore(size_t* scanned) {
  const uint64_t before = next_;
  absl::Status parse_error;
  absl::Status s = store_->ReadEventBytes(
      next_, [&](uint64_t position, absl::string_view bytes) {
        next_ = position + 1;
        ++*scanned;
        bool matches = events_ && filter_matches_all_;
        if (events_ && !matches) {
          if (!scratch_.ParseFromArray(bytes.data(), bytes.size())) {
            parse_error = absl::DataLossError(absl::StrFormat(
                "event %d: stored bytes do not parse", position));
            return false;
          }
          matches = domain::Matches(filter_, scratch_);
        }
        if (matches) AddEvent(position, bytes, v1::CLAIM_STATUS_UNSPECIFIED);
        return !Full() && *scanned < kScanPerRefill;
      });
  if (!s.ok()) return s;
  if (!parse_error.ok()) return parse_error;
  if (next_ == before) {
    // The window says these events exist, so the store has them.
    return absl::DataLossError(
        absl::StrFormat("event %d is missing from the log", next_));
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
absl::Status SubscriptionCursor::MaybeSweep() {
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
      from, *sweep_until_, [&](const storage::EventStore::OverdueEntry& entry) {
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

void SubscriptionCursor::PushNotice(const v1::ClaimView& claim) {
  v1::SubscribeResponse message;
  v1::ClaimOverdue* notice = message.mutable_overdue();
  notice->set_claim_id(claim.claim_id());
  *notice->mutable_due_at() = claim.due_at();
  *notice->mutable_overdue_at() = claim.overdue_at();
  // Read after the claim: the claim is as of this position or earlier.
  notice->set_position(std::max(store_->LastPosition(), claim.last_position()));
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
void SubscriptionCursor::MaybeCheckpoint() {
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

}  // namespace factlog::core
