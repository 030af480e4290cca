#ifndef FACTLOG_DOMAIN_VALIDATION_H_
#define FACTLOG_DOMAIN_VALIDATION_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/limits.h"
#include "domain/time_util.h"
#include "factlog/v1/service.pb.h"

// Field validation. Every function returns OK or INVALID_ARGUMENT whose
// message starts with the field path and says why, e.g.
//   "claim_id: must match [a-z0-9][a-z0-9-]{0,63}, got \"Bad Id\"".
// Validation looks only at the request; rules that depend on stored state
// (existence, versions, retraction) live in the decider.
namespace factlog::domain {

// Earliest and latest instants accepted for asserted_at/observed_at and due_at.
absl::Time EarliestTimestamp();  // 1800-01-01T00:00:00Z
absl::Time LatestDueTime();      // 2200-01-01T00:00:00Z
// asserted_at and observed_at may not lie further than this after `now`.
inline constexpr absl::Duration kMaxClockSkew = absl::Hours(24);

absl::Status ValidateSlug(absl::string_view field, absl::string_view value,
                          const Limits& limits);
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_bytes, bool required);
absl::Status ValidateUrl(absl::string_view field, absl::string_view value,
                         const Limits& limits);
absl::Status ValidateSource(absl::string_view field, const v1::Source& source,
                            bool name_required, const Limits& limits);
absl::Status ValidateTags(
    absl::string_view field,
    const google::protobuf::RepeatedPtrField<std::string>& tags,
    const Limits& limits);
absl::Status ValidateRequestId(absl::string_view value, const Limits& limits);
// A past-or-present instant: [EarliestTimestamp, now + kMaxClockSkew].
absl::Status ValidatePastTime(absl::string_view field,
                              const google::protobuf::Timestamp& ts,
                              absl::Time now);
// A due date: [EarliestTimestamp, LatestDueTime].
absl::Status ValidateDueTime(absl::string_view field,
                             const google::protobuf::Timestamp& ts);
// A valid-time bound of a query ("what was known at"): the same range as a
// due date, so that any instant a claim can refer to, and a far-future
// bound meaning "everything", can be asked about.
absl::Status ValidateKnownAt(absl::string_view field,
                             const google::protobuf::Timestamp& ts);
// A query's known_at, checked by ValidateKnownAt: nullopt when the request
// has none. Request is any message with has_known_at() and known_at().
template <typename Request>
absl::StatusOr<std::optional<absl::Time>> RequestedKnownAt(const Request& req) {
  if (!req.has_known_at()) return std::optional<absl::Time>();
  if (absl::Status s = ValidateKnownAt("known_at", req.known_at()); !s.ok()) {
    return s;
  }
  return std::optional<absl::Time>(FromProto(req.known_at()));
}

// Whole-request checks: every field of the request, no stored state.
absl::Status ValidateRecordClaim(const v1::RecordClaimRequest& req,
                                 absl::Time now, const Limits& limits);
absl::Status ValidateAddEvidence(const v1::AddEvidenceRequest& req,
                                 absl::Time now, const Limits& limits);
absl::Status ValidateWithdrawEvidence(const v1::WithdrawEvidenceRequest& req,
                                      const Limits& limits);
absl::Status ValidateIssueVerdict(const v1::IssueVerdictRequest& req,
                                  const Limits& limits);
absl::Status ValidateCorrectClaim(const v1::CorrectClaimRequest& req,
                                  const Limits& limits);
absl::Status ValidateRetractClaim(const v1::RetractClaimRequest& req,
                                  const Limits& limits);
absl::Status ValidateLinkClaims(const v1::LinkClaimsRequest& req,
                                const Limits& limits);

absl::Status ValidateRegisterSource(const v1::RegisterSourceRequest& req,
                                    const Limits& limits);
absl::Status ValidateRenameSource(const v1::RenameSourceRequest& req,
                                  const Limits& limits);
absl::Status ValidateAddSourceAlias(const v1::AddSourceAliasRequest& req,
                                    const Limits& limits);
absl::Status ValidateAffiliateSource(const v1::AffiliateSourceRequest& req,
                                     const Limits& limits);
absl::Status ValidateGradeSource(const v1::GradeSourceRequest& req,
                                 const Limits& limits);
absl::Status ValidateSetDeskPolicy(const v1::SetDeskPolicyRequest& req,
                                   const Limits& limits);
absl::Status ValidateReattributeEvidence(
    const v1::ReattributeEvidenceRequest& req, const Limits& limits);

// The request_id carried by any command ("" when none).
const std::string& RequestIdOf(const v1::Command& command);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_VALIDATION_H_
