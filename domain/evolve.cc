#include "domain/evolve.h"

#include <algorithm>
#include <optional>

#include "domain/status.h"
#include "domain/time_util.h"

namespace factlog::domain {
namespace {

void ApplyRecorded(const v1::Event& event, v1::ClaimView* view) {
  const v1::ClaimRecorded& r = event.claim_recorded();
  view->set_claim_id(event.claim_id());
  view->set_text(r.text());
  view->set_claimant(r.claimant());
  if (r.has_reported_by()) *view->mutable_reported_by() = r.reported_by();
  view->set_subject(r.subject());
  view->set_kind(r.kind());
  if (r.has_asserted_at()) *view->mutable_asserted_at() = r.asserted_at();
  if (r.has_due_at()) *view->mutable_due_at() = r.due_at();
  *view->mutable_tags() = r.tags();
  *view->mutable_created_at() = event.recorded_at();
  view->set_created_by(event.actor());
}

// The claim's policy is the one its latest evidence event recorded.
template <typename Payload>
void SetPolicy(const Payload& payload, v1::ClaimView* view) {
  if (payload.has_policy()) {
    *view->mutable_policy() = payload.policy();
  } else {
    view->clear_policy();
  }
}

void ApplyEvidenceAdded(const v1::Event& event, v1::ClaimView* view) {
  const v1::EvidenceAdded& a = event.evidence_added();
  v1::EvidenceView* e = view->add_evidence();
  e->set_evidence_id(a.evidence_id());
  e->set_stance(a.stance());
  *e->mutable_source() = a.source();
  if (a.has_observed_at()) *e->mutable_observed_at() = a.observed_at();
  e->set_note(a.note());
  *e->mutable_added_at() = event.recorded_at();
  e->set_added_version(event.version());
  e->set_added_by(event.actor());
  if (a.has_attribution()) *e->mutable_attribution() = a.attribution();
  e->set_credibility(a.credibility());
  SetPolicy(a, view);
}

void ApplyEvidenceWithdrawn(const v1::Event& event, v1::ClaimView* view) {
  const v1::EvidenceWithdrawn& w = event.evidence_withdrawn();
  for (v1::EvidenceView& e : *view->mutable_evidence()) {
    if (e.evidence_id() == w.evidence_id()) {
      e.set_withdrawn(true);
      e.set_withdrawn_reason(w.reason());
      *e.mutable_withdrawn_at() = event.recorded_at();
    }
  }
  SetPolicy(w, view);
}

void ApplyReattributed(const v1::Event& event, v1::ClaimView* view) {
  const v1::EvidenceReattributed& r = event.evidence_reattributed();
  for (const v1::EvidenceAttribution& item : r.evidence()) {
    for (v1::EvidenceView& e : *view->mutable_evidence()) {
      if (e.evidence_id() != item.evidence_id()) continue;
      if (item.has_attribution()) {
        *e.mutable_attribution() = item.attribution();
      } else {
        e.clear_attribution();
      }
    }
  }
  SetPolicy(r, view);
}

void ApplyVerdict(const v1::Event& event, v1::ClaimView* view) {
  const v1::VerdictIssued& v = event.verdict_issued();
  v1::VerdictView* verdict = view->mutable_verdict();
  verdict->set_rating(v.rating());
  verdict->set_summary(v.summary());
  verdict->set_reviewer(v.reviewer());
  *verdict->mutable_issued_at() = event.recorded_at();
  verdict->set_version(event.version());
  view->set_rating(v.rating());
}

void ApplyCorrected(const v1::Event& event, v1::ClaimView* view) {
  const v1::ClaimCorrected& c = event.claim_corrected();
  v1::CorrectionView* correction = view->add_corrections();
  correction->set_version(event.version());
  *correction->mutable_corrected_at() = event.recorded_at();
  correction->set_reason(c.reason());
  *correction->mutable_previous() = c.previous();
  correction->set_actor(event.actor());
  if (c.has_text()) view->set_text(c.text());
  if (c.has_subject()) view->set_subject(c.subject());
  if (c.has_tags()) *view->mutable_tags() = c.tags().tags();
  if (c.has_due_at()) *view->mutable_due_at() = c.due_at();
  if (c.due_at_cleared()) view->clear_due_at();
}

void ApplyLinked(const v1::Event& event, v1::ClaimView* view) {
  const v1::ClaimLinked& l = event.claim_linked();
  v1::LinkView* link = view->add_links();
  link->set_other_claim_id(l.other_claim_id());
  link->set_relation(l.relation());
  link->set_direction(l.direction());
  *link->mutable_linked_at() = event.recorded_at();
}

// Keeps overdue_at as Evolve's contract states; `was_eligible` and
// `old_due_at` describe the view before the event.
void RefreshOverdueAt(const v1::Event& event, bool was_eligible,
                      const google::protobuf::Timestamp* old_due_at,
                      v1::ClaimView* view) {
  if (!OverdueEligible(*view)) {
    view->clear_overdue_at();
    return;
  }
  const bool due_changed = old_due_at == nullptr ||
                           FromProto(*old_due_at) != FromProto(view->due_at());
  if (was_eligible && !due_changed && view->has_overdue_at()) return;
  *view->mutable_overdue_at() = ToProto(
      std::max(FromProto(view->due_at()), FromProto(event.recorded_at())));
}

}  // namespace

void Evolve(const v1::Event& event, v1::ClaimView* view) {
  const bool was_eligible = OverdueEligible(*view);
  std::optional<google::protobuf::Timestamp> old_due_at;
  if (view->has_due_at()) old_due_at = view->due_at();
  switch (event.payload_case()) {
    case v1::Event::kClaimRecorded:
      ApplyRecorded(event, view);
      break;
    case v1::Event::kEvidenceAdded:
      ApplyEvidenceAdded(event, view);
      break;
    case v1::Event::kEvidenceWithdrawn:
      ApplyEvidenceWithdrawn(event, view);
      break;
    case v1::Event::kVerdictIssued:
      ApplyVerdict(event, view);
      break;
    case v1::Event::kClaimCorrected:
      ApplyCorrected(event, view);
      break;
    case v1::Event::kClaimRetracted:
      view->set_retracted(true);
      view->set_retraction_reason(event.claim_retracted().reason());
      *view->mutable_retracted_at() = event.recorded_at();
      break;
    case v1::Event::kClaimLinked:
      ApplyLinked(event, view);
      break;
    case v1::Event::kEvidenceReattributed:
      ApplyReattributed(event, view);
      break;
    default:  // PAYLOAD_NOT_SET, and registry events (not a claim's)
      break;
  }
  view->set_version(event.version());
  view->set_last_position(event.position());
  *view->mutable_updated_at() = event.recorded_at();
  RefreshStatus(view);
  RefreshOverdueAt(event, was_eligible, old_due_at ? &*old_due_at : nullptr,
                   view);
}

}  // namespace factlog::domain
