#include "domain/status.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/time_util.h"

namespace factlog::domain {

namespace {

// The default policy: one source of any grade makes a side hold, so the
// distinct names decide (as before sources were registered).
bool DefaultPolicy(const v1::DeskPolicy& policy) {
  return policy.min_independent_sources() <= 1 && !policy.ignore_unreliable();
}

bool Ignored(const v1::DeskPolicy& policy, const v1::EvidenceView& e) {
  return policy.ignore_unreliable() &&
         (e.attribution().grade() == v1::SOURCE_GRADE_E ||
          e.attribution().grade() == v1::SOURCE_GRADE_F);
}

// The key under which evidence counts as one independent source.
std::string IndependenceKey(const v1::EvidenceView& e) {
  if (e.has_attribution()) {
    return absl::StrCat("\x01", e.attribution().organisation_id());
  }
  return SourceKey(e.source().name());
}

// Whether the evidence with `stance` holds under the claim's policy.
bool SideHolds(const v1::ClaimView& view, v1::Stance stance) {
  if (DefaultPolicy(view.policy())) {
    return stance == v1::STANCE_SUPPORTS ? !view.supporting_sources().empty()
                                         : !view.refuting_sources().empty();
  }
  absl::flat_hash_set<std::string> independent;
  for (const v1::EvidenceView& e : view.evidence()) {
    if (e.withdrawn() || e.stance() != stance || Ignored(view.policy(), e)) {
      continue;
    }
    independent.insert(IndependenceKey(e));
  }
  return !independent.empty() &&
         independent.size() >=
             std::max<uint32_t>(1, view.policy().min_independent_sources());
}

}  // namespace

std::vector<SourceGroup> IndependentGroups(const v1::ClaimView& view,
                                           v1::Stance stance) {
  std::vector<SourceGroup> groups;
  absl::flat_hash_map<std::string, size_t> index;
  for (const v1::EvidenceView& e : view.evidence()) {
    if (e.withdrawn() || e.stance() != stance) continue;
    auto [it, inserted] = index.emplace(IndependenceKey(e), groups.size());
    if (inserted) {
      SourceGroup& g = groups.emplace_back();
      g.organisation = e.has_attribution() ? e.attribution().organisation_name()
                                           : e.source().name();
      g.counted = false;
    }
    SourceGroup& g = groups[it->second];
    g.counted |= !Ignored(view.policy(), e);
    const v1::SourceAttribution& a = e.attribution();
    if (e.has_attribution() && a.source_id() != a.organisation_id() &&
        std::find(g.members.begin(), g.members.end(), a.source_name()) ==
            g.members.end()) {
      g.members.push_back(a.source_name());
    }
  }
  return groups;
}

std::string GroupLabel(const SourceGroup& group) {
  if (group.members.empty()) return group.organisation;
  return absl::StrCat(group.organisation, " (",
                      absl::StrJoin(group.members, ", "), ")");
}

v1::ClaimStatus StoredStatus(const v1::ClaimView& view) {
  if (view.retracted()) return v1::CLAIM_STATUS_RETRACTED;
  if (view.has_verdict()) return v1::CLAIM_STATUS_RATED;
  const bool supported = SideHolds(view, v1::STANCE_SUPPORTS);
  const bool refuted = SideHolds(view, v1::STANCE_REFUTES);
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
