// Repeated-claim detection: how alike two claim texts are.
//
// A text becomes a set of content words: lower-cased runs of letters and
// digits, a trailing "'s" dropped, common English function words removed,
// and crude suffix stripping ("troops" -> "troop", "ordered" -> "order",
// "pulling" -> "pull") so that a claimant's restatements in other words
// still overlap. Similarity is the Jaccard index of the two sets (0..1).
// Cheap and explainable rather than clever: it runs only against one
// claimant's claims on one subject.
#ifndef FACTLOG_DOMAIN_SIMILARITY_H_
#define FACTLOG_DOMAIN_SIMILARITY_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::domain {

// The default threshold of factlogd --similarity-threshold.
inline constexpr double kDefaultSimilarityThreshold = 0.25;

std::set<std::string> ContentWords(absl::string_view text);

// |A ∩ B| / |A ∪ B| of the content words; 0 when both are empty.
double TextSimilarity(absl::string_view a, absl::string_view b);

// The content words of `text` as their 32-bit FNV-1a hashes, sorted and
// distinct: what the claimant index keeps per claim, so that a new claim is
// compared with a claimant's earlier ones without reading their texts. Two
// different words share a hash with probability about 2^-32.
std::vector<uint32_t> ContentWordHashes(absl::string_view text);

// Jaccard index of two ContentWordHashes results: TextSimilarity of the
// texts, but for hash collisions.
double HashSetSimilarity(const std::vector<uint32_t>& a,
                         const std::vector<uint32_t>& b);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_SIMILARITY_H_
