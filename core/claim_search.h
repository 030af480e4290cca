#ifndef FACTLOG_CORE_CLAIM_SEARCH_H_
#define FACTLOG_CORE_CLAIM_SEARCH_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/position_waiters.h"
#include "factlog/v1/service.pb.h"
#include "search/search_index.h"
#include "storage/event_store.h"

namespace factlog::core {

// The searches of ClaimService over the search index (README "Search";
// docs/ARCHITECTURE.md, "Read path"), independent of gRPC. A search that
// must wait for the index to reach a position holds no thread while it
// waits: it is called back through `waiters` (core/position_waiters.h),
// whose pool runs the search.
// Thread-safe; `index`, `store` and `waiters` must outlive it.
class ClaimSearch {
 public:
  static constexpr int kDefaultPageSize = 20;
  static constexpr int kMaxPageSize = 100;
  // The longest a search waits for its min_position.
  static constexpr absl::Duration kMaxWait = absl::Seconds(10);
  // RecordClaim's similar claims: at most this many of each group, chosen
  // among this many best BM25 matches.
  static constexpr int kMaxOwnStatements = 10;
  static constexpr int kMaxAlreadyChecked = 5;
  static constexpr int kSimilarCandidates = 50;
  // How long RecordClaim's similar claims wait for the index to reflect
  // the log as it was when the call arrived.
  static constexpr absl::Duration kSimilarWait = absl::Seconds(2);

  using SearchDone =
      std::function<void(absl::StatusOr<v1::SearchClaimsResponse>)>;
  using SimilarDone =
      std::function<void(absl::StatusOr<std::vector<v1::SimilarClaim>>)>;

  // `waiters` must be advanced to `index`'s position (its position
  // listener). `similarity_threshold`:
  // SimilarClaim.similarity a similar claim needs.
  ClaimSearch(const search::SearchIndex* index,
              const storage::EventStore* store, PositionWaiters* waiters,
              std::function<absl::Time()> clock, double similarity_threshold);

  // SearchClaims (service.proto): checks `req`, waits for the index to
  // reach min_position until `deadline` (kMaxWait at most), searches, and
  // calls `done` exactly once with the response or the error: on the
  // calling thread unless it had to wait, else on the waiters' pool.
  // Errors: INVALID_ARGUMENT naming the field (query syntax with FTS5's
  // reason, an unknown enum value, an empty time range, page_size,
  // page_token); OUT_OF_RANGE for a min_position beyond the log;
  // DEADLINE_EXCEEDED when the index does not reach it in time;
  // UNAVAILABLE when the server stops during the wait; storage errors as
  // they are.
  void SearchClaims(const v1::SearchClaimsRequest& req, absl::Time deadline,
                    SearchDone done) const;

  // The similar claims RecordClaim answers with (CommandResponse
  // .similar_claims): the claimant's own alike statements on the subject,
  // then other claimants' already-checked alike claims. Never the claim
  // itself (a retried RecordClaim). Waits up to kSimilarWait for the index
  // to reflect the log as it is at the call, then searches what the index
  // holds. `claim` is read before this returns; `done` is called exactly
  // once: on the calling thread when there is nothing to search for (no
  // claimant, no words), else on the waiters' pool (the search never runs
  // on the calling thread).
  void SimilarClaims(const v1::RecordClaimRequest& claim,
                     SimilarDone done) const;

 private:
  struct Prepared;
  struct SimilarQuery;
  absl::StatusOr<Prepared> Prepare(const v1::SearchClaimsRequest& req) const;
  absl::StatusOr<v1::SearchClaimsResponse> Run(const Prepared& prepared) const;
  absl::StatusOr<std::vector<v1::SimilarClaim>> FindSimilar(
      const SimilarQuery& query) const;

  const search::SearchIndex* const index_;
  const storage::EventStore* const store_;
  PositionWaiters* const waiters_;
  const std::function<absl::Time()> clock_;
  const double similarity_threshold_;
};

}  // namespace factlog::core

#endif  // FACTLOG_CORE_CLAIM_SEARCH_H_
