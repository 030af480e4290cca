#ifndef FACTLOG_COMMON_WIRE_H_
#define FACTLOG_COMMON_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Reading and writing the protobuf wire format directly, for the few places
// that handle encoded messages without parsing them (a stored view sent as
// it is, a response assembled from stored bytes). Field numbers always come
// from the generated constants (v1::ClaimView::kOverdueAtFieldNumber), never
// typed by hand.
namespace factlog::wire {

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

}  // namespace factlog::wire

#endif  // FACTLOG_COMMON_WIRE_H_
