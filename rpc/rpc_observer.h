#ifndef FACTLOG_RPC_RPC_OBSERVER_H_
#define FACTLOG_RPC_RPC_OBSERVER_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"

namespace factlog::core {
class ServerMetrics;
}  // namespace factlog::core

namespace factlog::rpc {

// Times every RPC, from receiving its initial metadata (for a unary call
// of a factlog.v1 service: from its handler's start) to sending its status
// (a stream's whole life), into ServerMetrics::RpcFinished, and writes its
// request log line (common/logging.h):
//
//   msg "rpc", method (package.Service/Method), code, duration_ms,
//   request_id, principal, peer, and error (the status message, cut to 200
//   bytes) when not OK.
//
// Level: error for INTERNAL, DATA_LOSS and UNKNOWN; info for commands
// (ClaimService mutations, Import, AdminService.Backup), UNAUTHENTICATED,
// PERMISSION_DENIED and RESOURCE_EXHAUSTED; debug for everything else
// (queries, reads, subscriptions, health, reflection).
//
// request_id is the command's request_id when the handler noted one (below),
// else the caller's `x-request-id` metadata (printable ASCII, at most 128
// bytes), else one made up here ("srv-" and 16 hex digits), so that every
// line has one to quote. principal is who the Authorizer found the call to
// act as, or "-" before it knew (a missing or unknown token). The line never
// holds metadata (tokens) or request fields other than request_id.
//
// Streams and the calls of gRPC's own services (health, reflection) are
// observed by a server interceptor (NewInterceptorFactory). The unary calls
// of the factlog.v1 services are observed by their handlers (StartUnary)
// instead: with an interceptor, gRPC allocates it per call and runs its
// interception machinery on every batch, about 1.5k instructions per call
// (bench/README.md, "Sixth session"), where an echo costs its server ~27k.
class RpcObserver {
 public:
  class UnaryCall;

  // `metrics` may be null (log only); it must outlive the observer, which
  // must outlive the server.
  explicit RpcObserver(core::ServerMetrics* metrics) : metrics_(metrics) {}
  RpcObserver(const RpcObserver&) = delete;
  RpcObserver& operator=(const RpcObserver&) = delete;

  // For grpc::ServerBuilder: an interceptor for every call but the unary
  // calls of factlog.v1 services.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewInterceptorFactory() const;

  // Starts observing a unary call of a factlog.v1 service; its handler
  // calls this first. `full_method` is "/factlog.v1.Service/Method" and
  // must outlive the call (a literal). `handed_over`: the call may be
  // finished on a thread of ours other than the handler's (a command,
  // answered on the writer's acks thread); it then gets a reactor of its
  // own, which tells ThreadSanitizer the order gRPC keeps between Finish
  // and the call's end (rpc/grpc_order.h). Others use the context's
  // default reactor, which costs no allocation.
  UnaryCall StartUnary(grpc::CallbackServerContext* ctx,
                       const char* full_method, bool handed_over) const;

 private:
  core::ServerMetrics* const metrics_;
};

// A unary call its handler observes. A small value, passed on to where
// the call ends (a command's completion, on the writer's thread); finish it
// exactly once.
class RpcObserver::UnaryCall {
 public:
  // What the handler returns to gRPC.
  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

  // Logs and counts the call, then finishes it with `status`. The call and
  // its context may be gone once this returns.
  void Finish(const grpc::Status& status);

 private:
  friend class RpcObserver;
  UnaryCall(core::ServerMetrics* metrics, grpc::CallbackServerContext* ctx,
            const char* full_method, bool handed_over);

  core::ServerMetrics* metrics_;
  grpc::CallbackServerContext* ctx_;
  grpc::ServerUnaryReactor* reactor_;
  bool handed_over_;
  const char* full_method_;
  absl::Time start_;
};

// For the request log line of the RPC running on `ctx`; no-ops for a call
// that is not observed. Thread-safe.
void NotePrincipal(const grpc::ServerContextBase& ctx,
                   absl::string_view principal);
void NoteRequestId(const grpc::ServerContextBase& ctx,
                   absl::string_view request_id);

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_RPC_OBSERVER_H_
