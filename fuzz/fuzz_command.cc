// Fuzz target: one command as the server receives it. The bytes are decoded
// the way ClaimService decodes a request (rpc::DecodeMessage), validated
// (domain/validation.h), decided (domain::Decide) against the claim fixture
// (fuzz/claim_fixture.h), and the events are evolved into a copy of it, as the
// writer does. Beyond "does not crash" it checks the decider's contract:
//  - decoding fails only with INVALID_ARGUMENT;
//  - when request validation fails, Decide fails with that same status; every
//    other refusal uses one of Decide's documented codes; a refusal decides
//    nothing and Decide is deterministic;
//  - each event of a decision targets an existing claim at its next version
//    (a new claim at version 1), has the command's payload type, survives the
//    log's encoding unchanged, stays under a size bound, and puts no 0x00
//    into what storage/keys.h builds index keys from;
//  - evolving it gives a view at the event's version, status equal to the
//    stored status, the event's denormalised subject and claimant, and what
//    the command asked for;
//  - a command that cannot apply twice is refused against the new state.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "domain/decider.h"
#include "domain/event_filter.h"
#include "domain/evolve.h"
#include "domain/source_decider.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"
#include "fuzz/claim_fixture.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "rpc/proto_decode.h"

namespace factlog::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;
using v1::Command;

// No event may exceed this under the default limits: the largest is an
// AddEvidence with a 16 KiB note and a 2 KiB url.
constexpr size_t kMaxEventBytes = 32 * 1024;

const Claims& Fixture() {
  static const Claims* const claims = new Claims(FixtureClaims());
  return *claims;
}

