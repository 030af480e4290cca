#ifndef FACTLOG_COMMON_WORKER_POOL_H_
#define FACTLOG_COMMON_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace factlog::common {

// A fixed set of threads running tasks in the order they came. Where work
// that may block briefly goes so that a thread that must not block never
// waits for it: the HTTP listener's handlers (a command waits for the
// writer, a search for the index) off its event loops, and the callbacks
// of core/position_waiters.h (a search, a query, finishing a call) off the
// thread that wakes them. A task that blocks holds one of the threads,
// never the others.
//
// Thread-safe. The destructor runs every task already queued (tasks may
// still queue more meanwhile), then joins the threads; Run after the
// destructor has begun is a caller bug.
class WorkerPool {
 public:
  // Starts `threads` (at least 1) threads, named `name` (at most 15
  // characters, for top and perf) when it is not empty.
  explicit WorkerPool(int threads, const std::string& name = "");
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` for the next free thread. Never blocks on a task.
  void Run(std::function<void()> task);

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace factlog::common

#endif  // FACTLOG_COMMON_WORKER_POOL_H_
