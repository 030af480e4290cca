#ifndef FACTLOG_DOMAIN_DECIDER_H_
#define FACTLOG_DOMAIN_DECIDER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/limits.h"
#include "domain/sources.h"
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
  // The id for a RegisterSource without source_id; as assigned_claim_id.
  std::string assigned_source_id;
  Limits limits;
  // The source registry to decide against (AddEvidence resolves sources
  // through it, source commands change it). Null: an empty registry.
  const SourceRegistry* sources = nullptr;
};

struct Decision {
  // Events in append order. Each has claim_id, version (the claim's next
  // version), subject, claimant and its payload set; the caller fills
  // position, event_id, recorded_at, actor and request_id.
  std::vector<v1::Event> events;
  std::string claim_id;     // the claim the command targeted
  std::string evidence_id;  // AddEvidence: the id used
  // Source commands: the source targeted (empty for SetDeskPolicy). Their
  // events carry source_id instead of claim_id (docs/ARCHITECTURE.md,
  // "Sources"), with version the source's (the policy's) next.
  std::string source_id;
};

// Validates `command` completely and checks it against state. Errors:
//   INVALID_ARGUMENT    a field is malformed ("field: why"), or a rating from
//                       the wrong scale for the claim's kind
//   NOT_FOUND           the claim, the other claim or the evidence is unknown
//   ALREADY_EXISTS      claim id, evidence id or identical link already there
//   ABORTED             expected_version given and not the current version
//   FAILED_PRECONDITION the claim is retracted, the evidence already withdrawn,
//                       a correction or re-attribution changes nothing
// Source commands (domain/source_decider.h): INVALID_ARGUMENT for a bad
// field or an affiliation cycle, NOT_FOUND for an unknown source or parent,
// ALREADY_EXISTS for a source id, name or alias already taken.
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
