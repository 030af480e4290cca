#ifndef FACTLOG_DOMAIN_STATUS_H_
#define FACTLOG_DOMAIN_STATUS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "factlog/v1/views.pb.h"

// The status rules (docs/ARCHITECTURE.md, "Status rules"). All functions are
// pure and thread-safe.
namespace factlog::domain {

// The stored status of a claim, from its view alone:
//   retracted -> RETRACTED; a verdict -> RATED; otherwise from the
//   independent sources of evidence not withdrawn (IndependentGroups) that
//   count under the claim's policy: a side "holds" with at least
//   policy.min_independent_sources of them (at least one); neither ->
//   UNVERIFIED, only support -> SUPPORTED, only refutation -> CONTRADICTED,
//   both -> DISPUTED.
// Never returns OVERDUE, which depends on the clock.
v1::ClaimStatus StoredStatus(const v1::ClaimView& view);

// The status a reader sees at `now`: StoredStatus, except that a PROMISE or
// PREDICTION whose due_at is before `now`, with no verdict and no supporting
// evidence, is OVERDUE.
v1::ClaimStatus EffectiveStatus(const v1::ClaimView& view, absl::Time now);

// True when the claim reads OVERDUE once its due_at has passed: a PROMISE or
// PREDICTION with a due_at whose StoredStatus is UNVERIFIED or CONTRADICTED.
// ClaimView.overdue_at is set exactly while this holds (see Evolve).
bool OverdueEligible(const v1::ClaimView& view);

// Sets view->status to EffectiveStatus(*view, now): what every read path
// returns to clients.
void PresentAt(absl::Time now, v1::ClaimView* view);

// Recomputes view->supporting_sources and view->refuting_sources from the
// evidence not withdrawn (distinct source names, case-insensitively, in order
// of first appearance), then view->status via StoredStatus.
void RefreshStatus(v1::ClaimView* view);

// One independent source among a claim's supporters or refuters: the
// evidence whose sources share a top organisation (attributed evidence), or
// a name (SourceKey; evidence that names no registered source).
struct SourceGroup {
  std::string organisation;  // its name: the organisation's, or as given
  // The sources heard within it, other than the organisation itself (the
  // registry's names), in order of first appearance.
  std::vector<std::string> members;
  // False when the claim's policy ignores every item of it (graded E or F).
  bool counted = true;
};

// The independent sources of `view`'s evidence not withdrawn with `stance`,
// in order of first appearance.
std::vector<SourceGroup> IndependentGroups(const v1::ClaimView& view,
                                           v1::Stance stance);

// "NATO (Anders Fogh Rasmussen, Jens Stoltenberg)", or "NATO" alone.
std::string GroupLabel(const SourceGroup& group);

// True when `rating` belongs to the scale of `kind`: the promise scale for
// PROMISE, the truth scale for FACT, STATISTIC and PREDICTION.
bool RatingFitsKind(v1::Rating rating, v1::ClaimKind kind);

// The identity under which sources are counted: the trimmed, lower-cased name.
std::string SourceKey(absl::string_view name);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_STATUS_H_
