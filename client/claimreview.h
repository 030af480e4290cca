// schema.org ClaimReview (what the Google Fact Check tools read) to and from
// factlog claims, as JSON-LD built with nlohmann::json.
//
// Export maps a RATED ClaimView to one ClaimReview:
//   claimReviewed            claim text
//   itemReviewed (Claim)     author = the claimant (Organization when the
//                            name reads like one, else Person),
//                            datePublished = asserted_at, appearance and
//                            firstAppearance = the reported_by URL
//   reviewRating (Rating)    ratingValue / bestRating / worstRating and
//                            alternateName, from kRatingScale below
//   author (Organization)    the verdict's reviewer
//   datePublished            when the verdict was issued
//   reviewBody               the verdict's summary
//   identifier               "factlog:<claim id>"
//   url                      --url-template with {claim_id} replaced, if set
// Import turns each ClaimReview into RecordClaim + IssueVerdict with
// request ids derived from the claim id, so importing a review twice
// records one claim. The claim id is the factlog identifier when present,
// else "cr-" and a hash of the claim text and author. A rating name not in
// the scale becomes UNPROVEN, with the original name kept in the summary.
#ifndef FACTLOG_CLIENT_CLAIMREVIEW_H_
#define FACTLOG_CLIENT_CLAIMREVIEW_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/import.h"
#include "factlog/v1/views.pb.h"
#include "nlohmann/json.hpp"

namespace factlog::cli {

// One rating of ours on the ClaimReview scale: 1 (worst) .. 5 (best).
struct RatingScaleEntry {
  v1::Rating rating;
  int value;
  const char* name;  // the alternateName written and recognised
};
extern const std::vector<RatingScaleEntry> kRatingScale;

struct ClaimReviewOptions {
  std::string url_template;  // "" = no url; "{claim_id}" is replaced
};

nlohmann::json ToClaimReview(const v1::ClaimView& claim,
                             const ClaimReviewOptions& options);

// The ClaimReviews in `text`: JSON Lines of objects, one JSON array, one
// object, or a DataFeed whose dataFeedElement holds them. Throws UsageError
// "NAME: ..." when it is none of these.
std::vector<nlohmann::json> ParseClaimReviews(absl::string_view name,
                                              absl::string_view text);

// The commands that reproduce `review` (review number `index`, from 1).
// `subject` is the subject given to the claim ("" for none). Throws
// UsageError "NAME: review N: FIELD: why" when a required field is missing
// or malformed.
std::vector<ImportItem> ClaimReviewCommands(absl::string_view name, int index,
                                            const nlohmann::json& review,
                                            const std::string& subject);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_CLAIMREVIEW_H_
