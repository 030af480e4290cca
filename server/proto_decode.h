#ifndef FACTLOG_SERVER_PROTO_DECODE_H_
#define FACTLOG_SERVER_PROTO_DECODE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace factlog::server {

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

// Whether the encoded message `bytes` has top-level field `number`, read
// from the wire format without parsing the rest. DATA_LOSS when the bytes
// do not frame as a message.
absl::StatusOr<bool> HasWireField(absl::string_view bytes, uint32_t number);

// Appends to the encoded message `message` the length-delimited field
// `number` (a message, string or bytes field) holding `bytes`. Parsers take
// fields in any order, so this is the same message as one encoded with the
// field set, where the field is not repeated and `message` lacks it.
void AppendWireField(uint32_t number, absl::string_view bytes,
                     std::string* message);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_PROTO_DECODE_H_
