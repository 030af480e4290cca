#ifndef FACTLOG_DOMAIN_EVENT_FILTER_H_
#define FACTLOG_DOMAIN_EVENT_FILTER_H_

#include "absl/status/status.h"
#include "domain/limits.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"

namespace factlog::domain {

// INVALID_ARGUMENT naming the field when a filter field is malformed
// (claim_id/subject not slugs, unknown event types, over 16 types).
absl::Status ValidateEventFilter(const v1::EventFilter& filter,
                                 const Limits& limits);

// True when `event` passes every set field of `filter` (an empty filter
// passes everything). Subject and claimant are matched against the event's
// denormalised envelope fields.
bool Matches(const v1::EventFilter& filter, const v1::Event& event);

// The EventType of an event's payload.
v1::EventType TypeOf(const v1::Event& event);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_EVENT_FILTER_H_
