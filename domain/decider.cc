#include "domain/decider.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "domain/enum_words.h"
#include "domain/source_decider.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"

namespace factlog::domain {
namespace {

// Loads a claim that must exist.
absl::StatusOr<const v1::ClaimView*> Existing(const ClaimLookup& lookup,
                                              const std::string& claim_id,
                                              absl::string_view field) {
  absl::StatusOr<const v1::ClaimView*> view = lookup(claim_id);
  if (!view.ok()) return view.status();
  if (*view == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("%s: claim \"%s\" not found", field, claim_id));
  }
  return view;
}

absl::Status CheckVersion(const v1::ClaimView& view, bool has_expected,
                          uint64_t expected) {
  if (has_expected && expected != view.version()) {
    return absl::AbortedError(absl::StrFormat(
        "expected_version: claim \"%s\" is at version %d, not %d",
        view.claim_id(), view.version(), expected));
  }
  return absl::OkStatus();
}

// The claim a command targets: it must exist and, when the command gives an
// expected_version, be at that version.
template <typename Request>
absl::StatusOr<const v1::ClaimView*> Target(const ClaimLookup& lookup,
                                            const Request& req) {
  absl::StatusOr<const v1::ClaimView*> view =
      Existing(lookup, req.claim_id(), "claim_id");
  if (!view.ok()) return view;
  if (auto s = CheckVersion(**view, req.has_expected_version(),
                            req.expected_version());
      !s.ok()) {
    return s;
  }
  return view;
}

absl::Status CheckNotRetracted(const v1::ClaimView& view,
                               absl::string_view what) {
  if (view.retracted()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "claim \"%s\" is retracted: no further %s", view.claim_id(), what));
  }
  return absl::OkStatus();
}

// An event for `view`'s claim at its next version.
v1::Event NextEvent(const v1::ClaimView& view) {
  v1::Event event;
  event.set_claim_id(view.claim_id());
  event.set_version(view.version() + 1);
  event.set_subject(view.subject());
  event.set_claimant(view.claimant());
  return event;
}

