#include "core/claim_queries.h"

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/wire.h"
#include "core/page_token.h"
#include "domain/evolve.h"
#include "domain/overdue.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"

namespace factlog::core {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string ListScope(const v1::ListClaimsRequest& req) {
  std::string scope =
      absl::StrCat("claims\x1f", req.status(), "\x1f", req.subject(), "\x1f",
                   req.claimant(), "\x1f", req.tag(), "\x1f", req.kind());
  if (req.has_known_at()) {
    absl::StrAppend(&scope, "\x1fknown_at\x1f", req.known_at().seconds(), ".",
                    req.known_at().nanos());
  }
  return scope;
}

}  // namespace

bool ClaimQueries::MatchesListFilters(const v1::ListClaimsRequest& req,
                                      const v1::ClaimView& view) {
  if (req.status() != v1::CLAIM_STATUS_UNSPECIFIED &&
      view.status() != req.status()) {
    return false;
  }
  if (!req.subject().empty() && view.subject() != req.subject()) return false;
  if (!req.claimant().empty() && view.claimant() != req.claimant()) {
    return false;
  }
  if (req.kind() != v1::CLAIM_KIND_UNSPECIFIED && view.kind() != req.kind()) {
    return false;
  }
  if (!req.tag().empty()) {
    bool found = false;
    for (const std::string& t : view.tags()) found = found || t == req.tag();
    if (!found) return false;
  }
  return true;
}

namespace {

void AddStatusCounts(const std::map<int, uint64_t>& counts,
                     google::protobuf::RepeatedPtrField<v1::StatusCount>* out) {
  for (const auto& [status, count] : counts) {
    v1::StatusCount* c = out->Add();
    c->set_status(static_cast<v1::ClaimStatus>(status));
    c->set_count(count);
  }
}

void AddRatingCounts(const std::map<int, uint64_t>& counts,
                     google::protobuf::RepeatedPtrField<v1::RatingCount>* out) {
  for (const auto& [rating, count] : counts) {
    v1::RatingCount* c = out->Add();
    c->set_rating(static_cast<v1::Rating>(rating));
    c->set_count(count);
  }
}

// Calls `fn` with each claim whose `index` entry equals `value`, in claim
// id order after `start_after`, until it returns false.
absl::Status ForEachIndexedClaim(
    const storage::EventStore& store, storage::ClaimIndex index,
    absl::string_view value, absl::string_view start_after,
    const std::function<bool(const v1::ClaimView&)>& fn) {
  absl::Status read;
  absl::Status s = store.ScanIndex(
      index, value, start_after, [&](absl::string_view claim_id) {
        absl::StatusOr<std::optional<v1::ClaimView>> view =
            store.GetClaim(claim_id);
        if (!view.ok()) {
          read = view.status();
          return false;
        }
        return !view->has_value() || fn(**view);
      });
  return s.ok() ? read : s;
}

}  // namespace

ClaimQueries::ClaimQueries(const storage::EventStore* store,
                           domain::Limits limits,
                           std::function<absl::Time()> clock)
    : store_(store), limits_(limits), clock_(std::move(clock)) {}

absl::StatusOr<std::string> ClaimQueries::GetClaimEncoded(
    const v1::GetClaimRequest& req) const {
  if (req.as_of_case() == v1::GetClaimRequest::AS_OF_NOT_SET &&
      !req.has_known_at() &&
      domain::ValidateSlug("claim_id", req.claim_id(), limits_).ok()) {
    absl::StatusOr<std::optional<std::string>> stored =
        store_->GetClaimBytes(req.claim_id());
    if (stored.ok() && stored->has_value()) {
      // overdue_at is set exactly while the claim can turn OVERDUE.
      absl::StatusOr<bool> overdue =
          wire::HasWireField(**stored, v1::ClaimView::kOverdueAtFieldNumber);
      if (overdue.ok() && !*overdue) return **std::move(stored);
    }
  }
  // Everything else, errors included, as GetClaim answers it.
  absl::StatusOr<v1::ClaimView> view = GetClaim(req);
  if (!view.ok()) return view.status();
  return view->SerializeAsString();
}

