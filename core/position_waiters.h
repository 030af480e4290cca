// Calls that wait for a position without holding a thread: read-your-writes
// (a read's or Subscribe's min_position waits until this node has applied
// it; a forwarded command's answer until this node has applied it:
// docs/ARCHITECTURE.md, "Replicated mode") and the search index (SearchClaims'
// min_position, RecordClaim's similar claims: README "Search"). The call
// registers a callback here and returns to gRPC, the way commands wait for
// the writer (docs/ARCHITECTURE.md, "Invariants": who may block whom).
#ifndef FACTLOG_CORE_POSITION_WAITERS_H_
#define FACTLOG_CORE_POSITION_WAITERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/worker_pool.h"

namespace factlog::core {

struct PositionWaitersOptions {
  // The position already reached when it starts.
  uint64_t position = 0;
  // What reaches the positions, for DEADLINE_EXCEEDED's message: "<source>
  // up to position P, not yet Q, within the deadline".
  std::string source = "the position source";
  // How many threads run the callbacks (at least 1), and their name.
  int callback_threads = 2;
  std::string callback_thread_name = "factlog-waitcb";
};

// Callbacks keyed on a position, each with a deadline, called exactly once:
// with OK when the position source has reached the callback's position,
// DEADLINE_EXCEEDED (naming both positions) when its deadline passes first,
// UNAVAILABLE when the source stopped (the reason given to Stop; "shutting
// down" at destruction). Deadlines are on the real clock (absl::Now()).
//
// Generic: the source is whatever calls Advance (the writer's commits, the
// replicated log's applier, the search indexer).
//
// Threads. One thread of its own ("factlog-waits") keeps the waiters in
// position order and the deadlines in time order, and is woken only when a
// waiter became ready (an Advance past the lowest waiting position, a stop)
// or the earliest deadline passes; a wake costs O(k log n) for the k
// waiters it answers among n. It runs no callback: it hands each ready one
// to a WorkerPool of `callback_threads` threads, in position order (then in
// the order they were registered), expired ones after them in deadline
// order. A callback may therefore do real work (a search, a query, finishing
// a gRPC call) and even block briefly: it holds one pool thread, never the
// wakes of other waiters; while every pool thread is busy, ready callbacks
// queue. Callbacks may run concurrently with each other.
//
// Thread-safe: every method from any thread, callbacks included.
class PositionWaiters {
 public:
  using Callback = std::function<void(absl::Status)>;

  // Starts the waking thread and the callbacks' pool.
  explicit PositionWaiters(PositionWaitersOptions options);
  PositionWaiters(const PositionWaiters&) = delete;
  PositionWaiters& operator=(const PositionWaiters&) = delete;
  // Answers every waiting callback with UNAVAILABLE ("shutting down") unless
  // Stop answered it already, waits until every callback handed to the pool
  // has returned, then joins the threads. No Wait may be running or come.
  ~PositionWaiters();

  // The source is now at `position` (never moves back: a smaller value is
  // ignored). Cheap and non-blocking; wakes the thread only when a waiter
  // became ready; runs no callback on the caller's thread.
  void Advance(uint64_t position);
  // The position reached so far.
  uint64_t position() const;

  // The source stopped for good (a forked log, shutdown): every waiting
  // callback, and every later Wait for a position not yet reached, gets
  // UNAVAILABLE(`why`); a later Wait for a position reached still gets OK.
  // The first reason stays. Non-blocking: the callbacks run on the pool.
  void Stop(std::string why);

  // Calls `done` exactly once, always on the pool (never on the calling
  // thread, even when the answer is known at once: the caller may hold
  // locks): OK once `position` is reached, DEADLINE_EXCEEDED if `deadline`
  // passes first, UNAVAILABLE once stopped (see the class comment).
  void Wait(uint64_t position, absl::Time deadline, Callback done);

  // Waits registered and not yet handed to the pool.
  size_t Waiting() const;

 private:
  struct Waiter {
    uint64_t position;
    Callback done;
    std::multimap<uint64_t, uint64_t>::iterator by_position;
    std::multimap<absl::Time, uint64_t>::iterator by_deadline;
  };
  void Run();
  // Removes waiter `id` from every index and returns its callback.
  Callback Take(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Hand(Callback done, absl::Status status);

  const std::string source_;
  mutable absl::Mutex mu_;
  uint64_t position_ ABSL_GUARDED_BY(mu_);
  std::string stopped_ ABSL_GUARDED_BY(mu_);  // why; empty while running
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // Set when the thread has waiters to answer or a new earliest deadline.
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // The waiters by id; `by_position_` and `by_deadline_` (ordered, equal
  // keys in the order inserted) hold their ids.
  std::unordered_map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  std::multimap<uint64_t, uint64_t> by_position_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, uint64_t> by_deadline_ ABSL_GUARDED_BY(mu_);
  // Declared before the thread: destroyed after it has handed its last.
  common::WorkerPool pool_;
  std::thread thread_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_POSITION_WAITERS_H_
