#include "domain/event_filter.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "domain/validation.h"

namespace factlog::domain {

absl::Status ValidateEventFilter(const v1::EventFilter& filter,
                                 const Limits& limits) {
  if (!filter.claim_id().empty()) {
    if (auto s = ValidateSlug("filter.claim_id", filter.claim_id(), limits);
        !s.ok()) {
      return s;
    }
  }
  if (!filter.subject().empty()) {
    if (auto s = ValidateSlug("filter.subject", filter.subject(), limits);
        !s.ok()) {
      return s;
    }
  }
  if (filter.claimant().size() > limits.max_name_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.claimant: too long, at most ",
                     limits.max_name_bytes, " bytes"));
  }
  constexpr int kMaxTypes = 16;
  if (filter.types_size() > kMaxTypes) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.types: at most ", kMaxTypes, " entries"));
  }
  for (int i = 0; i < filter.types_size(); ++i) {
    const int t = filter.types(i);
    if (t == v1::EVENT_TYPE_UNSPECIFIED || !v1::EventType_IsValid(t)) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter.types[", i, "]: unknown event type ", t));
    }
  }
  return absl::OkStatus();
}

v1::EventType TypeOf(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kClaimRecorded:
      return v1::EVENT_TYPE_CLAIM_RECORDED;
    case v1::Event::kEvidenceAdded:
      return v1::EVENT_TYPE_EVIDENCE_ADDED;
    case v1::Event::kEvidenceWithdrawn:
      return v1::EVENT_TYPE_EVIDENCE_WITHDRAWN;
    case v1::Event::kVerdictIssued:
      return v1::EVENT_TYPE_VERDICT_ISSUED;
    case v1::Event::kClaimCorrected:
      return v1::EVENT_TYPE_CLAIM_CORRECTED;
    case v1::Event::kClaimRetracted:
      return v1::EVENT_TYPE_CLAIM_RETRACTED;
    case v1::Event::kClaimLinked:
      return v1::EVENT_TYPE_CLAIM_LINKED;
    case v1::Event::kEvidenceReattributed:
      return v1::EVENT_TYPE_EVIDENCE_REATTRIBUTED;
    case v1::Event::kSourceRegistered:
      return v1::EVENT_TYPE_SOURCE_REGISTERED;
    case v1::Event::kSourceRenamed:
      return v1::EVENT_TYPE_SOURCE_RENAMED;
    case v1::Event::kSourceAliasAdded:
      return v1::EVENT_TYPE_SOURCE_ALIAS_ADDED;
    case v1::Event::kSourceAffiliated:
      return v1::EVENT_TYPE_SOURCE_AFFILIATED;
    case v1::Event::kSourceGraded:
      return v1::EVENT_TYPE_SOURCE_GRADED;
    case v1::Event::kDeskPolicySet:
      return v1::EVENT_TYPE_DESK_POLICY_SET;
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
  return v1::EVENT_TYPE_UNSPECIFIED;
}

bool Matches(const v1::EventFilter& filter, const v1::Event& event) {
  if (!filter.claim_id().empty() && filter.claim_id() != event.claim_id()) {
    return false;
  }
  if (!filter.subject().empty() && filter.subject() != event.subject()) {
    return false;
  }
  if (!filter.claimant().empty() && filter.claimant() != event.claimant()) {
    return false;
  }
  if (!filter.types().empty()) {
    const int type = TypeOf(event);
    return std::find(filter.types().begin(), filter.types().end(), type) !=
           filter.types().end();
  }
  return true;
}

}  // namespace factlog::domain
