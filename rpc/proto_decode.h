#ifndef FACTLOG_RPC_PROTO_DECODE_H_
#define FACTLOG_RPC_PROTO_DECODE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::rpc {

// Decodes a raw gRPC message. gRPC's own decoding fails opaquely on bad
// input (a proto3 string holding invalid UTF-8 fails protobuf's parse; a
// unary call answers UNIMPLEMENTED, a stream just ends); this returns
// INVALID_ARGUMENT naming the field the way validation does, e.g.
// "reported_by.name: not valid UTF-8". Thread-safe.
absl::Status DecodeMessage(const grpc::ByteBuffer& buffer,
                           google::protobuf::Message* message);

// Encodes `message` as a raw gRPC message.
grpc::ByteBuffer EncodeMessage(const google::protobuf::Message& message);
// Wraps a message already encoded, without copying it.
grpc::ByteBuffer EncodeMessage(std::string encoded);
// Wraps a message already encoded in two parts, `header` then `body` on the
// wire, copying only `header` (small, or empty for none).
grpc::ByteBuffer EncodeMessage(const std::string& header, std::string body);

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_PROTO_DECODE_H_
