#include "domain/status.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "domain/time_util.h"

namespace factlog::domain {

v1::ClaimStatus StoredStatus(const v1::ClaimView& view) {
  if (view.retracted()) return v1::CLAIM_STATUS_RETRACTED;
  if (view.has_verdict()) return v1::CLAIM_STATUS_RATED;
  const bool supported = !view.supporting_sources().empty();
  const bool refuted = !view.refuting_sources().empty();
  if (supported && refuted) return v1::CLAIM_STATUS_DISPUTED;
  if (supported) return v1::CLAIM_STATUS_SUPPORTED;
  if (refuted) return v1::CLAIM_STATUS_CONTRADICTED;
  return v1::CLAIM_STATUS_UNVERIFIED;
}

bool OverdueEligible(const v1::ClaimView& view) {
  const bool can_be_overdue = view.kind() == v1::CLAIM_KIND_PROMISE ||
                              view.kind() == v1::CLAIM_KIND_PREDICTION;
  const v1::ClaimStatus stored = StoredStatus(view);
  const bool unsupported = stored == v1::CLAIM_STATUS_UNVERIFIED ||
                           stored == v1::CLAIM_STATUS_CONTRADICTED;
  return can_be_overdue && unsupported && view.has_due_at();
}

v1::ClaimStatus EffectiveStatus(const v1::ClaimView& view, absl::Time now) {
  if (OverdueEligible(view) && FromProto(view.due_at()) < now) {
    return v1::CLAIM_STATUS_OVERDUE;
  }
  return StoredStatus(view);
}

void PresentAt(absl::Time now, v1::ClaimView* view) {
  view->set_status(EffectiveStatus(*view, now));
}

std::string SourceKey(absl::string_view name) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
}

void RefreshStatus(v1::ClaimView* view) {
  view->clear_supporting_sources();
  view->clear_refuting_sources();
  absl::flat_hash_set<std::string> supporting, refuting;
  for (const v1::EvidenceView& e : view->evidence()) {
    if (e.withdrawn()) continue;
    if (e.stance() == v1::STANCE_SUPPORTS &&
        supporting.insert(SourceKey(e.source().name())).second) {
      view->add_supporting_sources(e.source().name());
    } else if (e.stance() == v1::STANCE_REFUTES &&
               refuting.insert(SourceKey(e.source().name())).second) {
      view->add_refuting_sources(e.source().name());
    }
  }
  view->set_status(StoredStatus(*view));
}

bool RatingFitsKind(v1::Rating rating, v1::ClaimKind kind) {
  const bool promise_scale =
      rating >= v1::RATING_KEPT && rating <= v1::RATING_NOT_YET_RATED;
  const bool truth_scale =
      rating >= v1::RATING_TRUE && rating <= v1::RATING_UNPROVEN;
  switch (kind) {
    case v1::CLAIM_KIND_PROMISE:
      return promise_scale;
    case v1::CLAIM_KIND_FACT:
    case v1::CLAIM_KIND_STATISTIC:
    case v1::CLAIM_KIND_PREDICTION:
      return truth_scale;
    default:
      return false;
  }
}

}  // namespace factlog::domain
