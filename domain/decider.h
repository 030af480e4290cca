#ifndef FACTLOG_DOMAIN_DECIDER_H_
#define FACTLOG_DOMAIN_DECIDER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/limits.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

// Decide turns a command into the events it causes, or into the reason it is
// refused, given the current state of the claims it touches. It is a pure
// function: no clock, no storage; the caller supplies both.
namespace factlog::domain {

// Finds the current view of a claim. Returns nullptr when the claim does not
// exist, an error when the state cannot be read. Returned pointers must stay
// valid until Decide returns.
using ClaimLookup =
    std::function<absl::StatusOr<const v1::ClaimView*>(const std::string&)>;

struct DecideContext {
  absl::Time now;  // server clock: defaults for asserted_at/observed_at
  // The id for a RecordClaim without claim_id; chosen by the caller, who must
  // make sure no claim has it.
  std::string assigned_claim_id;
  Limits limits;
};

struct Decision {
  // Events in append order. Each has claim_id, version (the claim's next
  // version), subject, claimant and its payload set; the caller fills
  // position, event_id, recorded_at, actor and request_id.
  std::vector<v1::Event> events;
  std::string claim_id;     // the claim the command targeted
  std::string evidence_id;  // AddEvidence: the id used
};

// Validates `command` completely and checks it against state. Errors:
//   INVALID_ARGUMENT    a field is malformed ("field: why"), or a rating from
//                       the wrong scale for the claim's kind
//   NOT_FOUND           the claim, the other claim or the evidence is unknown
//   ALREADY_EXISTS      claim id, evidence id or identical link already there
//   ABORTED             expected_version given and not the current version
//   FAILED_PRECONDITION the claim is retracted, the evidence already withdrawn,
//                       or a correction changes nothing
// Errors from `lookup` are returned as they are. On error nothing is decided.
//
// Events are made of the command's fields, with any unknown fields of its
// nested messages (a Source, a Timestamp): callers strip those first
// (Command::DiscardUnknownFields; core::Writer does), or they would ride
// into the immutable log past every size limit.
absl::StatusOr<Decision> Decide(const v1::Command& command,
                                const ClaimLookup& lookup,
                                const DecideContext& context);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_DECIDER_H_
