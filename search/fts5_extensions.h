// What the search index adds to SQLite's FTS5, registered on each of its
// connections.
//
// The tokenizer factlog_fold: SQLite's porter stemmer over
// its unicode61 tokenizer with diacritics removed, plus a fold for the
// letters unicode61 leaves alone because Unicode gives them no separate
// diacritic: Cyrillic ё (searched as е, as Russian is usually typed), and
// the Latin ł, đ, ø (l, d, o). "Łódź" is found by "lodz", "ёлка" by
// "елка".
#ifndef FACTLOG_SEARCH_FTS5_EXTENSIONS_H_
#define FACTLOG_SEARCH_FTS5_EXTENSIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

struct sqlite3;

namespace factlog::search {

// The name the tokenizer is registered under, and the tokenize= argument a
// table that uses it declares.
inline constexpr char kFoldTokenizerName[] = "factlog_fold";
inline constexpr char kTokenizeArgument[] =
    "porter factlog_fold unicode61 remove_diacritics 2";

// The auxiliary function matched_phrases(table): an integer whose bit i is
// set when phrase i of the MATCH expression (numbered from 0 in the order
// the phrases appear; only the first 64) occurs in the row.
inline constexpr char kMatchedPhrasesFunction[] = "matched_phrases";
// matched_phrase_count(table): how many distinct phrases of the MATCH
// expression occur in the row.
inline constexpr char kMatchedPhraseCountFunction[] = "matched_phrase_count";

// Registers the tokenizer and the two functions on `db` (every connection
// that reads or writes the index must). INTERNAL when the SQLite build has
// no FTS5.
absl::Status RegisterFts5Extensions(sqlite3* db);

// `token` with the extra folds applied (the tokenizer's own step, exposed
// for tests). `token` is UTF-8 as unicode61 emits it: lower case.
std::string FoldToken(absl::string_view token);

}  // namespace factlog::search

#endif  // FACTLOG_SEARCH_FTS5_EXTENSIONS_H_
