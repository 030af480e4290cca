#ifndef FACTLOG_RPC_GRPC_ORDER_H_
#define FACTLOG_RPC_GRPC_ORDER_H_

#include <utility>

#include "absl/base/config.h"

#ifdef ABSL_HAVE_THREAD_SANITIZER
#include <sanitizer/tsan_interface.h>

#include "absl/base/dynamic_annotations.h"
#endif

namespace factlog::rpc {

// These tell ThreadSanitizer the order gRPC guarantees between a reactor's
// operations (StartRead, StartWrite, Finish) and the reactions they lead to
// (OnReadDone, OnWriteDone, OnDone), and between an interceptor's hooks.
// gRPC keeps that order with synchronization inside libgrpc, which Debian
// builds without TSan: without these, every field a reactor touches in one
// reaction and again in the next, on another gRPC thread, reads as a race.
// They state only what gRPC's API promises, so a real race (say, between a
// reaction and the hub's thread) still shows. `key` is the reactor's
// address; only the address is used. Empty unless built with TSan.

// What this thread did so far happens before the reactions that follow.
inline void GrpcRelease(const void* key) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_release(const_cast<void*>(key));
#else
  (void)key;
#endif
}

// Runs `op`, an operation on the reactor at `key`: what this thread did
// before and during it happens before the reactions that follow. The
// reactor may be gone once `op` returns; only `key` is used after it.
template <typename Op>
void GrpcStart(const void* key, Op&& op) {
  GrpcRelease(key);
  std::forward<Op>(op)();
  GrpcRelease(key);
}

// Runs `op`, a unary call's Finish on the reactor at `key`, on a thread of
// ours other than gRPC's: what this thread did before it happens before
// the call's OnDone, and ThreadSanitizer ignores the memory accesses
// inside `op`. Those are gRPC's own: grpcpp's inline code fills the call's
// finish operations and hands them to libgrpc (grpc_call_start_batch),
// which runs OnDone and destroys the call once the batch completed, out of
// TSan's sight. The call can end on gRPC's thread before `op` returns
// here, so no release after `op` could state that order; ignoring them
// does, and hides nothing of ours (our response is written before `op`,
// under the release).
template <typename Op>
void GrpcFinishHandedOver(const void* key, Op&& op) {
  GrpcRelease(key);
#ifdef ABSL_HAVE_THREAD_SANITIZER
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN();
#endif
  std::forward<Op>(op)();
#ifdef ABSL_HAVE_THREAD_SANITIZER
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_END();
#endif
}

// First thing in every reaction of the reactor at `key`, before it reads
// any of its fields.
inline void GrpcReact(const void* key) {
#ifdef ABSL_HAVE_THREAD_SANITIZER
  __tsan_acquire(const_cast<void*>(key));
#else
  (void)key;
#endif
}

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_GRPC_ORDER_H_