absl::StatusOr<v1::ClaimView> ClaimQueries::GetClaim(
    const v1::GetClaimRequest& req) const {
  if (auto s = domain::ValidateSlug("claim_id", req.claim_id(), limits_);
      !s.ok()) {
    return s;
  }
  const absl::Time now = clock_();
  if (req.as_of_case() == v1::GetClaimRequest::AS_OF_NOT_SET &&
      !req.has_known_at()) {
    absl::StatusOr<std::optional<v1::ClaimView>> view =
        store_->GetClaim(req.claim_id());
    if (!view.ok()) return view.status();
    if (!view->has_value()) {
      return absl::NotFoundError(
          absl::StrFormat("claim \"%s\" not found", req.claim_id()));
    }
    domain::PresentAt(now, &**view);
    return **std::move(view);
  }

  RecordedBound recorded;
  if (req.has_as_of_time()) {
    if (auto s = domain::ValidatePastTime("as_of_time", req.as_of_time(), now);
        !s.ok()) {
      return s;
    }
    recorded.time = domain::FromProto(req.as_of_time());
    recorded.name = domain::Rfc3339(*recorded.time);
  } else if (req.as_of_case() == v1::GetClaimRequest::kAsOfPosition) {
    if (req.as_of_position() == 0) {
      return Invalid("as_of_position", "must be at least 1");
    }
    // A position not yet written is refused, as Subscribe refuses a
    // from_position beyond the log and as_of_time refuses the future: an
    // answer "as of" it would be today's claim, and a later read with the
    // same position could differ, so the read would not be repeatable.
    if (const uint64_t last = store_->LastPosition();
        req.as_of_position() > last) {
      return absl::OutOfRangeError(absl::StrFormat(
          "as_of_position: %d is beyond the last committed position %d",
          req.as_of_position(), last));
    }
    recorded.position = req.as_of_position();
    recorded.name = absl::StrCat("position ", recorded.position);
  }
  absl::StatusOr<std::optional<absl::Time>> requested =
      domain::RequestedKnownAt(req);
  if (!requested.ok()) return requested.status();
  const std::optional<absl::Time> known_at = *requested;
  if (known_at) {
    // Nothing recorded by as_of_time was observed after it (observed_at is
    // never in the future when recorded), so a later known_at would ask
    // for what the bound cannot hold.
    if (recorded.time && *known_at > *recorded.time) {
      return Invalid(
          "known_at",
          absl::StrFormat("%s is after as_of_time %s: what was "
                          "recorded by then cannot show what was "
                          "known later; use a known_at at or "
                          "before as_of_time",
                          domain::Rfc3339(*known_at), recorded.name));
    }
  }
  return ReplayClaim(req.claim_id(), recorded, known_at);
}

