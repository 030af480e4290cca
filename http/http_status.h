// How a factlog status goes out over HTTP (docs/ARCHITECTURE.md, "Where
// each rule lives"): the one table from status codes to HTTP statuses, and
// the JSON error body every HTTP error carries.
#ifndef FACTLOG_HTTP_HTTP_STATUS_H_
#define FACTLOG_HTTP_HTTP_STATUS_H_

#include <string>

#include "absl/status/status.h"

namespace factlog::http {

// The HTTP status that answers a call ending with `code` (as gRPC's HTTP
// mapping: INVALID_ARGUMENT 400, NOT_FOUND 404, ABORTED 409, ...).
int HttpStatusFor(absl::StatusCode code);

// {"code":"INVALID_ARGUMENT","message":"..."}: the gRPC code's name and
// the message, as JSON. For a non-OK `status`.
std::string ErrorJson(const absl::Status& status);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_HTTP_STATUS_H_
