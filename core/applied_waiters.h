#ifndef FACTLOG_CORE_APPLIED_WAITERS_H_
#define FACTLOG_CORE_APPLIED_WAITERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace factlog::core {

// Callbacks waiting until this node has applied a log position
// (docs/ARCHITECTURE.md, "Replicated mode": read-your-writes anywhere).
// Nothing ever blocks on it: Wait registers a callback and returns; the
// callback runs once, on the waiters' own thread, when the applied position
// reaches the one asked for (OK), when the deadline passes first
// (DEADLINE_EXCEEDED, naming both positions), or when the node stops
// applying (UNAVAILABLE with the reason given to Stop, or "shutting down").
//
// Generic: keyed on the applied position only. The single-node mode feeds
// it every commit, the replicated mode every applied record.
//
// Thread-safe. Callbacks must not block (they typically finish a gRPC call
// or start the next step of one).
class AppliedWaiters {
 public:
  using Callback = std::function<void(absl::Status)>;

  // `applied`: the position already applied when it starts.
  explicit AppliedWaiters(uint64_t applied);
  AppliedWaiters(const AppliedWaiters&) = delete;
  AppliedWaiters& operator=(const AppliedWaiters&) = delete;
  // Runs every waiting callback with UNAVAILABLE ("shutting down"), then
  // joins its thread.
  ~AppliedWaiters();

  // The applied position is now `position` (never moves back; a smaller
  // value is ignored). Cheap; does not run callbacks on the caller's thread.
  void Advance(uint64_t position);
  uint64_t applied() const;

  // The node stopped applying for good: every callback waiting and every
  // later Wait for a position not yet applied gets UNAVAILABLE(`why`).
  void Stop(std::string why);

  // Calls `done` once `position` is applied or `deadline` passes (see the
  // class comment). Already applied: `done(OK)` on the waiters' thread, soon.
  void Wait(uint64_t position, absl::Time deadline, Callback done);

 private:
  struct Waiter {
    uint64_t position;
    absl::Time deadline;
    Callback done;
  };
  void Run();

  mutable absl::Mutex mu_;
  uint64_t applied_ ABSL_GUARDED_BY(mu_);
  std::string stopped_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // By id; `by_position_` and `by_deadline_` index it.
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  std::multimap<uint64_t, uint64_t> by_position_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, uint64_t> by_deadline_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_APPLIED_WAITERS_H_