// Corrections compare values, not messages: unknown fields a client sent
// along (dropped before the event is stored) must not make an unchanged value
// look changed.
bool SameTags(const google::protobuf::RepeatedPtrField<std::string>& a,
              const google::protobuf::RepeatedPtrField<std::string>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

bool SameInstant(const google::protobuf::Timestamp& a,
                 const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

const v1::EvidenceView* FindEvidence(const v1::ClaimView& view,
                                     absl::string_view evidence_id) {
  for (const v1::EvidenceView& e : view.evidence()) {
    if (e.evidence_id() == evidence_id) return &e;
  }
  return nullptr;
}

const SourceRegistry& Sources(const DecideContext& ctx) {
  static const SourceRegistry* const kEmpty = new SourceRegistry();
  return ctx.sources != nullptr ? *ctx.sources : *kEmpty;
}

// Sets the policy an evidence event records: the one in force, left unset
// when it is the default.
template <typename Payload>
void RecordPolicy(const DecideContext& ctx, Payload* payload) {
  const SourceRegistry& sources = Sources(ctx);
  if (sources.policy().version() == 0) return;  // never set: the default
  v1::DeskPolicy policy = RecordedPolicy(sources);
  if (policy.ByteSizeLong() > 0) *payload->mutable_policy() = policy;
}

absl::StatusOr<Decision> DecideRecord(const v1::RecordClaimRequest& req,
                                      const ClaimLookup& lookup,
                                      const DecideContext& ctx) {
  if (auto s = ValidateRecordClaim(req, ctx.now, ctx.limits); !s.ok()) return s;
  const std::string claim_id =
      req.claim_id().empty() ? ctx.assigned_claim_id : req.claim_id();
  absl::StatusOr<const v1::ClaimView*> existing = lookup(claim_id);
  if (!existing.ok()) return existing.status();
  if (*existing != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrFormat("claim_id: claim \"%s\" already exists", claim_id));
  }
  Decision d;
  d.claim_id = claim_id;
  v1::Event& event = d.events.emplace_back();
  event.set_claim_id(claim_id);
  event.set_version(1);
  event.set_subject(req.subject());
  event.set_claimant(req.claimant());
  v1::ClaimRecorded* r = event.mutable_claim_recorded();
  r->set_text(req.text());
  r->set_claimant(req.claimant());
  if (req.has_reported_by() && !req.reported_by().name().empty()) {
    *r->mutable_reported_by() = req.reported_by();
  }
  r->set_subject(req.subject());
  r->set_kind(req.kind());
  *r->mutable_asserted_at() =
      req.has_asserted_at() ? req.asserted_at() : ToProto(ctx.now);
  if (req.has_due_at()) *r->mutable_due_at() = req.due_at();
  *r->mutable_tags() = req.tags();
  return d;
}

absl::StatusOr<Decision> DecideAddEvidence(const v1::AddEvidenceRequest& req,
                                           const ClaimLookup& lookup,
                                           const DecideContext& ctx) {
  if (auto s = ValidateAddEvidence(req, ctx.now, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found = Target(lookup, req);
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (auto s = CheckNotRetracted(view, "evidence"); !s.ok()) return s;

  // Resolved now, recorded in the event: a later alias or affiliation does
  // not change what this evidence meant (ReattributeEvidence does, by an
  // event of its own).
  absl::StatusOr<std::optional<v1::SourceAttribution>> attribution =
      Attribute(Sources(ctx), req.source());
  if (!attribution.ok()) return attribution.status();

  std::string evidence_id = req.evidence_id();
  if (evidence_id.empty()) {
    // Assigned ids follow the claim version; suffix in the rare case a client
    // already chose the same id.
    evidence_id = absl::StrCat("ev", view.version() + 1);
    for (int n = 2; FindEvidence(view, evidence_id) != nullptr; ++n) {
      evidence_id = absl::StrCat("ev", view.version() + 1, "-", n);
    }
  } else if (FindEvidence(view, evidence_id) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrFormat("evidence_id: claim \"%s\" already has evidence \"%s\"",
                        view.claim_id(), evidence_id));
  }
  Decision d;
  d.claim_id = view.claim_id();
  d.evidence_id = evidence_id;
  v1::Event& event = d.events.emplace_back(NextEvent(view));
  v1::EvidenceAdded* a = event.mutable_evidence_added();
  a->set_evidence_id(evidence_id);
  a->set_stance(req.stance());
  *a->mutable_source() = req.source();
  *a->mutable_observed_at() =
      req.has_observed_at() ? req.observed_at() : ToProto(ctx.now);
  a->set_note(req.note());
  if (*attribution) *a->mutable_attribution() = **std::move(attribution);
  a->set_credibility(req.credibility());
  RecordPolicy(ctx, a);
  return d;
}

absl::StatusOr<Decision> DecideWithdraw(const v1::WithdrawEvidenceRequest& req,
                                        const ClaimLookup& lookup,
                                        const DecideContext& ctx) {
  if (auto s = ValidateWithdrawEvidence(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found = Target(lookup, req);
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (auto s = CheckNotRetracted(view, "changes to evidence"); !s.ok()) {
    return s;
  }
  const v1::EvidenceView* evidence = FindEvidence(view, req.evidence_id());
  if (evidence == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("evidence_id: claim \"%s\" has no evidence \"%s\"",
                        view.claim_id(), req.evidence_id()));
  }
  if (evidence->withdrawn()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("evidence_id: evidence \"%s\" of claim \"%s\" is "
                        "already withdrawn",
                        req.evidence_id(), view.claim_id()));
  }
  Decision d;
  d.claim_id = view.claim_id();
  d.evidence_id = req.evidence_id();
  v1::Event& event = d.events.emplace_back(NextEvent(view));
  v1::EvidenceWithdrawn* w = event.mutable_evidence_withdrawn();
  w->set_evidence_id(req.evidence_id());
  w->set_reason(req.reason());
  RecordPolicy(ctx, w);
  return d;
}

absl::StatusOr<Decision> DecideVerdict(const v1::IssueVerdictRequest& req,
                                       const ClaimLookup& lookup,
                                       const DecideContext& ctx) {
  if (auto s = ValidateIssueVerdict(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found =
      Existing(lookup, req.claim_id(), "claim_id");
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (!RatingFitsKind(req.rating(), view.kind())) {
    const bool promise = view.kind() == v1::CLAIM_KIND_PROMISE;
    // "it has true, mostly-true, ...": the words the CLI takes.
    const auto* ratings = google::protobuf::GetEnumDescriptor<v1::Rating>();
    std::vector<std::string> scale;
    for (int i = 0; i < ratings->value_count(); ++i) {
      const auto rating = static_cast<v1::Rating>(ratings->value(i)->number());
      if (RatingFitsKind(rating, view.kind()))
        scale.push_back(EnumWord(rating));
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "rating: %s is not on the %s scale used for %s claims; it has %s",
        EnumWord(req.rating()), promise ? "promise" : "truth",
        EnumWord(view.kind()), absl::StrJoin(scale, ", ")));
  }
  if (auto s = CheckVersion(view, req.has_expected_version(),
                            req.expected_version());
      !s.ok()) {
    return s;
  }
  if (auto s = CheckNotRetracted(view, "verdicts"); !s.ok()) return s;
  Decision d;
  d.claim_id = view.claim_id();
  v1::Event& event = d.events.emplace_back(NextEvent(view));
  v1::VerdictIssued* v = event.mutable_verdict_issued();
  v->set_rating(req.rating());
  v->set_summary(req.summary());
  v->set_reviewer(req.reviewer());
  return d;
}

absl::StatusOr<Decision> DecideCorrect(const v1::CorrectClaimRequest& req,
                                       const ClaimLookup& lookup,
                                       const DecideContext& ctx) {
  if (auto s = ValidateCorrectClaim(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found = Target(lookup, req);
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (auto s = CheckNotRetracted(view, "corrections"); !s.ok()) return s;
  const bool can_be_due = view.kind() == v1::CLAIM_KIND_PROMISE ||
                          view.kind() == v1::CLAIM_KIND_PREDICTION;
  if (req.has_due_at() && !can_be_due) {
    return absl::InvalidArgumentError(
        "due_at: only PROMISE and PREDICTION claims have one");
  }

  Decision d;
  d.claim_id = view.claim_id();
  v1::Event event = NextEvent(view);
  v1::ClaimCorrected* c = event.mutable_claim_corrected();
  if (req.has_text() && req.text() != view.text()) c->set_text(req.text());
  if (req.has_subject() && req.subject() != view.subject()) {
    c->set_subject(req.subject());
    event.set_subject(req.subject());
  }
  if (req.has_tags() && !SameTags(view.tags(), req.tags().tags())) {
    *c->mutable_tags() = req.tags();
  }
  if (req.has_due_at() &&
      !(view.has_due_at() && SameInstant(view.due_at(), req.due_at()))) {
    *c->mutable_due_at() = req.due_at();
  }
  if (req.clear_due_at() && view.has_due_at()) c->set_due_at_cleared(true);
  if (!c->has_text() && !c->has_subject() && !c->has_tags() &&
      !c->has_due_at() && !c->due_at_cleared()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "nothing to correct: the given values equal claim \"%s\"'s current "
        "ones",
        view.claim_id()));
  }
  c->set_reason(req.reason());
  v1::ClaimFields* previous = c->mutable_previous();
  previous->set_text(view.text());
  previous->set_subject(view.subject());
  *previous->mutable_tags() = view.tags();
  if (view.has_due_at()) *previous->mutable_due_at() = view.due_at();
  d.events.push_back(std::move(event));
  return d;
}

absl::StatusOr<Decision> DecideRetract(const v1::RetractClaimRequest& req,
                                       const ClaimLookup& lookup,
                                       const DecideContext& ctx) {
  if (auto s = ValidateRetractClaim(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found = Target(lookup, req);
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (view.retracted()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("claim \"%s\" is already retracted", view.claim_id()));
  }
  Decision d;
  d.claim_id = view.claim_id();
  v1::Event& event = d.events.emplace_back(NextEvent(view));
  event.mutable_claim_retracted()->set_reason(req.reason());
  return d;
}

absl::StatusOr<Decision> DecideLink(const v1::LinkClaimsRequest& req,
                                    const ClaimLookup& lookup,
                                    const DecideContext& ctx) {
  if (auto s = ValidateLinkClaims(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> from =
      Existing(lookup, req.claim_id(), "claim_id");
  if (!from.ok()) return from.status();
  absl::StatusOr<const v1::ClaimView*> to =
      Existing(lookup, req.other_claim_id(), "other_claim_id");
  if (!to.ok()) return to.status();
  if (auto s = CheckVersion(**from, req.has_expected_version(),
                            req.expected_version());
      !s.ok()) {
    return s;
  }
  for (const v1::LinkView& link : (*from)->links()) {
    if (link.other_claim_id() == req.other_claim_id() &&
        link.relation() == req.relation() &&
        link.direction() == v1::LINK_DIRECTION_OUTGOING) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "claim \"%s\" is already linked %s \"%s\"", req.claim_id(),
          EnumWord(req.relation()), req.other_claim_id()));
    }
  }
  Decision d;
  d.claim_id = req.claim_id();
  v1::Event& out = d.events.emplace_back(NextEvent(**from));
  out.mutable_claim_linked()->set_other_claim_id(req.other_claim_id());
  out.mutable_claim_linked()->set_relation(req.relation());
  out.mutable_claim_linked()->set_direction(v1::LINK_DIRECTION_OUTGOING);
  v1::Event& in = d.events.emplace_back(NextEvent(**to));
  in.mutable_claim_linked()->set_other_claim_id(req.claim_id());
  in.mutable_claim_linked()->set_relation(req.relation());
  in.mutable_claim_linked()->set_direction(v1::LINK_DIRECTION_INCOMING);
  return d;
}

bool SameAttribution(const v1::EvidenceView& e,
                     const std::optional<v1::SourceAttribution>& now) {
  if (!now) return !e.has_attribution();
  const v1::SourceAttribution& was = e.attribution();
  return e.has_attribution() && was.source_id() == now->source_id() &&
         was.source_name() == now->source_name() &&
         was.organisation_id() == now->organisation_id() &&
         was.organisation_name() == now->organisation_name() &&
         was.grade() == now->grade();
}

absl::StatusOr<Decision> DecideReattribute(
    const v1::ReattributeEvidenceRequest& req, const ClaimLookup& lookup,
    const DecideContext& ctx) {
  if (auto s = ValidateReattributeEvidence(req, ctx.limits); !s.ok()) return s;
  absl::StatusOr<const v1::ClaimView*> found = Target(lookup, req);
  if (!found.ok()) return found.status();
  const v1::ClaimView& view = **found;
  if (auto s = CheckNotRetracted(view, "re-attribution"); !s.ok()) return s;
  Decision d;
  d.claim_id = view.claim_id();
  v1::Event event = NextEvent(view);
  v1::EvidenceReattributed* r = event.mutable_evidence_reattributed();
  for (const v1::EvidenceView& e : view.evidence()) {
    if (e.withdrawn()) continue;
    absl::StatusOr<std::optional<v1::SourceAttribution>> now =
        Attribute(Sources(ctx), e.source());
    // A source named by an id no longer registered cannot happen (sources
    // are never removed); keep what the evidence has.
    if (!now.ok() || SameAttribution(e, *now)) continue;
    v1::EvidenceAttribution* item = r->add_evidence();
    item->set_evidence_id(e.evidence_id());
    if (*now) *item->mutable_attribution() = **now;
    if (e.has_attribution()) *item->mutable_previous() = e.attribution();
  }
  RecordPolicy(ctx, r);
  const bool policy_changed =
      r->policy().SerializeAsString() != view.policy().SerializeAsString();
  if (r->evidence().empty() && !policy_changed) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "nothing to re-attribute: claim \"%s\"'s evidence and policy are as "
        "the registry stands",
        view.claim_id()));
  }
  r->set_reason(req.reason());
  d.events.push_back(std::move(event));
  return d;
}

}  // namespace

