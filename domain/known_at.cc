#include "domain/known_at.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "domain/evolve.h"
#include "domain/status.h"
#include "domain/time_util.h"

namespace factlog::domain {

KnownFrom KnownFromTime(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kClaimRecorded:
      if (event.claim_recorded().has_asserted_at()) {
        return {FromProto(event.claim_recorded().asserted_at()), false};
      }
      return {FromProto(event.recorded_at()), true};
    case v1::Event::kEvidenceAdded:
      if (event.evidence_added().has_observed_at()) {
        return {FromProto(event.evidence_added().observed_at()), false};
      }
      return {FromProto(event.recorded_at()), true};
    default:
      return {FromProto(event.recorded_at()), false};
  }
}

void KnownAtReplay::Add(const v1::Event& event) {
  const KnownFrom from = KnownFromTime(event);
  if (event.has_claim_recorded()) {
    claim_from_ = from.at;
    asserted_late_ = from.at > known_at_;
  }
  if (asserted_late_ || from.at > known_at_) {
    ++skipped_;
    return;
  }
  // A withdrawal of evidence that does not count yet changes nothing
  // (Evolve finds no such evidence in the view), as it should: what was
  // not yet observed cannot have been withdrawn.
  Evolve(event, &view_);
  exists_ = true;
  if (event.has_evidence_added() && from.placed_by_recorded_time) ++placed_;
}

std::vector<TimelineStep> Timeline(const std::vector<v1::Event>& events) {
  // Each event's instant in the story: its known-from time, but never
  // before the claim's own (nothing counts before the claim exists) and,
  // for a withdrawal, never before the evidence it withdraws (a
  // withdrawal of evidence not yet observed changes nothing, see
  // KnownAtReplay::Add). Replaying in (instant, version) order then gives,
  // after each instant, the same status and rating as a KnownAtReplay at
  // that instant: status depends on which events count, not on the order
  // in which evidence was added, and verdicts, corrections and retractions
  // keep their version order because their instants are their recorded
  // times, which never decrease along the log.
  std::vector<absl::Time> instant(events.size());
  absl::flat_hash_map<std::string, absl::Time> evidence_from;
  absl::Time claim_from = absl::InfinitePast();
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Event& e = events[i];
    absl::Time at = std::max(KnownFromTime(e).at, claim_from);
    if (e.has_claim_recorded()) claim_from = at;
    if (e.has_evidence_added()) {
      evidence_from[e.evidence_added().evidence_id()] = at;
    }
    if (e.has_evidence_withdrawn()) {
      auto it = evidence_from.find(e.evidence_withdrawn().evidence_id());
      if (it != evidence_from.end()) at = std::max(at, it->second);
    }
    instant[i] = at;
  }
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return instant[a] < instant[b]; });

  // A step holds from its instant on: statuses are judged just after it,
  // so that a due_at equal to the instant already reads OVERDUE (as
  // EffectiveStatus says once due_at is in the past).
  auto status_after = [](const v1::ClaimView& view, absl::Time t) {
    return EffectiveStatus(view, t + absl::Nanoseconds(1));
  };
  std::vector<TimelineStep> steps;
  auto push = [&](absl::Time from, v1::ClaimStatus status, v1::Rating rating,
                  std::vector<const v1::Event*> causes) {
    if (!steps.empty() && steps.back().status == status &&
        steps.back().rating == rating) {
      return;
    }
    steps.push_back({from, status, rating, std::move(causes)});
  };
  v1::ClaimView view;
  for (size_t i = 0; i < order.size();) {
    const absl::Time at = instant[order[i]];
    std::vector<const v1::Event*> causes;
    for (; i < order.size() && instant[order[i]] == at; ++i) {
      Evolve(events[order[i]], &view);
      causes.push_back(&events[order[i]]);
    }
    const v1::ClaimStatus status = status_after(view, at);
    push(at, status,
         view.has_verdict() ? view.rating() : v1::RATING_UNSPECIFIED,
         std::move(causes));
    // The claim turns OVERDUE when its due_at passes before anything else
    // happens to it.
    const absl::Time next =
        i < order.size() ? instant[order[i]] : absl::InfiniteFuture();
    if (OverdueEligible(view)) {
      const absl::Time due = FromProto(view.due_at());
      if (due > at && due < next) {
        push(due, status_after(view, due), v1::RATING_UNSPECIFIED, {});
      }
    }
  }
  return steps;
}

}  // namespace factlog::domain
