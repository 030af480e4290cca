#ifndef FACTLOG_CORE_CLAIM_QUERIES_H_
#define FACTLOG_CORE_CLAIM_QUERIES_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/limits.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"
#include "storage/event_store.h"

namespace factlog::core {

// The read side of ClaimService, independent of gRPC. Every claim returned
// carries its effective status at the clock's now (so OVERDUE shows). Reads
// go straight to the store and see whole commits only. Thread-safe.
//
// Errors: INVALID_ARGUMENT naming the field (bad id, page_size, page_token,
// as_of); NOT_FOUND for unknown claims/claimants, or a claim that did not
// exist yet at the as_of bound; storage errors as they are.
class ClaimQueries {
 public:
  static constexpr int kDefaultPageSize = 50;
  static constexpr int kMaxPageSize = 1000;
  // ListClaims looks at no more than this many candidate claims per call; a
  // page may then hold fewer than page_size claims but still carries a
  // next_page_token. Keeps one call's cost bounded whatever the filters.
  static constexpr int kMaxScanPerPage = 20000;

  ClaimQueries(const storage::EventStore* store, domain::Limits limits,
               std::function<absl::Time()> clock);

  // The claim's current projection, or its state as of a position or time
  // (replaying its events up to that bound), or as known at a valid time
  // (known_at, domain/known_at.h), or both.
  absl::StatusOr<v1::ClaimView> GetClaim(const v1::GetClaimRequest& req) const;
  // The same answer, encoded. The current projection goes out as stored
  // when presenting it changes nothing (no overdue episode, so the stored
  // status is the status), which spares a parse and an encode per call.
  absl::StatusOr<std::string> GetClaimEncoded(
      const v1::GetClaimRequest& req) const;
  // Claims matching every given filter, ordered by claim_id. The page token
  // is opaque and bound to the filters it was issued for.
  // With known_at, every claim is replayed as known then and the filters
  // judge that: a scan in claim id order that looks at no more than
  // kMaxKnownAtScanPerPage claims per call.
  absl::StatusOr<v1::ListClaimsResponse> ListClaims(
      const v1::ListClaimsRequest& req) const;
  static constexpr int kMaxKnownAtScanPerPage = 2000;
  absl::StatusOr<v1::GetClaimHistoryResponse> GetClaimHistory(
      const v1::GetClaimHistoryRequest& req) const;
  // The claimant's track record, including the groups of claims joined by
  // REPEATS links (RepeatGroup).
  absl::StatusOr<v1::ClaimantView> GetClaimant(
      const v1::GetClaimantRequest& req) const;
  // The claim's status at each change of valid time (domain::Timeline),
  // as recorded up to as_of_position (0 = now). NOT_FOUND for an unknown
  // claim or one that did not exist at the bound.
  absl::StatusOr<v1::ClaimTimeline> GetClaimTimeline(
      const v1::GetClaimTimelineRequest& req) const;
  // Up to `max` RATED claims matching `req`, in claim id order after
  // `start_after` ("" = from the first).
  absl::StatusOr<std::vector<v1::ClaimView>> RatedClaims(
      const v1::ExportClaimReviewsRequest& req, absl::string_view start_after,
      size_t max) const;
  absl::StatusOr<v1::ListSubjectsResponse> ListSubjects(
      const v1::ListSubjectsRequest& req) const;

  // The source registry (core/claim_queries_sources.cc). GetSource: the
  // source, its top organisation, the sources affiliated with it and its
  // track record over the claims its attributed evidence supports or
  // refutes (the by_source index); NOT_FOUND for an unknown id.
  // ListSources: sources in id order, and the desk policy in force.
  absl::StatusOr<v1::GetSourceResponse> GetSource(
      const v1::GetSourceRequest& req) const;
  absl::StatusOr<v1::ListSourcesResponse> ListSources(
      const v1::ListSourcesRequest& req) const;

 private:
  // A bound on the log's own clock: events with position <= position and
  // recorded_at <= time count. `name` says it in messages ("position 9").
  struct RecordedBound {
    uint64_t position = UINT64_MAX;
    std::optional<absl::Time> time;
    std::string name;
  };
  // The claim replayed from its events within `recorded`, keeping those
  // that count at `known_at` when given, presented at the latest instant
  // the bounds allow (OVERDUE judged then). NOT_FOUND, naming the bound,
  // when the claim did not exist within them.
  absl::StatusOr<v1::ClaimView> ReplayClaim(
      absl::string_view claim_id, const RecordedBound& recorded,
      std::optional<absl::Time> known_at) const;
  // True when `view` passes every filter of `req`.
  static bool MatchesListFilters(const v1::ListClaimsRequest& req,
                                 const v1::ClaimView& view);
  // ListClaims with known_at (see there).
  absl::StatusOr<v1::ListClaimsResponse> ListClaimsKnownAt(
      const v1::ListClaimsRequest& req, int page_size, absl::Time known_at,
      absl::string_view after, absl::string_view scope) const;

  // ListClaims with status OVERDUE and no subject, claimant or tag filter:
  // driven by the overdue index. Calls `consider` with the page's candidate
  // claims in claim id order; sets *more when claims follow the page.
  absl::Status ListOverdue(
      const std::string& after, int page_size, absl::Time now,
      const std::function<bool(const v1::ClaimView&)>& consider,
      bool* more) const;

  const storage::EventStore* const store_;
  const domain::Limits limits_;
  const std::function<absl::Time()> clock_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_CLAIM_QUERIES_H_
