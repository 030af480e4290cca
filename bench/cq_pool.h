// CqPool: the bench's async gRPC client engine. A few completion queues,
// each drained by its own thread; every operation's tag is a Completion,
// whose Complete(ok) runs on that queue's thread. Workloads start calls on
// cq(i) from any thread and keep their own per-call state in the
// Completion, so a client never needs a thread of its own: 1,000
// subscribers or 64 closed-loop clients cost as many objects, not threads.
//
// Thread-safe. The destructor shuts the queues down and waits for every
// pending operation's completion (it does not cancel calls: cancel them
// first).
#ifndef FACTLOG_BENCH_CQ_POOL_H_
#define FACTLOG_BENCH_CQ_POOL_H_

#include <memory>
#include <thread>
#include <vector>

#include "grpcpp/completion_queue.h"

namespace factlog::bench {

// The tag of one outstanding operation.
class Completion {
 public:
  virtual ~Completion() = default;
  // The operation finished; `ok` as CompletionQueue::Next reports it.
  virtual void Complete(bool ok) = 0;
};

class CqPool {
 public:
  explicit CqPool(int threads);
  ~CqPool();
  CqPool(const CqPool&) = delete;
  CqPool& operator=(const CqPool&) = delete;

  // Queue i modulo size(): spreads clients over the threads.
  grpc::CompletionQueue* cq(size_t i) { return cqs_[i % cqs_.size()].get(); }
  size_t size() const { return cqs_.size(); }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_CQ_POOL_H_
