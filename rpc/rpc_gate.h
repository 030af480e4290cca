#ifndef FACTLOG_RPC_RPC_GATE_H_
#define FACTLOG_RPC_RPC_GATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "rpc/auth.h"
#include "rpc/grpc_status.h"
#include "rpc/methods.h"
#include "rpc/rpc_observer.h"

namespace factlog::rpc {

// What every factlog.v1 handler does first: observe the call (RpcObserver)
// and authorize it for its method's role (rpc/methods.h). One copy of the
// prologue for all services. A small value; the Authorizer and observer
// must outlive it.
class RpcGate {
 public:
  RpcGate(const Authorizer* authorizer, const RpcObserver* observer)
      : authorizer_(authorizer), observer_(observer) {}

  // A unary call, observed from here until `call.Finish`.
  struct Unary {
    RpcObserver::UnaryCall call;
    // The acting principal. When not OK the call has been finished with
    // this status (UNAUTHENTICATED or PERMISSION_DENIED): the handler
    // returns call.reactor() and does nothing else.
    absl::StatusOr<std::string> actor;
  };
  // Commands are answered by the writer, on its acks thread: handed over
  // (RpcObserver::StartUnary).
  Unary StartUnary(grpc::CallbackServerContext* ctx,
                   const RpcMethod& method) const {
    return StartUnary(ctx, method, /*handed_over=*/method.mutates);
  }
  // The same for a call that may be finished on a thread of ours other
  // than the handler's even though it changes nothing (a search waiting
  // for the index) when `handed_over`.
  Unary StartUnary(grpc::CallbackServerContext* ctx, const RpcMethod& method,
                   bool handed_over) const {
    Unary unary{observer_->StartUnary(ctx, method.path.c_str(), handed_over),
                authorizer_->Authorize(*ctx, method.role, method.name)};
    if (!unary.actor.ok())
      unary.call.Finish(ToGrpcStatus(unary.actor.status()));
    return unary;
  }

  // A stream (observed by the server interceptor): the acting principal,
  // or the refusal to answer with Refuse.
  absl::StatusOr<std::string> AdmitStream(const grpc::ServerContextBase& ctx,
                                          const RpcMethod& method) const {
    return authorizer_->Authorize(ctx, method.role, method.name);
  }

 private:
  const Authorizer* authorizer_;
  const RpcObserver* observer_;
};

// A stream reactor (a grpc::ServerReadReactor<T> or ServerWriteReactor<T>)
// that ends at once with `status`, and deletes itself when gRPC is done
// with it: what a stream handler returns for a refused call.
template <typename StreamReactor>
StreamReactor* Refuse(const absl::Status& status) {
  class Refused final : public StreamReactor {
   public:
    explicit Refused(const absl::Status& s) { this->Finish(ToGrpcStatus(s)); }
    void OnDone() override { delete this; }
  };
  return new Refused(status);
}

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_RPC_GATE_H_
