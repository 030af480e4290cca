// `factlog watch`: follows EventService.Subscribe, printing events as they
// are committed, and survives server restarts.
//
// The stream is resumed after the highest position the client knows to be
// covered: the last event printed, or the last checkpoint, caught_up or
// fell_behind position received, whichever is higher. Since the server sends
// exactly the matching events after `from_position`, a resumed stream
// neither repeats nor skips an event. Overdue notices (--overdue) are
// resumed the same way, after the cursor of the last notice or checkpoint
// received.
#ifndef FACTLOG_CLIENT_WATCH_H_
#define FACTLOG_CLIENT_WATCH_H_

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "client/connection.h"
#include "factlog/v1/service.pb.h"

namespace factlog::cli {

struct WatchOptions {
  // Resume after this position (0 = the whole history); nullopt = only
  // events committed after the watch starts.
  std::optional<uint64_t> from_position;
  factlog::v1::EventFilter filter;
  // SubscribeRequest.overdue: notify (with `only`: notices, no events) and
  // where the notices start (`after` unset: from now).
  factlog::v1::OverdueOptions overdue;
};

// Runs `factlog watch` until SIGINT or SIGTERM, then returns kExitOk.
//
// Table mode prints one WatchLine() per event (with the rating when the
// claim is RATED, read with GetClaim as of the event's position unless the
// event is the verdict) and OverdueLines() per overdue notice on stdout, and a
// short notice on stderr for caught_up and fell_behind; JSON mode (-o json and
// -o jsonl alike: a stream is not one document) prints every SubscribeResponse
// (checkpoints included) as one JSON line. Output is flushed line by line. When
// the stream ends with UNAVAILABLE, or the server cancels it (CANCELLED that
// the watch did not ask for) or ends it without an error, the watch says so on
// stderr and reconnects with exponential backoff, resuming as described above.
//
// Throws CommandError: kExitUnreachable when the server cannot be reached at
// the start (within --timeout); kExitRefused for any other error
// (INVALID_ARGUMENT, OUT_OF_RANGE, RESOURCE_EXHAUSTED, ...).
//
// Blocks SIGINT and SIGTERM for the rest of the process (see
// SignalWatcher), so it must be called before any other thread is started.
int RunWatch(const WatchOptions& watch, const GlobalOptions& options);

// Events per SubscribeResponse the watch asks for.
constexpr uint32_t kWatchEventsPerMessage = 256;

// Where to resume a subscription. A value; not thread-safe.
class ResumePoint {
 public:
  // `overdue`: the overdue options of the first request; later requests
  // resume after the last overdue cursor received.
  explicit ResumePoint(std::optional<uint64_t> from_position,
                       factlog::v1::OverdueOptions overdue = {})
      : position_(from_position), overdue_(std::move(overdue)) {}

  // Takes note of a message received (events, checkpoints, caught_up and
  // fell_behind all cover a position); the position never goes back.
  // Overdue notices and checkpoints carrying an overdue cursor move the
  // overdue cursor (the server only ever sends later ones).
  void Note(const factlog::v1::SubscribeResponse& message);

  // nullopt until a position is known when the watch started at the end.
  std::optional<uint64_t> position() const { return position_; }

  // The request that continues right after position(), or from the end when
  // no position is known yet; with overdue notices, after the last cursor
  // received (or as first asked, when none was).
  factlog::v1::SubscribeRequest Request(
      const factlog::v1::EventFilter& filter) const;

 private:
  std::optional<uint64_t> position_;
  factlog::v1::OverdueOptions overdue_;
};

// Exponential backoff with jitter: the n-th delay is about
// min(initial * 2^n, max), scaled by a random factor in [0.8, 1.2] (still
// capped at max). Not thread-safe.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : initial_(initial), max_(max), next_(initial) {}

  absl::Duration Next();
  void Reset() { next_ = initial_; }

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Duration next_;
  std::minstd_rand random_{std::random_device{}()};
};

// Turns SIGINT and SIGTERM into a callback on a thread of its own, so that
// a blocking call elsewhere can be cancelled cleanly (no handler runs on an
// arbitrary thread, nothing async-signal-unsafe happens in a handler).
//
// The constructor blocks both signals in the calling thread, and so in every
// thread started from it afterwards: construct it before anything (gRPC)
// starts threads. `on_signal` runs on the watcher's thread for the first
// signal; a second signal ends the process at once with 128 + signal, for a
// user whose first Ctrl-C did not get through. The destructor stops the
// thread; the signals stay blocked.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal);
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

 private:
  void Run();

  std::function<void(int)> on_signal_;
  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_WATCH_H_
