#ifndef FACTLOG_RPC_GRPC_STATUS_H_
#define FACTLOG_RPC_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace factlog::rpc {

// The one place absl::Status becomes grpc::Status: same canonical code, same
// message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_GRPC_STATUS_H_