absl::StatusOr<Decision> Decide(const v1::Command& command,
                                const ClaimLookup& lookup,
                                const DecideContext& context) {
  switch (command.command_case()) {
    case v1::Command::kRecordClaim:
      return DecideRecord(command.record_claim(), lookup, context);
    case v1::Command::kAddEvidence:
      return DecideAddEvidence(command.add_evidence(), lookup, context);
    case v1::Command::kWithdrawEvidence:
      return DecideWithdraw(command.withdraw_evidence(), lookup, context);
    case v1::Command::kIssueVerdict:
      return DecideVerdict(command.issue_verdict(), lookup, context);
    case v1::Command::kCorrectClaim:
      return DecideCorrect(command.correct_claim(), lookup, context);
    case v1::Command::kRetractClaim:
      return DecideRetract(command.retract_claim(), lookup, context);
    case v1::Command::kLinkClaims:
      return DecideLink(command.link_claims(), lookup, context);
    case v1::Command::kReattributeEvidence:
      return DecideReattribute(command.reattribute_evidence(), lookup, context);
    case v1::Command::COMMAND_NOT_SET:
      break;
    default:
      return DecideSourceCommand(command, context);
  }
  return absl::InvalidArgumentError("command: empty, set one of its fields");
}

}  // namespace factlog::domain
