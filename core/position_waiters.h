// Waits for the search index without holding a thread per wait: the
// RPCs that need the index at a position (SearchClaims' min_position,
// RecordClaim's similar claims) register a callback here and return to
// gRPC, the way commands wait for the writer (docs/ARCHITECTURE.md,
// "Invariants": who may block whom).
#ifndef FACTLOG_CORE_POSITION_WAITERS_H_
#define FACTLOG_CORE_POSITION_WAITERS_H_

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace factlog::core {

// Calls each waiter back once a position source reaches its position, or
// once its deadline passes first. One thread of its own ("factlog-waits")
// runs the callbacks of waits that had to wait; it is woken by Advanced()
// (the source moved) and by the earliest deadline. Deadlines are on the
// real clock (absl::Now()).
//
// Thread-safe. The position source must outlive the waiters.
class PositionWaiters {
 public:
  enum class Outcome {
    kReached,   // the source is at the position or beyond
    kDeadline,  // the deadline passed first
    kStopped,   // Stop() ended the wait (the server is shutting down)
  };
  using Done = std::function<void(Outcome)>;

  // `position` reads the source's position: cheap, never blocking on
  // anything that calls Advanced(). Starts the thread.
  explicit PositionWaiters(std::function<uint64_t()> position);
  ~PositionWaiters();  // Stop()s
  PositionWaiters(const PositionWaiters&) = delete;
  PositionWaiters& operator=(const PositionWaiters&) = delete;

  // Calls `done` exactly once: with kReached when the source is at
  // `position` or beyond, kDeadline when `deadline` passes first, kStopped
  // at Stop(). When the outcome is known at once (reached already, or
  // stopped) `done` runs on the calling thread before Wait returns;
  // otherwise on the waiters' thread, where it may do short work (a search,
  // a submission to the writer) but must not block: every later callback
  // waits for it.
  void Wait(uint64_t position, absl::Time deadline, Done done);

  // The source's position moved: re-checks the waits. Non-blocking; any
  // thread (the search index's position listener).
  void Advanced();

  // Waits registered and not yet called back.
  size_t Waiting() const;

  // Calls every pending wait back with kStopped and ends the thread; later
  // Waits get kStopped at once. Idempotent; from one thread at a time.
  void Stop();

 private:
  struct Pending {
    uint64_t position;
    absl::Time deadline;
    Done done;
  };
  void Run();

  const std::function<uint64_t()> position_;
  mutable absl::Mutex mu_;
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_POSITION_WAITERS_H_
