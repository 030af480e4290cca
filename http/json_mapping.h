// Requests and responses of the JSON API as protobuf messages, through
// protobuf's own proto3 JSON mapping (JsonStringToMessage and
// MessageToJsonString): the JSON is the canonical proto3 JSON of the same
// messages the gRPC services take and answer. Thread-safe.
#ifndef FACTLOG_HTTP_JSON_MAPPING_H_
#define FACTLOG_HTTP_JSON_MAPPING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace factlog::http {

// `text` with %XX sequences (and, in a query, '+') decoded.
// INVALID_ARGUMENT for a malformed % sequence.
absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          bool plus_is_space);

// The parameters of a query string ("a=1&b=x+y"), decoded, in order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query);

// Merges query parameters into `message`: each names a field by its JSON
// name or its proto name, nested fields with dots ("filter.claimId"); a
// repeated field may be given more than once. Values are read as the
// proto3 JSON mapping reads a string (numbers, enum names, RFC 3339
// timestamps); a bool is "true" or "false". INVALID_ARGUMENT naming the
// parameter for an unknown one or a bad value; `message` is then
// unspecified.
absl::Status MergeQuery(
    const std::vector<std::pair<std::string, std::string>>& params,
    google::protobuf::Message* message);

// Parses a JSON object into `message` (unknown fields refused).
// INVALID_ARGUMENT with protobuf's reason, naming the field.
absl::Status MergeJson(absl::string_view json,
                       google::protobuf::Message* message);

// The canonical proto3 JSON of `message` (lowerCamelCase names, default
// values left out, int64 as strings, enums by name).
std::string ToJson(const google::protobuf::Message& message);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_JSON_MAPPING_H_