// The request-only checks Decide must start with.
absl::Status ValidateRequest(const Command& c,
                             const domain::DecideContext& ctx) {
  switch (c.command_case()) {
    case Command::kRecordClaim:
      return domain::ValidateRecordClaim(c.record_claim(), ctx.now, ctx.limits);
    case Command::kAddEvidence:
      return domain::ValidateAddEvidence(c.add_evidence(), ctx.now, ctx.limits);
    case Command::kWithdrawEvidence:
      return domain::ValidateWithdrawEvidence(c.withdraw_evidence(),
                                              ctx.limits);
    case Command::kIssueVerdict:
      return domain::ValidateIssueVerdict(c.issue_verdict(), ctx.limits);
    case Command::kCorrectClaim:
      return domain::ValidateCorrectClaim(c.correct_claim(), ctx.limits);
    case Command::kRetractClaim:
      return domain::ValidateRetractClaim(c.retract_claim(), ctx.limits);
    case Command::kLinkClaims:
      return domain::ValidateLinkClaims(c.link_claims(), ctx.limits);
    case Command::COMMAND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("command: empty, set one of its fields");
}

v1::EventType EventTypeOf(Command::CommandCase command) {
  switch (command) {
    case Command::kRecordClaim:
      return v1::EVENT_TYPE_CLAIM_RECORDED;
    case Command::kAddEvidence:
      return v1::EVENT_TYPE_EVIDENCE_ADDED;
    case Command::kWithdrawEvidence:
      return v1::EVENT_TYPE_EVIDENCE_WITHDRAWN;
    case Command::kIssueVerdict:
      return v1::EVENT_TYPE_VERDICT_ISSUED;
    case Command::kCorrectClaim:
      return v1::EVENT_TYPE_CLAIM_CORRECTED;
    case Command::kRetractClaim:
      return v1::EVENT_TYPE_CLAIM_RETRACTED;
    case Command::kLinkClaims:
      return v1::EVENT_TYPE_CLAIM_LINKED;
    case Command::COMMAND_NOT_SET:
      break;
  }
  return v1::EVENT_TYPE_UNSPECIFIED;
}

bool IsDocumentedRefusal(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnavailable:  // from the lookup, passed on
      return true;
    default:
      return false;
  }
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

std::string DecisionBytes(const absl::StatusOr<domain::Decision>& d) {
  if (!d.ok()) return d.status().ToString();
  std::string out = absl::StrCat(d->claim_id, "\n", d->evidence_id, "\n");
  for (const v1::Event& e : d->events) absl::StrAppend(&out, e.DebugString());
  return out;
}

bool SameTimestamp(const google::protobuf::Timestamp& a,
                   const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

// The correctable fields of a view, to tell whether a correction changed any.
std::string CorrectableFields(const v1::ClaimView& v) {
  v1::ClaimFields f;
  f.set_text(v.text());
  f.set_subject(v.subject());
  *f.mutable_tags() = v.tags();
  if (v.has_due_at()) *f.mutable_due_at() = v.due_at();
  return f.SerializeAsString();
}

void CheckEventShape(const Command& command, const v1::Event& event) {
  const std::string where = event.ShortDebugString();
  FUZZ_CHECK(domain::TypeOf(event) == EventTypeOf(command.command_case()),
             where);
  FUZZ_CHECK(domain::ValidateSlug("claim_id", event.claim_id(), {}).ok(),
             where);
  FUZZ_CHECK(event.position() == 0 && event.event_id().empty() &&
                 !event.has_recorded_at() && event.actor().empty(),
             "the caller fills the envelope: " + where);
  FUZZ_CHECK(event.GetReflection()->GetUnknownFields(event).empty(), where);
  const std::string bytes = event.SerializeAsString();
  FUZZ_CHECK(bytes.size() <= kMaxEventBytes,
             absl::StrCat(bytes.size(), " bytes"));
  v1::Event reread;
  FUZZ_CHECK(reread.ParseFromString(bytes), "event does not parse: " + where);
  FUZZ_CHECK(MessageDifferencer::Equals(reread, event), where);
  // Index keys are `value 0x00 claim_id`: a NUL in a value would split it.
  FUZZ_CHECK(!HasNul(event.subject()) && !HasNul(event.claimant()), where);
  for (const std::string& tag : event.claim_recorded().tags()) {
    FUZZ_CHECK(!HasNul(tag), where);
  }
  for (const std::string& tag : event.claim_corrected().tags().tags()) {
    FUZZ_CHECK(!HasNul(tag), where);
  }
}

void CheckView(const v1::Event& event, const v1::ClaimView& view) {
  const std::string where = view.ShortDebugString();
  FUZZ_CHECK(view.claim_id() == event.claim_id(), where);
  FUZZ_CHECK(view.version() == event.version(), where);
  FUZZ_CHECK(view.subject() == event.subject(), where);
  FUZZ_CHECK(view.claimant() == event.claimant(), where);
  FUZZ_CHECK(view.status() == domain::StoredStatus(view), where);
  FUZZ_CHECK(view.status() != v1::CLAIM_STATUS_UNSPECIFIED &&
                 view.status() != v1::CLAIM_STATUS_OVERDUE,
             where);
  FUZZ_CHECK(
      v1::ClaimStatus_IsValid(domain::EffectiveStatus(view, FixtureNow())),
      where);
  v1::ClaimView reread;
  FUZZ_CHECK(reread.ParseFromString(view.SerializeAsString()), where);
}

// What the command asked for shows in the claim it targeted.
void CheckEffect(const Command& command, const domain::Decision& d,
                 const v1::ClaimView* before, const Claims& after) {
  const v1::ClaimView& view = after.at(d.claim_id);
  const std::string where = view.ShortDebugString();
  switch (command.command_case()) {
    case Command::kRecordClaim: {
      const v1::RecordClaimRequest& r = command.record_claim();
      FUZZ_CHECK(before == nullptr, where);
      FUZZ_CHECK(view.text() == r.text() && view.claimant() == r.claimant() &&
                     view.kind() == r.kind(),
                 where);
      FUZZ_CHECK(view.status() == v1::CLAIM_STATUS_UNVERIFIED, where);
      break;
    }
    case Command::kAddEvidence: {
      int found = 0;
      for (const v1::EvidenceView& e : view.evidence()) {
        if (e.evidence_id() != d.evidence_id) continue;
        ++found;
        FUZZ_CHECK(!e.withdrawn(), where);
        FUZZ_CHECK(e.stance() == command.add_evidence().stance(), where);
      }
      FUZZ_CHECK(found == 1, "evidence ids are unique: " + where);
      break;
    }
    case Command::kWithdrawEvidence:
      for (const v1::EvidenceView& e : view.evidence()) {
        if (e.evidence_id() == d.evidence_id) {
          FUZZ_CHECK(e.withdrawn(), where);
        }
      }
      break;
    case Command::kIssueVerdict:
      FUZZ_CHECK(view.status() == v1::CLAIM_STATUS_RATED &&
                     view.rating() == command.issue_verdict().rating(),
                 where);
      break;
    case Command::kCorrectClaim: {
      const v1::CorrectClaimRequest& r = command.correct_claim();
      if (r.has_text()) FUZZ_CHECK(view.text() == r.text(), where);
      if (r.has_subject()) FUZZ_CHECK(view.subject() == r.subject(), where);
      if (r.has_tags()) {
        FUZZ_CHECK(view.tags().size() == r.tags().tags().size(), where);
        for (int i = 0; i < view.tags().size(); ++i) {
          FUZZ_CHECK(view.tags(i) == r.tags().tags(i), where);
        }
      }
      if (r.has_due_at()) {
        FUZZ_CHECK(
            view.has_due_at() && SameTimestamp(view.due_at(), r.due_at()),
            where);
      }
      if (r.clear_due_at()) FUZZ_CHECK(!view.has_due_at(), where);
      FUZZ_CHECK(CorrectableFields(*before) != CorrectableFields(view),
                 "a correction that changes nothing is refused: " + where);
      break;
    }
    case Command::kRetractClaim:
      FUZZ_CHECK(view.status() == v1::CLAIM_STATUS_RETRACTED, where);
      break;
    case Command::kLinkClaims: {
      const v1::LinkClaimsRequest& r = command.link_claims();
      const v1::LinkView& out = view.links(view.links_size() - 1);
      FUZZ_CHECK(out.other_claim_id() == r.other_claim_id() &&
                     out.direction() == v1::LINK_DIRECTION_OUTGOING,
                 where);
      const v1::ClaimView& other = after.at(r.other_claim_id());
      const v1::LinkView& in = other.links(other.links_size() - 1);
      FUZZ_CHECK(in.other_claim_id() == r.claim_id() &&
                     in.direction() == v1::LINK_DIRECTION_INCOMING,
                 other.ShortDebugString());
      break;
    }
    case Command::COMMAND_NOT_SET:
      FUZZ_CHECK(false, "an empty command was decided");
  }
}

// The expected_version a command carries, if any.
std::optional<uint64_t> ExpectedVersion(const Command& c) {
  auto of = [](const auto& req) -> std::optional<uint64_t> {
    if (!req.has_expected_version()) return std::nullopt;
    return req.expected_version();
  };
  switch (c.command_case()) {
    case Command::kAddEvidence:
      return of(c.add_evidence());
    case Command::kWithdrawEvidence:
      return of(c.withdraw_evidence());
    case Command::kIssueVerdict:
      return of(c.issue_verdict());
    case Command::kCorrectClaim:
      return of(c.correct_claim());
    case Command::kRetractClaim:
      return of(c.retract_claim());
    case Command::kLinkClaims:
      return of(c.link_claims());
    default:
      return std::nullopt;
  }
}

// Commands that a second time must be refused: everything but evidence
// without an id (a new id is assigned), verdicts (a new one may replace the
// old) and a claim without an id (its assigned id is the caller's business).
bool AppliesOnce(const Command& c) {
  switch (c.command_case()) {
    case Command::kRecordClaim:
      return !c.record_claim().claim_id().empty();
    case Command::kAddEvidence:
      return !c.add_evidence().evidence_id().empty();
    case Command::kIssueVerdict:
      return false;
    default:
      return true;
  }
}

void CheckCommand(const Command& command) {
  const domain::DecideContext context = FixtureContext();
  const absl::Status valid = ValidateRequest(command, context);
  const absl::StatusOr<domain::Decision> decision =
      domain::Decide(command, LookupIn(Fixture()), context);
  FUZZ_CHECK(
      DecisionBytes(decision) ==
          DecisionBytes(domain::Decide(command, LookupIn(Fixture()), context)),
      "Decide is deterministic");
  if (!valid.ok()) {
    FUZZ_CHECK(valid.code() == absl::StatusCode::kInvalidArgument,
               valid.ToString());
    FUZZ_CHECK(!decision.ok() && decision.status() == valid,
               "Decide validates first: " + valid.ToString());
    return;
  }
  if (!decision.ok()) {
    FUZZ_CHECK(IsDocumentedRefusal(decision.status().code()),
               decision.status().ToString());
    return;
  }

  const size_t expected_events = command.has_link_claims() ? 2 : 1;
  FUZZ_CHECK(decision->events.size() == expected_events,
             DecisionBytes(decision));
  FUZZ_CHECK(decision->claim_id == decision->events[0].claim_id(),
             decision->claim_id);
  if (command.has_add_evidence() || command.has_withdraw_evidence()) {
    FUZZ_CHECK(!decision->evidence_id.empty(), "evidence_id");
  }
  if (command.has_record_claim()) {
    const std::string& given = command.record_claim().claim_id();
    FUZZ_CHECK(decision->claim_id == (given.empty() ? kAssignedClaimId : given),
               decision->claim_id);
  }
  Claims after = Fixture();
  const v1::ClaimView* target_before = nullptr;
  if (auto it = Fixture().find(decision->claim_id); it != Fixture().end()) {
    target_before = &it->second;
    FUZZ_CHECK(
        !target_before->retracted() || command.has_link_claims(),
        "a retracted claim takes only links: " + command.ShortDebugString());
    const std::optional<uint64_t> expected = ExpectedVersion(command);
    FUZZ_CHECK(!expected || *expected == target_before->version(),
               "decided at a version other than the expected one: " +
                   command.ShortDebugString());
  }
  uint64_t position = 1000;
  for (v1::Event event : decision->events) {
    CheckEventShape(command, event);
    auto it = after.find(event.claim_id());
    const uint64_t next_version =
        it == after.end() ? 1 : it->second.version() + 1;
    FUZZ_CHECK(
        event.version() == next_version,
        absl::StrCat("version ", event.version(), ", expected ", next_version));
    FUZZ_CHECK((it == after.end()) == command.has_record_claim(),
               "only RecordClaim creates a claim");
    FillEnvelope(position++, context.now, domain::RequestIdOf(command), &event);
    v1::ClaimView& view = after[event.claim_id()];
    domain::Evolve(event, &view);
    CheckView(event, view);
  }
  CheckEffect(command, *decision, target_before, after);

  if (AppliesOnce(command)) {
    const absl::StatusOr<domain::Decision> again =
        domain::Decide(command, LookupIn(after), context);
    FUZZ_CHECK(!again.ok(), "applied twice: " + command.ShortDebugString());
    FUZZ_CHECK(IsDocumentedRefusal(again.status().code()),
               again.status().ToString());
  }
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  grpc::Slice slice(data, size);
  const grpc::ByteBuffer buffer(&slice, 1);
  factlog::v1::Command command;
  const absl::Status decoded = factlog::rpc::DecodeMessage(buffer, &command);
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.code() == absl::StatusCode::kInvalidArgument,
               decoded.ToString());
    return 0;
  }
  // The source registry's commands, and re-attribution (which needs a
  // registry the claim fixture does not have), are outside this target's
  // model of claim commands; tests/sources_test.cc covers them.
  if (factlog::domain::IsSourceCommand(command) ||
      command.has_reattribute_evidence()) {
    return 0;
  }
  factlog::fuzz::CheckCommand(command);
  return 0;
}
