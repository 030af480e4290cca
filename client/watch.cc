#include "client/watch.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "client/format.h"
#include "client/format_events.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;

// What the signal thread shares with the watch loop: whether to stop, and
// the call in progress, which stopping cancels.
class StopSwitch {
 public:
  // From any thread: stops the watch and cancels the call in progress.
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }

  bool stopped() {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  // Registers the call about to start, so Stop() can cancel it. False when
  // already stopped: the call must not start.
  bool Begin(grpc::ClientContext* context) {
    absl::MutexLock lock(&mu_);
    if (stopped_) return false;
    active_ = context;
    return true;
  }

  void End() {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }

  // Waits `delay`, or less when stopped meanwhile. False when stopped.
  bool Sleep(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopped_), delay);
    return !stopped_;
  }

 private:
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
};

std::string ResumeText(const ResumePoint& resume) {
  return resume.position().has_value()
             ? absl::StrCat("after position ", *resume.position())
             : std::string("from the end");
}

// The rating in force right after `message`'s event when the claim is
// RATED then: a verdict's own rating, else the claim's as it stood at the
// event's position (GetClaim as_of_position, a read that cannot change).
// UNSPECIFIED when the claim is not RATED, or the read fails (the line then
// shows the status alone).
v1::Rating RatingAfter(Connection& connection,
                       const v1::SubscribeResponse& message) {
  if (message.status_after() != v1::CLAIM_STATUS_RATED) {
    return v1::RATING_UNSPECIFIED;
  }
  const v1::Event& event = message.event();
  if (event.has_verdict_issued()) return event.verdict_issued().rating();
  v1::GetClaimRequest request;
  request.set_claim_id(event.claim_id());
  request.set_as_of_position(event.position());
  grpc::ClientContext context;
  connection.PrepareUnary(&context);
  v1::ClaimView claim;
  if (!connection.claims().GetClaim(&context, request, &claim).ok()) {
    return v1::RATING_UNSPECIFIED;
  }
  return claim.rating();
}

void Print(const v1::SubscribeResponse& message, const GlobalOptions& options,
           Connection& connection) {
  if (options.json()) {  // a stream is never one document: JSON Lines
    std::cout << JsonLine(message) << std::flush;
    return;
  }
  switch (message.message_case()) {
    case v1::SubscribeResponse::kEvent:
      std::cout << WatchLine(message.event(), message.status_after(),
                             RatingAfter(connection, message),
                             options.screen_width)
                << std::flush;
      break;
    case v1::SubscribeResponse::kOverdue:
      std::cout << OverdueLines(message.overdue(), options.screen_width)
                << std::flush;
      break;
    case v1::SubscribeResponse::kCaughtUp:
      std::cerr << "-- caught up at position " << message.caught_up().position()
                << ", watching live --\n";
      break;
    case v1::SubscribeResponse::kFellBehind:
      std::cerr << "-- fell behind at position "
                << message.fell_behind().position()
                << ", catching up from disk --\n";
      break;
    case v1::SubscribeResponse::kCheckpoint:
    case v1::SubscribeResponse::kEvents:  // unbatched by the caller
    case v1::SubscribeResponse::MESSAGE_NOT_SET:
      break;
  }
}

}  // namespace

void ResumePoint::Note(const v1::SubscribeResponse& message) {
  uint64_t covered = 0;
  switch (message.message_case()) {
    case v1::SubscribeResponse::kEvent:
      covered = message.event().position();
      break;
    case v1::SubscribeResponse::kCheckpoint:
      covered = message.checkpoint().position();
      if (message.checkpoint().has_overdue_cursor()) {
        *overdue_.mutable_after() = message.checkpoint().overdue_cursor();
      }
      break;
    case v1::SubscribeResponse::kOverdue:
      *overdue_.mutable_after() = message.overdue().cursor();
      return;
    case v1::SubscribeResponse::kCaughtUp:
      covered = message.caught_up().position();
      break;
    case v1::SubscribeResponse::kFellBehind:
      covered = message.fell_behind().position();
      break;
    case v1::SubscribeResponse::kEvents:
      if (message.events().events().empty()) return;
      covered = message.events().events().rbegin()->event().position();
      break;
    case v1::SubscribeResponse::MESSAGE_NOT_SET:
      return;
  }
  if (!position_.has_value() || covered > *position_) position_ = covered;
}

