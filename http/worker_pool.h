#ifndef FACTLOG_HTTP_WORKER_POOL_H_
#define FACTLOG_HTTP_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace factlog::http {

// A fixed set of threads running tasks in the order they came: where the
// HTTP listener runs handlers, which may block briefly (a command waits
// for the writer, a search for the index), so that its event loops never
// do. Thread-safe; the destructor runs what is queued, then joins.
class WorkerPool {
 public:
  // Starts `threads` (at least 1) threads.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` for the next free thread.
  void Run(std::function<void()> task);

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_WORKER_POOL_H_