absl::StatusOr<v1::ListClaimsResponse> ClaimQueries::ListClaims(
    const v1::ListClaimsRequest& req) const {
  absl::StatusOr<int> page_size =
      PageSize(req.page_size(), kDefaultPageSize, kMaxPageSize);
  if (!page_size.ok()) return page_size.status();
  if (!v1::ClaimStatus_IsValid(req.status())) {
    return Invalid("status", absl::StrCat("unknown value ", req.status()));
  }
  if (!v1::ClaimKind_IsValid(req.kind())) {
    return Invalid("kind", absl::StrCat("unknown value ", req.kind()));
  }
  if (!req.subject().empty()) {
    if (auto s = domain::ValidateSlug("subject", req.subject(), limits_);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<std::optional<absl::Time>> known_at =
      domain::RequestedKnownAt(req);
  if (!known_at.ok()) return known_at.status();
  const std::string scope = ListScope(req);
  absl::StatusOr<std::string> after =
      DecodePageToken(store_->token_secret(), req.page_token(), scope);
  if (!after.ok()) return after.status();
  if (*known_at) {
    return ListClaimsKnownAt(req, *page_size, **known_at, *after, scope);
  }

  const absl::Time now = clock_();
  v1::ListClaimsResponse response;
  int scanned = 0;
  std::string last_scanned;
  bool more = false;
  // Looks at one candidate, taken by value so that a claim read for this
  // page moves into it; false stops the scan.
  auto consider = [&](v1::ClaimView view) {
    if (response.claims_size() == *page_size || scanned == kMaxScanPerPage) {
      more = true;
      return false;
    }
    ++scanned;
    last_scanned = view.claim_id();
    domain::PresentAt(now, &view);
    if (MatchesListFilters(req, view)) *response.add_claims() = std::move(view);
    return true;
  };

  // The narrowest index among the filters drives the scan; the rest filter.
  std::optional<std::pair<storage::ClaimIndex, std::string>> index;
  if (!req.subject().empty()) {
    index.emplace(storage::ClaimIndex::kSubject, req.subject());
  } else if (!req.claimant().empty()) {
    index.emplace(storage::ClaimIndex::kClaimant, req.claimant());
  } else if (!req.tag().empty()) {
    index.emplace(storage::ClaimIndex::kTag, req.tag());
  } else if (req.status() != v1::CLAIM_STATUS_UNSPECIFIED &&
             req.status() != v1::CLAIM_STATUS_OVERDUE) {
    index.emplace(storage::ClaimIndex::kStatus,
                  v1::ClaimStatus_Name(req.status()));
  }
  absl::Status s;
  if (!index && req.status() == v1::CLAIM_STATUS_OVERDUE) {
    s = ListOverdue(*after, *page_size, now, consider, &more);
  } else if (index) {
    absl::Status read;
    s = store_->ScanIndex(index->first, index->second, *after,
                          [&](absl::string_view claim_id) {
                            absl::StatusOr<std::optional<v1::ClaimView>> view =
                                store_->GetClaim(claim_id);
                            if (!view.ok()) {
                              read = view.status();
                              return false;
                            }
                            // Gone between index and read: skip it.
                            if (!view->has_value()) return true;
                            return consider(**std::move(view));
                          });
    if (s.ok()) s = read;
  } else {
    s = store_->ScanClaims(*after, consider);
  }
  if (!s.ok()) return s;
  if (more) {
    response.set_next_page_token(
        EncodePageToken(store_->token_secret(), scope, last_scanned));
  }
  return response;
}

absl::Status ClaimQueries::ListOverdue(
    const std::string& after, int page_size, absl::Time now,
    const std::function<bool(const v1::ClaimView&)>& consider,
    bool* more) const {
  // Every claim that can read OVERDUE is in the overdue index, with its
  // due_at: the page is the page_size smallest ids after `after` whose
  // due_at has passed, found from the index alone (keys and 8-byte values),
  // then only those claims are read. A full scan of the index per page,
  // but of entries the size of a claim id.
  std::priority_queue<std::string> smallest;  // largest on top
  const size_t keep = static_cast<size_t>(page_size) + 1;
  absl::Status s =
      store_->ScanOverdue(domain::OverdueCursor(), absl::InfiniteFuture(),
                          [&](const storage::EventStore::OverdueEntry& e) {
                            if (e.due_at >= now || e.claim_id <= after)
                              return true;
                            if (smallest.size() < keep) {
                              smallest.emplace(e.claim_id);
                            } else if (e.claim_id < smallest.top()) {
                              smallest.pop();
                              smallest.emplace(e.claim_id);
                            }
                            return true;
                          });
  if (!s.ok()) return s;
  std::vector<std::string> ids;
  for (; !smallest.empty(); smallest.pop()) ids.push_back(smallest.top());
  std::reverse(ids.begin(), ids.end());
  if (ids.size() == keep) {
    ids.pop_back();
    *more = true;
  }
  for (const std::string& id : ids) {
    absl::StatusOr<std::optional<v1::ClaimView>> view = store_->GetClaim(id);
    if (!view.ok()) return view.status();
    // Gone or changed between index and read: the filters judge it.
    if (view->has_value() && !consider(**view)) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetClaimHistoryResponse> ClaimQueries::GetClaimHistory(
    const v1::GetClaimHistoryRequest& req) const {
  if (auto s = domain::ValidateSlug("claim_id", req.claim_id(), limits_);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<int> page_size = PageSize(req.page_size(), 1000, 10000);
  if (!page_size.ok()) return page_size.status();
  absl::StatusOr<std::optional<v1::ClaimView>> exists =
      store_->GetClaim(req.claim_id());
  if (!exists.ok()) return exists.status();
  if (!exists->has_value()) {
    return absl::NotFoundError(
        absl::StrFormat("claim \"%s\" not found", req.claim_id()));
  }
  v1::GetClaimHistoryResponse response;
  absl::Status s = store_->ReadClaimEvents(
      req.claim_id(), std::max<uint64_t>(req.from_version(), 1),
      [&](const v1::Event& e) {
        if (response.events_size() == *page_size) {
          response.set_next_version(e.version());
          return false;
        }
        *response.add_events() = e;
        return true;
      });
  if (!s.ok()) return s;
  return response;
}

absl::StatusOr<v1::ClaimantView> ClaimQueries::GetClaimant(
    const v1::GetClaimantRequest& req) const {
  if (req.claimant().empty()) return Invalid("claimant", "required");
  if (req.claimant().size() > limits_.max_name_bytes) {
    return Invalid("claimant", absl::StrFormat("too long, at most %d bytes",
                                               limits_.max_name_bytes));
  }
  absl::StatusOr<std::optional<absl::Time>> requested =
      domain::RequestedKnownAt(req);
  if (!requested.ok()) return requested.status();
  const std::optional<absl::Time> known_at = *requested;
  constexpr int kMaxIds = 1000;
  const absl::Time now = known_at.value_or(clock_());
  v1::ClaimantView out;
  out.set_claimant(req.claimant());
  std::map<int, uint64_t> by_status, by_rating;
  // What the repeat groups need of each claim.
  struct Member {
    absl::Time asserted_at;
    v1::ClaimStatus status;
    std::optional<v1::Rating> rating;
    std::vector<std::string> repeats;  // REPEATS links either way
  };
  std::map<std::string, Member> members;
  absl::Status replay;
  absl::Status s = ForEachIndexedClaim(
      *store_, storage::ClaimIndex::kClaimant, req.claimant(), "",
      [&](const v1::ClaimView& current) {
        std::optional<v1::ClaimView> as_known;
        if (known_at) {
          absl::StatusOr<v1::ClaimView> known =
              ReplayClaim(current.claim_id(), RecordedBound(), known_at);
          if (absl::IsNotFound(known.status())) return true;  // later
          if (!known.ok()) {
            replay = known.status();
            return false;
          }
          as_known = *std::move(known);
        }
        const v1::ClaimView& claim = as_known ? *as_known : current;
        out.set_claim_count(out.claim_count() + 1);
        Member& m = members[claim.claim_id()];
        m.asserted_at = domain::FromProto(claim.asserted_at());
        m.status = domain::EffectiveStatus(claim, now);
        if (claim.has_verdict()) m.rating = claim.rating();
        for (const v1::LinkView& link : claim.links()) {
          if (link.relation() == v1::LINK_RELATION_REPEATS) {
            m.repeats.push_back(link.other_claim_id());
          }
        }
        ++by_status[m.status];
        if (m.rating) ++by_rating[*m.rating];
        if (out.claim_ids_size() < kMaxIds) out.add_claim_ids(claim.claim_id());
        return true;
      });
  if (s.ok()) s = replay;
  if (!s.ok()) return s;
  if (out.claim_count() == 0) {
    return absl::NotFoundError(
        known_at ? absl::StrFormat(
                       "claimant \"%s\" had asserted no claims by known_at %s "
                       "(names match exactly)",
                       req.claimant(), domain::Rfc3339(*known_at))
                 : absl::StrFormat(
                       "claimant \"%s\" has no claims (names match exactly)",
                       req.claimant()));
  }
  AddStatusCounts(by_status, out.mutable_by_status());
  AddRatingCounts(by_rating, out.mutable_by_rating());

  // Repeat groups: connected components of REPEATS links among the
  // claimant's own claims.
  std::set<std::string> seen;
  std::vector<v1::RepeatGroup> groups;
  for (const auto& [start, unused] : members) {
    if (seen.count(start) || members.at(start).repeats.empty()) continue;
    std::vector<std::string> ids;
    std::vector<std::string> stack = {start};
    seen.insert(start);
    while (!stack.empty()) {
      std::string id = std::move(stack.back());
      stack.pop_back();
      for (const std::string& other : members.at(id).repeats) {
        if (members.count(other) && seen.insert(other).second) {
          stack.push_back(other);
        }
      }
      ids.push_back(std::move(id));
    }
    if (ids.size() < 2) continue;
    std::sort(ids.begin(), ids.end(),
              [&](const std::string& a, const std::string& b) {
                const absl::Time ta = members.at(a).asserted_at;
                const absl::Time tb = members.at(b).asserted_at;
                return ta != tb ? ta < tb : a < b;
              });
    v1::RepeatGroup group;
    std::map<int, uint64_t> group_status, group_rating;
    for (const std::string& id : ids) {
      const Member& m = members.at(id);
      ++group_status[m.status];
      if (m.rating) ++group_rating[*m.rating];
      group.add_claim_ids(id);
    }
    group.set_statements(ids.size());
    AddStatusCounts(group_status, group.mutable_by_status());
    AddRatingCounts(group_rating, group.mutable_by_rating());
    groups.push_back(std::move(group));
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const v1::RepeatGroup& a, const v1::RepeatGroup& b) {
                     return a.statements() > b.statements();
                   });
  for (v1::RepeatGroup& g : groups) *out.add_repeats() = std::move(g);
  return out;
}

absl::StatusOr<std::vector<v1::ClaimView>> ClaimQueries::RatedClaims(
    const v1::ExportClaimReviewsRequest& req, absl::string_view start_after,
    size_t max) const {
  const absl::Time since =
      req.has_since() ? domain::FromProto(req.since()) : absl::InfinitePast();
  std::vector<v1::ClaimView> out;
  absl::Status s = ForEachIndexedClaim(
      *store_, storage::ClaimIndex::kStatus,
      v1::ClaimStatus_Name(v1::CLAIM_STATUS_RATED), start_after,
      [&](const v1::ClaimView& claim) {
        if (!req.subject().empty() && claim.subject() != req.subject()) {
          return true;
        }
        if (domain::FromProto(claim.verdict().issued_at()) < since) return true;
        out.push_back(claim);
        return out.size() < max;
      });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<v1::ListSubjectsResponse> ClaimQueries::ListSubjects(
    const v1::ListSubjectsRequest& req) const {
  absl::StatusOr<int> page_size = PageSize(req.page_size(), 100, 1000);
  if (!page_size.ok()) return page_size.status();
  constexpr absl::string_view scope = "subjects";
  absl::StatusOr<std::string> after =
      DecodePageToken(store_->token_secret(), req.page_token(), scope);
  if (!after.ok()) return after.status();
  const absl::Time now = clock_();
  v1::ListSubjectsResponse response;
  absl::Status read;
  bool more = false;
  absl::Status s = store_->ScanIndexValues(
      storage::ClaimIndex::kSubject, *after,
      [&](absl::string_view subject, const std::vector<std::string>& ids) {
        if (response.subjects_size() == *page_size) {
          more = true;
          return false;
        }
        v1::SubjectSummary* summary = response.add_subjects();
        summary->set_subject(std::string(subject));
        summary->set_claim_count(ids.size());
        std::map<int, uint64_t> by_status;
        for (const std::string& id : ids) {
          absl::StatusOr<std::optional<v1::ClaimView>> view =
              store_->GetClaim(id);
          if (!view.ok()) {
            read = view.status();
            return false;
          }
          if (view->has_value()) {
            ++by_status[domain::EffectiveStatus(**view, now)];
          }
        }
        AddStatusCounts(by_status, summary->mutable_by_status());
        return true;
      });
  if (s.ok()) s = read;
  if (!s.ok()) return s;
  if (more) {
    response.set_next_page_token(EncodePageToken(
        store_->token_secret(), scope,
        response.subjects(response.subjects_size() - 1).subject()));
  }
  return response;
}

}  // namespace factlog::core
