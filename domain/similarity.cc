#include "domain/similarity.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace factlog::domain {

bool IsStopWord(absl::string_view word) {
  static const auto* const kStopWords =
      new absl::flat_hash_set<absl::string_view>{
          "a",      "an",    "the",  "of",    "to",    "in",    "on",
          "at",     "for",   "from", "and",   "or",    "but",   "is",
          "are",    "was",   "were", "be",    "been",  "being", "has",
          "have",   "had",   "it",   "its",   "that",  "this",  "these",
          "those",  "their", "they", "them",  "he",    "she",   "his",
          "her",    "with",  "by",   "as",    "will",  "would", "could",
          "should", "can",   "may",  "might", "some",  "any",   "all",
          "into",   "than",  "then", "there", "which", "who",   "whom",
          "what",   "so",    "such", "also",  "very",  "said",  "says",
          "say",    "do",    "does", "did",   "not",   "no",    "if",
          "about",  "up",    "s",    "we",    "our",   "i",     "you"};
  return kStopWords->contains(word);
}

namespace {

// Strips one suffix of `word` in place.
void Stem(std::string* word) {
  auto strip = [&](absl::string_view suffix, absl::string_view replacement,
                   size_t min_left) {
    if (word->size() >= suffix.size() + min_left &&
        absl::EndsWith(*word, suffix)) {
      word->resize(word->size() - suffix.size());
      word->append(replacement.data(), replacement.size());
      return true;
    }
    return false;
  };
  strip("ies", "y", 2) || strip("ing", "", 3) || strip("ed", "", 3) ||
      (!absl::EndsWith(*word, "ss") && strip("s", "", 3));
}

// Calls `fn` with each content word of `text`, in text order, repeats
// included; the view is valid during the call only.
template <typename Fn>
void ForEachContentWord(absl::string_view text, Fn fn) {
  std::string word;
  auto flush = [&] {
    if (absl::EndsWith(word, "'s")) word.resize(word.size() - 2);
    while (!word.empty() && word.back() == '\'') word.pop_back();
    if (!word.empty() && !IsStopWord(word)) {
      Stem(&word);
      fn(absl::string_view(word));
    }
    word.clear();
  };
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || u >= 0x80) {
      word.push_back(absl::ascii_tolower(u));
    } else if (c == '\'' && !word.empty()) {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
}

}  // namespace

std::vector<uint32_t> ContentWordHashes(absl::string_view text) {
  std::vector<uint32_t> hashes;
  ForEachContentWord(text, [&](absl::string_view word) {
    uint32_t hash = 2166136261u;
    for (unsigned char c : word) {
      hash ^= c;
      hash *= 16777619u;
    }
    hashes.push_back(hash);
  });
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return hashes;
}

}  // namespace factlog::domain
