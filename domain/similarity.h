// Content words: what a claim's text is about, for the claimant index
// (storage/claim_indexes.h) and the search index's "checked before?"
// queries (search/search_query.h).
//
// A content word is a lower-cased run of letters and digits that is not a
// common English function word ("the", "of", "has", ...). The claimant
// index keeps, per claim, the hashes of its content words after a trailing
// "'s" is dropped and crude suffix stripping ("troops" -> "troop").
//
// RecordClaim's similar claims used to be the Jaccard index of these sets;
// they now come from the search index (README "Search"), which found the
// labelled set's known repeats twice as often (tests/repeats_test.cc).
#ifndef FACTLOG_DOMAIN_SIMILARITY_H_
#define FACTLOG_DOMAIN_SIMILARITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::domain {

// True for common English function words. `word` in lower case.
bool IsStopWord(absl::string_view word);

// The content words of `text` as their 32-bit FNV-1a hashes, sorted and
// distinct: what the claimant index keeps per claim. Two different words
// share a hash with probability about 2^-32.
std::vector<uint32_t> ContentWordHashes(absl::string_view text);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_SIMILARITY_H_
