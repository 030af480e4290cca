#ifndef FACTLOG_DOMAIN_OVERDUE_H_
#define FACTLOG_DOMAIN_OVERDUE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/limits.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

// The order of Subscribe's overdue notices (service.proto OverdueOptions).
// Every overdue episode of a claim is one notice, identified by the claim's
// ClaimView.overdue_at and its claim_id; notices are totally ordered by
// (overdue_at, claim_id). Pure values and functions, thread-compatible.
namespace factlog::domain {

// A place in that order. The cursor covers every notice up to and including
// (at, claim_id); an empty claim_id stands after every claim id, so the
// cursor covers every notice at or before `at`. The default cursor covers
// nothing.
struct OverdueCursor {
  absl::Time at = absl::InfinitePast();
  std::string claim_id;

  // True when the notice (overdue_at, claim_id) is at or before the cursor.
  bool Covers(absl::Time overdue_at, absl::string_view notice_claim_id) const;

  // Cursors are ordered like the notices they cover.
  friend bool operator<(const OverdueCursor& a, const OverdueCursor& b);
  friend bool operator==(const OverdueCursor& a, const OverdueCursor& b) {
    return a.at == b.at && a.claim_id == b.claim_id;
  }
};

// Proto conversions. An unset `at` is the infinite past (before every
// notice), and the infinite past converts back to an unset `at`.
OverdueCursor CursorFromProto(const v1::OverdueCursor& cursor);
v1::OverdueCursor CursorToProto(const OverdueCursor& cursor);

// INVALID_ARGUMENT naming the field (overdue.only, overdue.after.at,
// overdue.after.claim_id): `only` or `after` without `notify`, a timestamp
// outside google.protobuf.Timestamp's range, a claim_id that is not a slug.
absl::Status ValidateOverdueOptions(const v1::OverdueOptions& options,
                                    const Limits& limits);

// True when the claim passes the claim-level fields of `filter` (claim_id,
// subject, claimant; `types` selects events and is ignored here), judged on
// the view as it is now.
bool MatchesClaim(const v1::EventFilter& filter, const v1::ClaimView& view);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_OVERDUE_H_