v1::SubscribeRequest ResumePoint::Request(const v1::EventFilter& filter) const {
  v1::SubscribeRequest request;
  if (position_.has_value()) {
    request.set_from_position(*position_);
  } else {
    request.set_from_end(true);
  }
  *request.mutable_filter() = filter;
  request.set_max_events_per_message(kWatchEventsPerMessage);
  *request.mutable_overdue() = overdue_;
  return request;
}

absl::Duration Backoff::Next() {
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const absl::Duration delay = std::min(next_ * jitter(random_), max_);
  next_ = std::min(next_ * 2, max_);
  return delay;
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
  thread_ = std::thread([this] { Run(); });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  // Directed at the watcher's thread, where it is blocked: its sigwait
  // returns, sees done_ and ends.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWatcher::Run() {
  bool fired = false;
  while (true) {
    int signal = 0;
    if (sigwait(&signals_, &signal) != 0) continue;
    if (done_) return;
    if (fired) _exit(128 + signal);
    fired = true;
    on_signal_(signal);
  }
}

int RunWatch(const WatchOptions& watch, const GlobalOptions& options) {
  StopSwitch stop;
  // Before the connection: gRPC's threads must inherit the blocked signals.
  SignalWatcher signals([&stop](int) { stop.Stop(); });
  Connection connection(options, ConnectionKind::kLongLived);
  if (!connection.AwaitConnected([&stop] { return stop.stopped(); })) {
    return kExitOk;
  }
  // Once the server has been reached, losing it means waiting for it to
  // come back; before that, it is the usual "cannot reach" (exit 3).
  bool reached = connection.IsConnected();
  bool reconnecting = false;
  ResumePoint resume(watch.from_position, watch.overdue);
  Backoff backoff(absl::Milliseconds(100), absl::Seconds(5));
  while (true) {
    grpc::ClientContext context;
    connection.PrepareStream(&context);
    if (!stop.Begin(&context)) return kExitOk;
    const std::string resumed_at = ResumeText(resume);
    auto reader =
        connection.events().Subscribe(&context, resume.Request(watch.filter));
    v1::SubscribeResponse message;
    bool received = false;
    while (reader->Read(&message)) {
      if (!received) {
        received = true;
        reached = true;
        backoff.Reset();
        if (reconnecting) {
          std::cerr << "-- reconnected, resuming " << resumed_at << " --\n";
          reconnecting = false;
        }
      }
      if (message.has_events()) {
        // Batches save the server and this process work; they are printed
        // one event per line as before.
        for (v1::SubscribedEvent& item :
             *message.mutable_events()->mutable_events()) {
          v1::SubscribeResponse single;
          single.mutable_event()->Swap(item.mutable_event());
          single.set_status_after(item.status_after());
          Print(single, options, connection);
          resume.Note(single);
        }
        continue;
      }
      Print(message, options, connection);
      resume.Note(message);
    }
    const grpc::Status status = reader->Finish();
    stop.End();
    if (stop.stopped()) return kExitOk;
    // UNAVAILABLE: the server is shutting down or gone. CANCELLED, as we
    // did not cancel: the server cancelled the call (a stream still open
    // when its shutdown grace period ends, a call that arrived as it began
    // shutting down).
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::CANCELLED) {
      connection.Check(status);  // throws
    }
    if (!reached && connection.IsUnreachable(status)) {
      throw CommandError(kExitUnreachable,
                         connection.UnreachableMessage(status));
    }
    const std::string reason =
        status.ok() ? std::string("stream ended by the server")
                    : absl::StrCat(StatusCodeName(status.error_code()), ": ",
                                   OneLine(status.error_message()));
    const absl::Duration delay = backoff.Next();
    std::cerr << absl::StrFormat(
        "-- %s (%s), reconnecting in %.1fs --\n",
        reconnecting ? "reconnect failed" : "connection lost", reason,
        absl::ToDoubleSeconds(delay));
    reconnecting = true;
    if (!stop.Sleep(delay)) return kExitOk;
  }
}

}  // namespace factlog::cli
