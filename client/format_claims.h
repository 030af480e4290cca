// Rendering of claims for people: a claim in detail, lists of claims, the
// one line a mutating command prints, a claimant's track record and the
// subjects. Built on format.h, with its conventions: every function returns
// the text to print, ending in a newline unless it says otherwise; none does
// I/O; all are pure and safe to call from any thread. Enum values are shown
// by their short name ("CONTRADICTED").
#ifndef FACTLOG_CLIENT_FORMAT_CLAIMS_H_
#define FACTLOG_CLIENT_FORMAT_CLAIMS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/format.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::cli {

// "CONTRADICTED", or "RATED FALSE" when a verdict is in force. No newline.
std::string StatusText(const factlog::v1::ClaimView& claim);

// "Dmitry Peskov, CNN": the source's name ("(unnamed)" when it has none) and
// its outlet. No newline.
std::string SourceName(const factlog::v1::Source& source);

// The claim's fields, status and verdict, then the evidence as a timeline
// ordered by observed_at ("+" supports, "-" refutes, "~" context; withdrawn
// pieces marked), "Supported by:" / "Refuted by:", links and corrections.
std::string RenderClaim(const factlog::v1::ClaimView& claim);

// One row per claim: id (never cut), status, claimant, text, fit to
// `screen_width` (format.h's Table).
std::string RenderClaimList(const std::vector<factlog::v1::ClaimView>& claims,
                            size_t screen_width = kScreenWidth);

// The one line a mutating command prints, e.g.
// "recorded claim putin-orders v1 (position 12) status UNVERIFIED".
// `action` is the verb phrase before the claim id ("recorded claim",
// "added evidence e2 to claim"), `detail` what follows it ("-> other
// (REPEATS)"). A deduplicated response says that nothing new was recorded.
std::string RenderCommandResult(absl::string_view action,
                                const factlog::v1::CommandResponse& response,
                                absl::string_view detail = "");

// What a RecordClaim found alike (CommandResponse.similar_claims): the
// possible repeats, then the claims of others already checked, each under
// a heading, two lines a claim (the second: why it matched); "" when there
// are none.
std::string RenderSimilarClaims(const factlog::v1::CommandResponse& response);

// One row per search hit (claim, score, status and rating, claimant), each
// followed by its snippet, indented, with its matches between « and ».
std::string RenderSearchHits(const std::vector<factlog::v1::SearchHit>& hits,
                             size_t screen_width);

// A claimant's track record: claims by status and rating, their ids, and
// the groups of statements that repeat one another.
std::string RenderClaimant(const factlog::v1::ClaimantView& claimant);

// The claimants among `claimants` whose name contains `name`, ignoring
// case and surrounding spaces, each once, in the order first seen; `name`
// itself (exact) is left out.
std::vector<std::string> ClaimantsContaining(
    absl::string_view name, const std::vector<std::string>& claimants);

// What to say when no claim has the claimant `name`: that names match
// exactly, and the `similar` ones (ClaimantsContaining), e.g.
//   "claimant names match exactly; claimants containing \"putin\":
//   Vladimir Putin" (one line, with a newline). `complete` is false when
// only part of the claims were looked at.
std::string ClaimantHint(absl::string_view name,
                         const std::vector<std::string>& similar,
                         bool complete);

// One row per subject: name (never cut), number of claims, claims by
// status, fit to `screen_width`.
std::string RenderSubjects(
    const std::vector<factlog::v1::SubjectSummary>& subjects,
    size_t screen_width = kScreenWidth);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_CLAIMS_H_
