// Internal to client/: how sources read in the terminal (README "Sources"):
// a claim's supporters and refuters by independent organisation, an
// evidence item's grade and credibility, a source, the registry.
#ifndef FACTLOG_CLIENT_FORMAT_SOURCES_H_
#define FACTLOG_CLIENT_FORMAT_SOURCES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::cli {

// True when the claim's sources read by organisation: some evidence is
// attributed to a registered source, or its policy is not the default.
// Otherwise RenderClaim lists the distinct names as before.
bool ReadsByOrganisation(const factlog::v1::ClaimView& claim);

// "Refuted by 2 independent organisations: NATO (Anders Fogh Rasmussen),
// White House (Jay Carney)\n" and the same for support ("by none" when
// there are none), then "Policy: ...\n" when it is not the default. Groups
// the policy does not count are marked "(not counted)".
std::string RenderIndependentSources(const factlog::v1::ClaimView& claim);

// "registered as Anders Fogh Rasmussen (NATO), grade B; credibility 2":
// what an evidence item's attribution and credibility add; "" when it has
// neither.
std::string EvidenceSourceDetail(const factlog::v1::EvidenceView& evidence);

// `factlog source show`: the source, its names, affiliation, grades with
// their reasons, members and track record.
std::string RenderSource(const factlog::v1::GetSourceResponse& source);

// `factlog source list`: a table of the sources, then the desk policy.
std::string RenderSourceList(const factlog::v1::ListSourcesResponse& page,
                             size_t screen_width);

// "registered source nato v1 (position 7)": a source command's outcome.
std::string RenderSourceResult(absl::string_view action,
                               const factlog::v1::CommandResponse& response);

// `factlog source suggest`: each group of names that look alike on a line,
// or a line saying there are none.
std::string RenderSuggestions(
    const std::vector<std::vector<std::string>>& groups);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_SOURCES_H_
