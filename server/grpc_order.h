#ifndef FACTLOG_SERVER_GRPC_ORDER_H_
#define FACTLOG_SERVER_GRPC_ORDER_H_

#include <utility>

#include "absl/base/config.h"

#ifdef ABSL_HAVE_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>
#endif

namespace factlog::server {

// GrpcOrder tells ThreadSanitizer the order gRPC guarantees between a
// reactor's operations (StartRead, StartWrite, Finish) and the reactions
// they lead to (OnReadDone, OnWriteDone, OnDone), and between an
// interceptor's hooks. gRPC keeps that order with synchronization inside
// libgrpc, which Debian builds without TSan: without these, every field a
// reactor touches in one reaction and again in the next, on another gRPC
// thread, reads as a race. They state only what gRPC's API promises, so a
// real race (say, between a reaction and the hub's thread) still shows.
// Empty unless built with TSan. Thread-safe.
class GrpcOrder {
 public:
  GrpcOrder() {}  // user-provided, so that it can be a const member

  // Runs `op`, an operation on the reactor: what this thread did before
  // and during it happens before the reactions that follow. The order is
  // keyed on this object's address; after `op` returns only the address is
  // used (the reactor may be gone by then).
  template <typename Op>
  void Start(Op&& op) const {
#ifdef ABSL_HAVE_THREAD_SANITIZER
    void* const key = Key();
    __tsan_release(key);
    std::forward<Op>(op)();
    __tsan_release(key);
#else
    std::forward<Op>(op)();
#endif
  }
  // What this thread did so far happens before the reactions that follow.
  void Release() const {
#ifdef ABSL_HAVE_THREAD_SANITIZER
    __tsan_release(Key());
#endif
  }
  // First thing in every reaction.
  void React() const {
#ifdef ABSL_HAVE_THREAD_SANITIZER
    __tsan_acquire(Key());
#endif
  }

 private:
  void* Key() const { return const_cast<GrpcOrder*>(this); }
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_GRPC_ORDER_H_
