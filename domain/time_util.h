#ifndef FACTLOG_DOMAIN_TIME_UTIL_H_
#define FACTLOG_DOMAIN_TIME_UTIL_H_

#include <string>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace factlog::domain {

// Conversions between google.protobuf.Timestamp and absl::Time. An unset
// Timestamp message is the Unix epoch; callers check has_*() first.
absl::Time FromProto(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToProto(absl::Time t);

// RFC 3339 in UTC with seconds ("2014-05-19T10:00:00Z"); sub-second digits
// only when present.
std::string Rfc3339(absl::Time t);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_TIME_UTIL_H_
