#include "core/claim_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/page_token.h"
#include "domain/time_util.h"
#include "search/search_query.h"

namespace factlog::core {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// The filters of `req`, checked.
absl::StatusOr<search::IndexFilters> Filters(const v1::SearchClaimsRequest& req,
                                             absl::Time now) {
  search::IndexFilters f;
  if (!v1::ClaimStatus_IsValid(req.status())) {
    return Invalid("status", absl::StrCat("unknown value ", req.status()));
  }
  if (!v1::ClaimKind_IsValid(req.kind())) {
    return Invalid("kind", absl::StrCat("unknown value ", req.kind()));
  }
  if (!v1::Rating_IsValid(req.rating())) {
    return Invalid("rating", absl::StrCat("unknown value ", req.rating()));
  }
  f.status = req.status();
  f.kind = req.kind();
  f.rating = req.rating();
  f.claimant = req.claimant();
  f.subject = req.subject();
  f.tag = req.tag();
  f.now = now;
  if (req.has_asserted_after()) {
    f.asserted_from =
        absl::ToUnixMicros(domain::FromProto(req.asserted_after()));
  }
  if (req.has_asserted_before()) {
    f.asserted_to =
        absl::ToUnixMicros(domain::FromProto(req.asserted_before()));
  }
  if (f.asserted_from && f.asserted_to && *f.asserted_from >= *f.asserted_to) {
    return Invalid("asserted_after", "must be before asserted_before");
  }
  if (req.has_recorded_after()) {
    f.recorded_from =
        absl::ToUnixMicros(domain::FromProto(req.recorded_after()));
  }
  if (req.has_recorded_before()) {
    f.recorded_to =
        absl::ToUnixMicros(domain::FromProto(req.recorded_before()));
  }
  if (f.recorded_from && f.recorded_to && *f.recorded_from >= *f.recorded_to) {
    return Invalid("recorded_after", "must be before recorded_before");
  }
  return f;
}

// The page token's scope: the request without its page token, page size
// and min_position (which do not change the hits' order).
std::string Scope(v1::SearchClaimsRequest req) {
  req.clear_page_token();
  req.clear_page_size();
  req.clear_min_position();
  return absl::StrCat("search\x1f", req.SerializeAsString());
}

std::string CursorKey(const search::SearchCursor& cursor) {
  uint64_t bits;
  std::memcpy(&bits, &cursor.rank, sizeof bits);
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(bits >> (56 - 8 * i));
  return key + cursor.claim_id;
}

search::SearchCursor CursorOf(absl::string_view key) {
  search::SearchCursor cursor;
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(key[i]);
  }
  std::memcpy(&cursor.rank, &bits, sizeof bits);
  cursor.claim_id = std::string(key.substr(8));
  return cursor;
}

}  // namespace

// A checked search request, ready to run once the index is far enough.
struct ClaimSearch::Prepared {
  search::IndexQuery query;
  std::string scope;  // of the page token
  int page_size = 0;
  uint64_t min_position = 0;
};

// What RecordClaim's similar claims look for.
struct ClaimSearch::SimilarQuery {
  std::string claim_id;
  std::string claimant;
  std::string subject;
  search::WordsQuery words;
  int min_matched = 1;
};

ClaimSearch::ClaimSearch(const search::SearchIndex* index,
                         const storage::EventStore* store,
                         PositionWaiters* waiters,
                         std::function<absl::Time()> clock,
                         double similarity_threshold)
    : index_(index),
      store_(store),
      waiters_(waiters),
      clock_(std::move(clock)),
      similarity_threshold_(similarity_threshold) {}

absl::StatusOr<ClaimSearch::Prepared> ClaimSearch::Prepare(
    const v1::SearchClaimsRequest& req) const {
  if (absl::Status s = search::CheckQuery(req.query()); !s.ok()) return s;
  if (!v1::QuerySyntax_IsValid(req.syntax())) {
    return Invalid("syntax", absl::StrCat("unknown value ", req.syntax()));
  }
  if (req.page_size() < 0 || req.page_size() > kMaxPageSize) {
    return Invalid("page_size", absl::StrFormat("must be 0..%d, got %d",
                                                kMaxPageSize, req.page_size()));
  }
  Prepared prepared;
  prepared.page_size =
      req.page_size() == 0 ? kDefaultPageSize : req.page_size();
  absl::StatusOr<search::IndexFilters> filters = Filters(req, clock_());
  if (!filters.ok()) return filters.status();
  prepared.scope = Scope(req);
  absl::StatusOr<std::string> after =
      DecodePageToken(store_->token_secret(), req.page_token(), prepared.scope);
  if (!after.ok()) return after.status();
  if (!after->empty() && after->size() < 8) {
    return Invalid("page_token", "malformed; pass next_page_token unchanged");
  }
  if (req.min_position() > store_->LastPosition()) {
    return absl::OutOfRangeError(absl::StrCat(
        "min_position: ", req.min_position(), " is beyond the end of the log (",
        store_->LastPosition(), ")"));
  }
  prepared.min_position = req.min_position();
  search::IndexQuery& query = prepared.query;
  if (req.syntax() == v1::QUERY_SYNTAX_FTS5) {
    query.expression = req.query();
  } else {
    search::WordsQuery words = search::AnyOfWords(req.query());
    query.expression = std::move(words.expression);
    query.min_matched_phrases = search::MinWordsMatched(words.words.size());
  }
  query.filters = *std::move(filters);
  if (!after->empty()) query.after = CursorOf(*after);
  query.limit = prepared.page_size + 1;
  return prepared;
}

