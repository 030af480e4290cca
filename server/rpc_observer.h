#ifndef FACTLOG_SERVER_RPC_OBSERVER_H_
#define FACTLOG_SERVER_RPC_OBSERVER_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"

namespace factlog::server {

class ServerMetrics;

// A gRPC server interceptor that times every RPC, from receiving its
// initial metadata to sending its status (a stream's whole life), into
// ServerMetrics::RpcFinished, and writes its request log line (server/log.h):
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
// `metrics` may be null (log only); it must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcObserverFactory(ServerMetrics* metrics);

// For the request log line of the RPC running on `ctx`; no-ops for a call
// the observer does not watch. Thread-safe.
void NotePrincipal(const grpc::ServerContextBase& ctx,
                   absl::string_view principal);
void NoteRequestId(const grpc::ServerContextBase& ctx,
                   absl::string_view request_id);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_RPC_OBSERVER_H_
