#include "client/claimreview.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/values.h"
#include "google/protobuf/util/time_util.h"

namespace factlog::cli {

using nlohmann::json;

const std::vector<RatingScaleEntry> kRatingScale = {
    {v1::RATING_TRUE, 5, "True"},
    {v1::RATING_MOSTLY_TRUE, 4, "Mostly true"},
    {v1::RATING_HALF_TRUE, 3, "Half true"},
    {v1::RATING_MISLEADING, 2, "Misleading"},
    {v1::RATING_MOSTLY_FALSE, 2, "Mostly false"},
    {v1::RATING_FALSE, 1, "False"},
    {v1::RATING_PANTS_ON_FIRE, 1, "Pants on fire"},
    {v1::RATING_UNPROVEN, 3, "Unproven"},
    {v1::RATING_KEPT, 5, "Promise kept"},
    {v1::RATING_COMPROMISE, 3, "Compromise"},
    {v1::RATING_IN_PROGRESS, 3, "In the works"},
    {v1::RATING_STALLED, 2, "Stalled"},
    {v1::RATING_BROKEN, 1, "Promise broken"},
    {v1::RATING_NOT_YET_RATED, 3, "Not yet rated"},
};

namespace {

constexpr int kBestRating = 5;
constexpr int kWorstRating = 1;

// "Pants-on_Fire " -> "pantsonfire": how rating names are compared.
std::string NormalizedName(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

const RatingScaleEntry* ScaleEntry(v1::Rating rating) {
  for (const RatingScaleEntry& e : kRatingScale) {
    if (e.rating == rating) return &e;
  }
  return nullptr;
}

// Names that read as an organisation rather than a person.
bool LooksLikeOrganization(absl::string_view name) {
  static const char* const kWords[] = {
      "government", "ministry", "house",   "office",     "agency",
      "department", "council",  "party",   "committee",  "nato",
      "cnn",        "inc",      "ltd",     "university", "bureau",
      "commission", "service",  "kremlin", "army",       "police"};
  const std::string lower = absl::AsciiStrToLower(name);
  for (absl::string_view word :
       absl::StrSplit(lower, absl::ByAnyChar(" ,.()-"), absl::SkipEmpty())) {
    for (const char* k : kWords) {
      if (word == k) return true;
    }
  }
  return false;
}

json Actor(absl::string_view name) {
  return {{"@type", LooksLikeOrganization(name) ? "Organization" : "Person"},
          {"name", std::string(name)}};
}

std::string Rfc3339(const google::protobuf::Timestamp& ts) {
  return google::protobuf::util::TimeUtil::ToString(ts);
}

[[noreturn]] void Bad(absl::string_view name, int index,
                      absl::string_view field, absl::string_view why) {
  throw UsageError(
      absl::StrCat(name, ": review ", index, ": ", field, ": ", why));
}

std::string RequiredString(absl::string_view name, int index, const json& obj,
                           const char* key, absl::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get<std::string>().empty()) {
    Bad(name, index, path, "required text is missing");
  }
  return it->get<std::string>();
}

// The name of a Person/Organization given as an object or a plain string.
std::string NameOf(const json& actor) {
  if (actor.is_string()) return actor.get<std::string>();
  if (actor.is_array() && !actor.empty()) return NameOf(actor.front());
  if (actor.is_object()) {
    auto it = actor.find("name");
    if (it != actor.end() && it->is_string()) return it->get<std::string>();
  }
  return "";
}

// The first appearance URL of a Claim, if any.
std::string AppearanceUrl(const json& claim) {
  for (const char* key : {"firstAppearance", "appearance"}) {
    auto it = claim.find(key);
    if (it == claim.end()) continue;
    const json& a = it->is_array() && !it->empty() ? it->front() : *it;
    if (a.is_string()) return a.get<std::string>();
    if (a.is_object() && a.contains("url") && a["url"].is_string()) {
      return a["url"].get<std::string>();
    }
  }
  return "";
}

bool IsSlug(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  if (!absl::ascii_isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id) {
    if (!(absl::ascii_islower(static_cast<unsigned char>(c)) ||
          absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

json ToClaimReview(const v1::ClaimView& claim,
                   const ClaimReviewOptions& options) {
  json item = {{"@type", "Claim"}, {"author", Actor(claim.claimant())}};
  if (claim.has_asserted_at()) {
    item["datePublished"] = Rfc3339(claim.asserted_at());
  }
  if (!claim.reported_by().url().empty()) {
    const json appearance = {{"@type", "CreativeWork"},
                             {"url", claim.reported_by().url()}};
    item["appearance"] = json::array({appearance});
    item["firstAppearance"] = appearance;
  }
  const RatingScaleEntry* entry = ScaleEntry(claim.rating());
  json rating = {{"@type", "Rating"},
                 {"bestRating", kBestRating},
                 {"worstRating", kWorstRating}};
  if (entry != nullptr) {
    rating["ratingValue"] = entry->value;
    rating["alternateName"] = entry->name;
  }
  json review = {
      {"@context", "https://schema.org"},
      {"@type", "ClaimReview"},
      {"identifier", absl::StrCat("factlog:", claim.claim_id())},
      {"claimReviewed", claim.text()},
      {"itemReviewed", item},
      {"reviewRating", rating},
      {"author",
       {{"@type", "Organization"}, {"name", claim.verdict().reviewer()}}},
      {"datePublished", Rfc3339(claim.verdict().issued_at())},
      {"reviewBody", claim.verdict().summary()}};
  if (!options.url_template.empty()) {
    review["url"] = absl::StrReplaceAll(options.url_template,
                                        {{"{claim_id}", claim.claim_id()}});
  }
  return review;
}

std::vector<json> ParseClaimReviews(absl::string_view name,
                                    absl::string_view text) {
  std::vector<json> out;
  auto add = [&](const json& value) {
    if (value.is_array()) {
      for (const json& v : value) out.push_back(v);
    } else if (value.is_object() && value.contains("dataFeedElement")) {
      for (const json& v : value["dataFeedElement"]) {
        // A feed element may wrap its reviews in "item".
        if (v.contains("item")) {
          for (const json& i :
               v["item"].is_array() ? v["item"] : json::array({v["item"]}))
            out.push_back(i);
        } else {
          out.push_back(v);
        }
      }
    } else {
      out.push_back(value);
    }
  };
  json whole = json::parse(text.begin(), text.end(), nullptr, false);
  if (!whole.is_discarded()) {
    add(whole);
  } else {
    int line_number = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      ++line_number;
      line = absl::StripAsciiWhitespace(line);
      if (line.empty()) continue;
      json value = json::parse(line.begin(), line.end(), nullptr, false);
      if (value.is_discarded()) {
        throw UsageError(
            absl::StrCat(name, ":", line_number,
                         ": not JSON (expected ClaimReview JSON-LD "
                         "objects, an array or a DataFeed)"));
      }
      add(value);
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].is_object() || out[i].value("@type", "") != "ClaimReview") {
      throw UsageError(absl::StrCat(name, ": review ", i + 1,
                                    ": @type: not a ClaimReview object"));
    }
  }
  return out;
}

std::vector<ImportItem> ClaimReviewCommands(absl::string_view name, int index,
                                            const json& review,
                                            const std::string& subject) {
  const std::string text =
      RequiredString(name, index, review, "claimReviewed", "claimReviewed");
  const json item = review.value("itemReviewed", json::object());
  std::string claimant = NameOf(item.value("author", json()));
  if (claimant.empty()) Bad(name, index, "itemReviewed.author.name", "missing");
  const std::string reviewer = NameOf(review.value("author", json()));
  if (reviewer.empty()) Bad(name, index, "author.name", "missing");
  const json rating_json = review.value("reviewRating", json::object());
  const std::string rating_name = rating_json.value("alternateName", "");
  if (rating_name.empty()) {
    Bad(name, index, "reviewRating.alternateName", "missing");
  }

  std::string claim_id;
  const std::string identifier = review.value("identifier", "");
  if (absl::StartsWith(identifier, "factlog:") &&
      IsSlug(identifier.substr(8))) {
    claim_id = identifier.substr(8);
  } else {
    claim_id =
        absl::StrCat("cr-", Fnv1a64Hex(absl::StrCat(claimant, "\n", text)));
  }

  v1::Rating rating = v1::RATING_UNPROVEN;
  bool known = false;
  for (const RatingScaleEntry& e : kRatingScale) {
    if (NormalizedName(e.name) == NormalizedName(rating_name) ||
        NormalizedName(v1::Rating_Name(e.rating).substr(7)) ==
            NormalizedName(rating_name)) {
      rating = e.rating;
      known = true;
      break;
    }
  }
  const bool promise = rating >= v1::RATING_KEPT;

  ImportItem record{index, {}};
  v1::RecordClaimRequest* claim = record.command.mutable_record_claim();
  claim->set_claim_id(claim_id);
  claim->set_text(text);
  claim->set_claimant(claimant);
  claim->set_subject(subject);
  claim->set_kind(promise ? v1::CLAIM_KIND_PROMISE : v1::CLAIM_KIND_FACT);
  const std::string url = AppearanceUrl(item);
  if (!url.empty()) {
    claim->mutable_reported_by()->set_name(claimant);
    claim->mutable_reported_by()->set_url(url);
  }
  const std::string asserted = item.value("datePublished", "");
  if (!asserted.empty()) {
    *claim->mutable_asserted_at() =
        ParseTimeFlag("itemReviewed.datePublished", asserted);
  }
  claim->set_request_id(absl::StrCat("claimreview:", claim_id, ":claim"));

  ImportItem verdict{index, {}};
  v1::IssueVerdictRequest* v = verdict.command.mutable_issue_verdict();
  v->set_claim_id(claim_id);
  v->set_rating(rating);
  v->set_reviewer(reviewer);
  std::string summary = review.value("reviewBody", "");
  if (summary.empty()) summary = "Imported from a ClaimReview.";
  if (!known) {
    absl::StrAppend(&summary, " (original rating: \"", rating_name, "\")");
  }
  v->set_summary(summary);
  v->set_request_id(absl::StrCat("claimreview:", claim_id,
                                 ":verdict:", Fnv1a64Hex(review.dump())));
  return {record, verdict};
}

}  // namespace factlog::cli