void ClaimSearch::SearchClaims(const v1::SearchClaimsRequest& req,
                               absl::Time deadline, SearchDone done) const {
  absl::StatusOr<Prepared> prepared = Prepare(req);
  if (!prepared.ok()) {
    done(prepared.status());
    return;
  }
  if (prepared->min_position <= index_->Position()) {
    done(Run(*prepared));
    return;
  }
  const uint64_t min_position = prepared->min_position;
  // Bounded by the real clock (clock_ may be a test's).
  waiters_->Wait(
      min_position, std::min(deadline, absl::Now() + kMaxWait),
      [this, prepared = *std::move(prepared),
       done = std::move(done)](absl::Status reached) {
        if (reached.ok()) {
          done(Run(prepared));
        } else if (absl::IsDeadlineExceeded(reached)) {
          done(absl::DeadlineExceededError(absl::StrCat(
              "min_position: the search index reflects position ",
              index_->Position(), ", not yet ", prepared.min_position)));
        } else {
          done(absl::UnavailableError(
              "min_position: the server is shutting down; retry"));
        }
      });
}

absl::StatusOr<v1::SearchClaimsResponse> ClaimSearch::Run(
    const Prepared& prepared) const {
  v1::SearchClaimsResponse response;
  response.set_position(index_->Position());
  if (prepared.query.expression.empty()) return response;  // no words: no hits
  absl::StatusOr<std::vector<search::IndexHit>> hits =
      index_->Search(prepared.query);
  if (!hits.ok()) return hits.status();
  const bool more = static_cast<int>(hits->size()) > prepared.page_size;
  if (more) hits->resize(prepared.page_size);
  for (search::IndexHit& hit : *hits) {
    v1::SearchHit* out = response.add_hits();
    out->set_claim_id(hit.claim_id);
    out->set_score(-hit.rank);
    out->set_snippet(std::move(hit.snippet));
    out->set_status(hit.status);
    out->set_rating(hit.rating);
    out->set_claimant(std::move(hit.claimant));
    out->set_subject(std::move(hit.subject));
    out->set_text(std::move(hit.text));
  }
  if (more) {
    response.set_next_page_token(
        EncodePageToken(store_->token_secret(), prepared.scope,
                        CursorKey({hits->back().rank, hits->back().claim_id})));
  }
  return response;
}

void ClaimSearch::SimilarClaims(const v1::RecordClaimRequest& claim,
                                SimilarDone done) const {
  SimilarQuery query;
  if (!claim.claimant().empty()) {
    query.words = search::AnyOfWords(claim.text(), "{text previous_texts}");
  }
  if (query.words.expression.empty()) {
    done(std::vector<v1::SimilarClaim>());
    return;
  }
  query.claim_id = claim.claim_id();
  query.claimant = claim.claimant();
  query.subject = claim.subject();
  // At least the threshold's share of the words (and at least one).
  query.min_matched = std::max(
      1, static_cast<int>(
             std::ceil(similarity_threshold_ *
                           static_cast<double>(query.words.words.size()) -
                       1e-9)));
  // Whatever the wait's outcome, the index is searched as it is: similar
  // claims are a hint, never a reason to refuse the claim.
  waiters_->Wait(store_->LastPosition(), absl::Now() + kSimilarWait,
                 [this, query = std::move(query), done = std::move(done)](
                     absl::Status) { done(FindSimilar(query)); });
}

absl::StatusOr<std::vector<v1::SimilarClaim>> ClaimSearch::FindSimilar(
    const SimilarQuery& q) const {
  std::vector<v1::SimilarClaim> similar;
  const std::vector<std::string>& terms = q.words.words;
  // One group: the best candidates passing `filters`, those alike enough,
  // at most `max`, best first.
  auto group = [&](search::IndexFilters filters, v1::SimilarMatch match,
                   int max) -> absl::Status {
    search::IndexQuery query;
    query.expression = q.words.expression;
    query.min_matched_phrases = q.min_matched;
    query.filters = std::move(filters);
    query.filters.exclude_claim_id = q.claim_id;
    query.filters.now = clock_();
    query.limit = kSimilarCandidates;
    absl::StatusOr<std::vector<search::IndexHit>> hits = index_->Search(query);
    if (!hits.ok()) return hits.status();
    int added = 0;
    for (const search::IndexHit& hit : *hits) {
      if (added == max) break;
      std::vector<std::string> matched;
      for (size_t i = 0; i < terms.size() && i < 64; ++i) {
        if (hit.matched_phrases & (uint64_t{1} << i)) {
          matched.push_back(terms[i]);
        }
      }
      const double share = static_cast<double>(matched.size()) /
                           static_cast<double>(terms.size());
      if (share < similarity_threshold_ || matched.empty()) continue;
      v1::SimilarClaim& out = similar.emplace_back();
      out.set_claim_id(hit.claim_id);
      out.set_text(hit.text);
      out.set_similarity(share);
      out.set_status(hit.status);
      out.set_rating(hit.rating);
      *out.mutable_asserted_at() =
          domain::ToProto(absl::FromUnixMicros(hit.asserted_at_micros));
      out.set_match(match);
      out.set_claimant(hit.claimant);
      out.set_score(-hit.rank);
      for (std::string& word : matched) out.add_matched_words(std::move(word));
      ++added;
    }
    return absl::OkStatus();
  };
  search::IndexFilters own;
  own.claimant = q.claimant;
  own.subject = q.subject;
  if (absl::Status s =
          group(own, v1::SIMILAR_MATCH_OWN_STATEMENT, kMaxOwnStatements);
      !s.ok()) {
    return s;
  }
  search::IndexFilters checked;
  checked.exclude_claimant = q.claimant;
  checked.already_checked_only = true;
  if (absl::Status s =
          group(checked, v1::SIMILAR_MATCH_ALREADY_CHECKED, kMaxAlreadyChecked);
      !s.ok()) {
    return s;
  }
  return similar;
}

}  // namespace factlog::core
