// Search queries: what a client typed, as an FTS5 query expression.
//
// Two modes. FTS5 syntax (phrases "...", AND/OR/NOT, NEAR(...), prefix*,
// column filters such as `evidence: nato`) goes to FTS5 as it is, and FTS5
// judges it; the plain-words mode takes the words of any text (letters and
// digits of every script; everything else separates words) and asks for
// at least half of them, so punctuation can never make it fail. Pure
// functions; thread-safe.
#ifndef FACTLOG_SEARCH_SEARCH_QUERY_H_
#define FACTLOG_SEARCH_SEARCH_QUERY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace factlog::search {

// Longest query accepted, in bytes.
inline constexpr size_t kMaxQueryBytes = 2048;
// Most words a plain-words query keeps (the rest are ignored).
inline constexpr size_t kMaxQueryWords = 64;

// The words of `text` in order, repeats included: maximal runs of ASCII
// letters and digits and of non-ASCII characters (so every script's
// letters count). At most kMaxQueryWords.
std::vector<std::string> Words(absl::string_view text);

// Quotes `word` as an FTS5 string (so that it is a term, never an operator).
std::string QuoteTerm(absl::string_view word);

// The checks every query passes before FTS5 sees it. INVALID_ARGUMENT
// naming "query" when it is empty, longer than kMaxQueryBytes or holds a
// NUL byte.
absl::Status CheckQuery(absl::string_view query);

// A query for any of the words of a text.
struct WordsQuery {
  std::string expression;          // FTS5; "" when the text has no words
  std::vector<std::string> words;  // its phrases in order, one word each
};

// The words of `text` (distinct, compared in ASCII lower case; stop words,
// domain::IsStopWord, left out unless nothing else remains), each a quoted
// term, joined by OR and restricted to `columns` (an FTS5 column filter such as
// "{text previous_texts}") when not empty. With the plain-words mode's
// rule, MinWordsMatched, it is the plain-words query.
WordsQuery AnyOfWords(absl::string_view text, absl::string_view columns = "");

// How many of a plain-words query's `words` a hit must hold: half of
// them, rounded up ("pull back troops" finds "troops pulled back" and
// "pulled away, troops"; hits holding more words rank higher by BM25).
int MinWordsMatched(size_t words);

}  // namespace factlog::search

#endif  // FACTLOG_SEARCH_SEARCH_QUERY_H_
