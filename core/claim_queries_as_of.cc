// ClaimQueries' reads of the past: as of a recorded bound (as_of_position,
// as_of_time), as known at a valid time (known_at), both together, and a
// claim's timeline in valid time. See docs/ARCHITECTURE.md, "Two clocks".
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/claim_queries.h"
#include "core/page_token.h"
#include "domain/evolve.h"
#include "domain/known_at.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"

namespace factlog::core {
absl::StatusOr<v1::ClaimView> ClaimQueries::ReplayClaim(
    absl::string_view claim_id, const RecordedBound& recorded,
    std::optional<absl::Time> known_at) const {
  v1::ClaimView plain;
  std::optional<domain::KnownAtReplay> known;
  if (known_at) known.emplace(*known_at);
  bool any = false;
  absl::Status s =
      store_->ReadClaimEvents(claim_id, 1, [&](const v1::Event& e) {
        if (e.position() > recorded.position) return false;
        if (recorded.time &&
            domain::FromProto(e.recorded_at()) > *recorded.time) {
          return false;
        }
        any = true;
        if (known) {
          known->Add(e);
        } else {
          domain::Evolve(e, &plain);
        }
        return true;
      });
  if (!s.ok()) return s;
  if (!any) {
    return absl::NotFoundError(
        recorded.name.empty()
            ? absl::StrFormat("claim \"%s\" not found", claim_id)
            : absl::StrFormat("claim \"%s\" did not exist at %s", claim_id,
                              recorded.name));
  }
  if (!known) {
    // OVERDUE is judged at the bound, not today.
    domain::PresentAt(
        recorded.time.value_or(domain::FromProto(plain.updated_at())), &plain);
    return plain;
  }
  if (!known->exists()) {
    return absl::NotFoundError(absl::StrFormat(
        "claim \"%s\" was not yet asserted at known_at %s: it counts from %s",
        claim_id, domain::Rfc3339(*known_at),
        domain::Rfc3339(known->claim_counts_from())));
  }
  v1::ClaimView view = std::move(known->mutable_view());
  domain::PresentAt(*known_at, &view);
  v1::KnownAtInfo* info = view.mutable_known();
  *info->mutable_known_at() = domain::ToProto(*known_at);
  info->set_evidence_placed_by_recorded_time(
      known->evidence_placed_by_recorded_time());
  info->set_events_not_yet_known(known->events_not_yet_known());
  return view;
}

absl::StatusOr<v1::ListClaimsResponse> ClaimQueries::ListClaimsKnownAt(
    const v1::ListClaimsRequest& req, int page_size, absl::Time known_at,
    absl::string_view after, absl::string_view scope) const {
  v1::ListClaimsResponse response;
  int scanned = 0;
  std::string last_scanned;
  bool more = false;
  absl::Status read;
  // The stored views only give the ids and the claimant and kind, which no
  // later event changes; everything else is judged on the claim as known.
  absl::Status s = store_->ScanClaims(after, [&](v1::ClaimView current) {
    if (response.claims_size() == page_size ||
        scanned == kMaxKnownAtScanPerPage) {
      more = true;
      return false;
    }
    ++scanned;
    last_scanned = current.claim_id();
    if ((!req.claimant().empty() && current.claimant() != req.claimant()) ||
        (req.kind() != v1::CLAIM_KIND_UNSPECIFIED &&
         current.kind() != req.kind())) {
      return true;
    }
    absl::StatusOr<v1::ClaimView> view =
        ReplayClaim(current.claim_id(), RecordedBound(), known_at);
    if (absl::IsNotFound(view.status())) return true;  // asserted later
    if (!view.ok()) {
      read = view.status();
      return false;
    }
    if (MatchesListFilters(req, *view)) {
      *response.add_claims() = *std::move(view);
    }
    return true;
  });
  if (s.ok()) s = read;
  if (!s.ok()) return s;
  if (more) {
    response.set_next_page_token(
        EncodePageToken(store_->token_secret(), scope, last_scanned));
  }
  return response;
}

absl::StatusOr<v1::ClaimTimeline> ClaimQueries::GetClaimTimeline(
    const v1::GetClaimTimelineRequest& req) const {
  if (auto s = domain::ValidateSlug("claim_id", req.claim_id(), limits_);
      !s.ok()) {
    return s;
  }
  const uint64_t until =
      req.as_of_position() == 0 ? UINT64_MAX : req.as_of_position();
  std::vector<v1::Event> events;
  uint32_t placed = 0;
  absl::Status s =
      store_->ReadClaimEvents(req.claim_id(), 1, [&](const v1::Event& e) {
        if (e.position() > until) return false;
        if (e.has_evidence_added() &&
            domain::KnownFromTime(e).placed_by_recorded_time) {
          ++placed;
        }
        events.push_back(e);
        return true;
      });
  if (!s.ok()) return s;
  if (events.empty()) {
    return absl::NotFoundError(
        req.as_of_position() == 0
            ? absl::StrFormat("claim \"%s\" not found", req.claim_id())
            : absl::StrFormat("claim \"%s\" did not exist at position %d",
                              req.claim_id(), req.as_of_position()));
  }
  v1::ClaimTimeline out;
  out.set_claim_id(req.claim_id());
  out.set_evidence_placed_by_recorded_time(placed);
  for (const domain::TimelineStep& step : domain::Timeline(events)) {
    v1::TimelineStep* s = out.add_steps();
    *s->mutable_from() = domain::ToProto(step.from);
    s->set_status(step.status);
    s->set_rating(step.rating);
    for (const v1::Event* e : step.causes) *s->add_causes() = *e;
  }
  return out;
}

}  // namespace factlog::core
