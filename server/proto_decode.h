#ifndef FACTLOG_SERVER_PROTO_DECODE_H_
#define FACTLOG_SERVER_PROTO_DECODE_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::server {

// Decodes a raw gRPC message. gRPC's own decoding fails silently on bad
// input (a proto3 string holding invalid UTF-8 fails protobuf's parse and the
// stream just ends); this returns INVALID_ARGUMENT with protobuf's reason,
// e.g. "field factlog.v1.RecordClaimRequest.text is not valid UTF-8".
// Thread-safe.
absl::Status DecodeMessage(const grpc::ByteBuffer& buffer,
                           google::protobuf::Message* message);

// Encodes `message` as a raw gRPC message.
grpc::ByteBuffer EncodeMessage(const google::protobuf::Message& message);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_PROTO_DECODE_H_
