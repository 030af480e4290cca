// ClaimQueries' reads of the source registry (README "Sources").
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/claim_queries.h"
#include "core/page_token.h"
#include "domain/sources.h"
#include "domain/validation.h"

namespace factlog::core {

absl::StatusOr<v1::GetSourceResponse> ClaimQueries::GetSource(
    const v1::GetSourceRequest& req) const {
  if (auto s = domain::ValidateSlug("source_id", req.source_id(), limits_);
      !s.ok()) {
    return s;
  }
  const std::shared_ptr<const domain::SourceRegistry> sources =
      store_->Sources();
  const v1::SourceView* source = sources->Find(req.source_id());
  if (source == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("source \"%s\" not found", req.source_id()));
  }
  v1::GetSourceResponse out;
  *out.mutable_source() = *source;
  const v1::SourceView* top =
      domain::TopOrganisation(*sources, req.source_id());
  out.set_organisation_id(top->source_id());
  out.set_organisation_name(top->name());
  sources->ForEachAfter("", [&](const v1::SourceView& other) {
    if (other.parent_id() == req.source_id()) {
      out.add_member_ids(other.source_id());
    }
    return true;
  });
  std::vector<v1::ClaimView> claims;
  absl::Status read;
  absl::Status s =
      store_->ScanIndex(storage::ClaimIndex::kSource, req.source_id(), "",
                        [&](absl::string_view claim_id) {
                          absl::StatusOr<std::optional<v1::ClaimView>> claim =
                              store_->GetClaim(claim_id);
                          if (!claim.ok()) {
                            read = claim.status();
                            return false;
                          }
                          if (claim->has_value())
                            claims.push_back(**std::move(claim));
                          return true;
                        });
  if (s.ok()) s = read;
  if (!s.ok()) return s;
  *out.mutable_track_record() = domain::TrackRecord(req.source_id(), claims);
  return out;
}

absl::StatusOr<v1::ListSourcesResponse> ClaimQueries::ListSources(
    const v1::ListSourcesRequest& req) const {
  absl::StatusOr<int> page_size = PageSize(req.page_size(), 100, 1000);
  if (!page_size.ok()) return page_size.status();
  constexpr absl::string_view scope = "sources";
  absl::StatusOr<std::string> after =
      DecodePageToken(store_->token_secret(), req.page_token(), scope);
  if (!after.ok()) return after.status();
  const std::shared_ptr<const domain::SourceRegistry> sources =
      store_->Sources();
  v1::ListSourcesResponse out;
  bool more = false;
  sources->ForEachAfter(*after, [&](const v1::SourceView& view) {
    if (out.sources_size() == *page_size) {
      more = true;
      return false;
    }
    *out.add_sources() = view;
    return true;
  });
  if (more) {
    out.set_next_page_token(
        EncodePageToken(store_->token_secret(), scope,
                        out.sources(out.sources_size() - 1).source_id()));
  }
  *out.mutable_policy() = sources->policy();
  return out;
}

}  // namespace factlog::core
