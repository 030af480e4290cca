#include "search/search_query.h"

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/similarity.h"

namespace factlog::search {

std::vector<std::string> Words(absl::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && words.size() < kMaxQueryWords) words.push_back(word);
    word.clear();
  };
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || u >= 0x80) {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return words;
}

std::string QuoteTerm(absl::string_view word) {
  std::string quoted = "\"";
  for (char c : word) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

absl::Status CheckQuery(absl::string_view query) {
  if (query.empty()) {
    return absl::InvalidArgumentError("query: empty; give words to look for");
  }
  if (query.size() > kMaxQueryBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query: at most ", kMaxQueryBytes, " bytes, got ", query.size()));
  }
  if (query.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("query: contains a NUL byte");
  }
  return absl::OkStatus();
}

WordsQuery AnyOfWords(absl::string_view text, absl::string_view columns) {
  std::vector<std::string> distinct;
  absl::flat_hash_set<std::string> seen;
  for (std::string word : Words(text)) {
    absl::AsciiStrToLower(&word);
    if (seen.insert(word).second) distinct.push_back(std::move(word));
  }
  WordsQuery query;
  for (std::string& word : distinct) {
    if (!domain::IsStopWord(word)) query.words.push_back(std::move(word));
  }
  if (query.words.empty()) query.words = std::move(distinct);
  if (query.words.empty()) return query;
  std::vector<std::string> quoted;
  for (const std::string& word : query.words) quoted.push_back(QuoteTerm(word));
  query.expression = absl::StrJoin(quoted, " OR ");
  if (!columns.empty()) {
    query.expression = absl::StrCat(columns, " : (", query.expression, ")");
  }
  return query;
}

int MinWordsMatched(size_t words) { return static_cast<int>((words + 1) / 2); }

}  // namespace factlog::search
