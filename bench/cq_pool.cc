#include "bench/cq_pool.h"

namespace factlog::bench {

CqPool::CqPool(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
  }
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([cq = cqs_[i].get()] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) static_cast<Completion*>(tag)->Complete(ok);
    });
  }
}

CqPool::~CqPool() {
  for (auto& cq : cqs_) cq->Shutdown();
  for (auto& t : threads_) t.join();
}

}  // namespace factlog::bench
