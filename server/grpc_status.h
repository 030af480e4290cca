#ifndef FACTLOG_SERVER_GRPC_STATUS_H_
#define FACTLOG_SERVER_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace factlog::server {

// The one place absl::Status becomes grpc::Status: same canonical code, same
// message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_GRPC_STATUS_H_
