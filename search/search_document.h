// What the search index keeps of one claim: its searchable texts, grouped
// in the columns BM25 weighs, and the fields the filters test. Built from
// the claim's view alone, so the index is a projection of the log like the
// store's (docs/ARCHITECTURE.md, "Read path").
#ifndef FACTLOG_SEARCH_SEARCH_DOCUMENT_H_
#define FACTLOG_SEARCH_SEARCH_DOCUMENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "factlog/v1/views.pb.h"

namespace factlog::search {

// The text columns, in table order, and their BM25 weights: a word in the
// claim's current text counts most, one in a text it was corrected from
// less, one in who said it or where, its subject and tags, the evidence or
// the verdict less again.
enum class Column : int {
  kText = 0,           // the current text
  kPreviousTexts = 1,  // texts the claim was corrected from
  kPeople = 2,         // claimant, reporter, outlet
  kTopics = 3,         // subject, tags
  kEvidence = 4,       // evidence notes, source names and outlets
  kVerdict = 5,        // verdict summary and reviewer
};
inline constexpr int kColumnCount = 6;
inline constexpr double kColumnWeights[kColumnCount] = {10, 4, 3, 3, 2, 2};
inline constexpr const char* kColumnNames[kColumnCount] = {
    "text", "previous_texts", "people", "topics", "evidence", "verdict"};

struct SearchDocument {
  std::string claim_id;
  uint64_t version = 0;
  std::string columns[kColumnCount];

  // Filter fields.
  v1::ClaimStatus stored_status = v1::CLAIM_STATUS_UNSPECIFIED;
  v1::ClaimKind kind = v1::CLAIM_KIND_UNSPECIFIED;
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  std::string claimant;
  std::string subject;
  std::vector<std::string> tags;
  int64_t asserted_at_micros = 0;
  int64_t recorded_at_micros = 0;  // when the claim was recorded
  // due_at while the claim can read OVERDUE (domain::OverdueEligible):
  // it reads OVERDUE from then on. Unset otherwise.
  std::optional<int64_t> overdue_from_micros;
};

// The document of `view`. Pure; thread-safe.
SearchDocument DocumentOf(const v1::ClaimView& view);

// True when the claim has a verdict (RATED) or evidence that gave it a
// status (SUPPORTED, CONTRADICTED, DISPUTED): what "already checked" means
// for RecordClaim's similar claims.
bool AlreadyChecked(v1::ClaimStatus status);

}  // namespace factlog::search

#endif  // FACTLOG_SEARCH_SEARCH_DOCUMENT_H_
