#include "client/format_claims.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/format.h"
#include "client/format_sources.h"
#include "client/values.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;
using factlog::v1::ClaimView;
using factlog::v1::CommandResponse;
using factlog::v1::CorrectionView;
using factlog::v1::EvidenceView;
using factlog::v1::LinkView;

constexpr size_t kLabelWidth = 13;  // "Reported by" plus two spaces

// "Label        value\n", the value wrapped; "-" for an empty value.
std::string Field(absl::string_view label, absl::string_view value) {
  return LabeledLines(label, kLabelWidth, value.empty() ? "-" : value);
}

// `text` wrapped to the screen, each line indented by `indent` spaces.
std::string Indented(absl::string_view text, size_t indent) {
  std::string out;
  for (const std::string& line : Wrap(text, kScreenWidth - indent)) {
    out += StripTrailingSpaces(absl::StrCat(std::string(indent, ' '), line));
    out += '\n';
  }
  return out;
}

char StanceMarker(factlog::v1::Stance stance) {
  switch (stance) {
    case factlog::v1::STANCE_SUPPORTS:
      return '+';
    case factlog::v1::STANCE_REFUTES:
      return '-';
    case factlog::v1::STANCE_CONTEXT:
      return '~';
    default:
      return '?';
  }
}

bool TimeLess(const google::protobuf::Timestamp& a,
              const google::protobuf::Timestamp& b) {
  if (a.seconds() != b.seconds()) return a.seconds() < b.seconds();
  return a.nanos() < b.nanos();
}

// "Supported by: a, b\n", the names wrapped; "(none)" when there are none.
std::string SourcesLine(
    absl::string_view label,
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  constexpr size_t kWidth = 14;  // "Supported by: "
  return LabeledLines(label, kWidth,
                      names.empty() ? "(none)" : absl::StrJoin(names, ", "));
}

std::string RenderEvidence(const ClaimView& claim) {
  if (claim.evidence().empty()) return "Evidence: none\n";
  std::vector<const EvidenceView*> timeline;
  for (const EvidenceView& e : claim.evidence()) timeline.push_back(&e);
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const EvidenceView* a, const EvidenceView* b) {
                     return TimeLess(a->observed_at(), b->observed_at());
                   });
  std::string out =
      absl::StrCat("Evidence (", timeline.size(), ", by observed time):\n");
  constexpr size_t kDetailIndent = 6;
  for (const EvidenceView* e : timeline) {
    const std::string head =
        absl::StrCat("  ", std::string(1, StanceMarker(e->stance())), " ",
                     FormatTime(e->observed_at()), "  ",
                     Pad(ShortName(e->stance()), 8, false), "  ");
    // The id goes at the end of the line when source and id fit, else on a
    // line of its own. Nothing is cut: the source and URL may overflow.
    const std::string source = SourceName(e->source());
    const std::string id = absl::StrCat("[", e->evidence_id(), "]");
    const std::string withdrawn = e->withdrawn() ? " (withdrawn)" : "";
    const size_t one_line = DisplayWidth(head) + DisplayWidth(source) + 1 +
                            DisplayWidth(id) + DisplayWidth(withdrawn);
    if (one_line <= kScreenWidth) {
      out += absl::StrCat(head, source, " ", id, withdrawn, "\n");
    } else {
      out +=
          StripTrailingSpaces(absl::StrCat(head, Sanitize(source), withdrawn));
      out += '\n';
      out += absl::StrCat(std::string(kDetailIndent, ' '), Sanitize(id), "\n");
    }
    if (const std::string detail = EvidenceSourceDetail(*e); !detail.empty()) {
      out += Indented(detail, kDetailIndent);
    }
    if (!e->note().empty()) out += Indented(e->note(), kDetailIndent);
    if (!e->source().url().empty()) {
      out += absl::StrCat(std::string(kDetailIndent, ' '),
                          Sanitize(e->source().url()), "\n");
    }
    if (e->withdrawn()) {
      out += Indented(absl::StrCat("withdrawn ", FormatTime(e->withdrawn_at()),
                                   e->withdrawn_reason().empty() ? "" : ": ",
                                   e->withdrawn_reason()),
                      kDetailIndent);
    }
  }
  return out;
}

std::string RenderLinks(const ClaimView& claim) {
  if (claim.links().empty()) return "";
  std::string out = "Links:\n";
  for (const LinkView& link : claim.links()) {
    const bool incoming =
        link.direction() == factlog::v1::LINK_DIRECTION_INCOMING;
    const std::string tail = absl::StrCat("  ", ShortName(link.relation()),
                                          "  ", FormatTime(link.linked_at()));
    const std::string arrow = incoming ? "  <- " : "  -> ";
    out += absl::StrCat(arrow, Sanitize(link.other_claim_id()), tail, "\n");
  }
  return out;
}

std::string RenderCorrections(const ClaimView& claim) {
  if (claim.corrections().empty()) return "";
  std::string out = "Corrections:\n";
  const auto& corrections = claim.corrections();
  for (int i = 0; i < corrections.size(); ++i) {
    const CorrectionView& c = corrections[i];
    // What the fields became: the next correction's `previous`, or the
    // claim as it is now. Only fields that changed are worth showing.
    v1::ClaimFields after;
    if (i + 1 < corrections.size()) {
      after = corrections[i + 1].previous();
    } else {
      after.set_text(claim.text());
      after.set_subject(claim.subject());
      *after.mutable_tags() = claim.tags();
      if (claim.has_due_at()) *after.mutable_due_at() = claim.due_at();
    }
    out += Indented(
        absl::StrCat("v", c.version(), "  ", FormatTime(c.corrected_at()),
                     c.actor().empty() ? "" : " by ", c.actor(), ": ",
                     c.reason()),
        2);
    const auto& prev = c.previous();
    auto was = [&](absl::string_view what, absl::string_view value) {
      out += Indented(absl::StrCat("was ", what, ": ", value), 6);
    };
    if (prev.text() != after.text()) was("text", prev.text());
    if (prev.subject() != after.subject()) was("subject", prev.subject());
    if (!std::equal(prev.tags().begin(), prev.tags().end(),
                    after.tags().begin(), after.tags().end())) {
      was("tags",
          prev.tags().empty() ? "(none)" : absl::StrJoin(prev.tags(), ", "));
    }
    if (FormatTime(prev.due_at()) != FormatTime(after.due_at())) {
      was("due", FormatTime(prev.due_at()));
    }
  }
  return out;
}

std::string PositionText(uint64_t first, uint64_t last) {
  if (first == last || first == 0) return absl::StrCat("position ", last);
  return absl::StrCat("positions ", first, "-", last);
}

// "CONTRADICTED 2, RATED 1" (or "FALSE 3, MOSTLY_FALSE 1"): each count's
// enum value, as `value_of` reads it, and its number; "-" for none.
template <typename Count, typename ValueOf>
std::string CountsText(const google::protobuf::RepeatedPtrField<Count>& counts,
                       ValueOf value_of) {
  std::vector<std::string> parts;
  for (const Count& c : counts) {
    parts.push_back(absl::StrCat(ShortName(value_of(c)), " ", c.count()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

std::string StatusCounts(
    const google::protobuf::RepeatedPtrField<v1::StatusCount>& counts) {
  return CountsText(counts,
                    [](const v1::StatusCount& c) { return c.status(); });
}

std::string RatingCounts(
    const google::protobuf::RepeatedPtrField<v1::RatingCount>& counts) {
  return CountsText(counts,
                    [](const v1::RatingCount& c) { return c.rating(); });
}

}  // namespace

std::string SourceName(const v1::Source& source) {
  std::string out = source.name().empty() ? "(unnamed)" : source.name();
  if (!source.outlet().empty()) absl::StrAppend(&out, ", ", source.outlet());
  return out;
}

std::string StatusText(const ClaimView& claim) {
  std::string out = ShortName(claim.status());
  if (claim.status() == factlog::v1::CLAIM_STATUS_RATED &&
      claim.rating() != factlog::v1::RATING_UNSPECIFIED) {
    absl::StrAppend(&out, " ", ShortName(claim.rating()));
  }
  return out;
}

std::string RenderClaim(const ClaimView& claim) {
  std::string out;
  out +=
      Field("Claim", absl::StrCat(claim.claim_id(), "  (v", claim.version(),
                                  ", position ", claim.last_position(), ")"));
  out += Field("Text", claim.text());
  out += Field("Claimant", claim.claimant());
  if (claim.has_reported_by()) {
    std::string reported = SourceName(claim.reported_by());
    if (!claim.reported_by().url().empty()) {
      absl::StrAppend(&reported, " ", claim.reported_by().url());
    }
    out += Field("Reported by", reported);
  }
  out += Field("Subject", claim.subject());
  out += Field("Kind", ShortName(claim.kind()));
  out += Field("Asserted", FormatTime(claim.asserted_at()));
  if (claim.has_due_at()) out += Field("Due", FormatTime(claim.due_at()));
  if (!claim.tags().empty()) {
    out += Field("Tags", absl::StrJoin(claim.tags(), ", "));
  }
  out += Field("Status", StatusText(claim));
  if (claim.has_known()) {
    const auto& k = claim.known();
    std::string known =
        absl::StrCat(FormatTime(k.known_at()),
                     " (as the evidence observed by then implies; ",
                     k.events_not_yet_known(), " later event(s) not counted");
    if (k.evidence_placed_by_recorded_time() > 0) {
      absl::StrAppend(&known, "; ", k.evidence_placed_by_recorded_time(),
                      " evidence item(s) without an observed time placed "
                      "when recorded");
    }
    out += Field("Known at", known + ")");
  }
  if (claim.has_verdict()) {
    const auto& v = claim.verdict();
    std::string verdict = ShortName(v.rating());
    if (!v.reviewer().empty()) absl::StrAppend(&verdict, " by ", v.reviewer());
    absl::StrAppend(&verdict, ", ", FormatTime(v.issued_at()));
    if (!v.summary().empty()) absl::StrAppend(&verdict, ": ", v.summary());
    out += Field("Verdict", verdict);
  }
  if (claim.retracted()) {
    out += Field("Retracted", absl::StrCat(FormatTime(claim.retracted_at()),
                                           ": ", claim.retraction_reason()));
  }
  std::string created = FormatTime(claim.created_at());
  if (!claim.created_by().empty()) {
    absl::StrAppend(&created, " by ", claim.created_by());
  }
  out += Field("Created", created);
  out += Field("Updated", FormatTime(claim.updated_at()));
  out += "\n";
  out += RenderEvidence(claim);
  if (ReadsByOrganisation(claim)) {
    out += RenderIndependentSources(claim);
  } else {
    out += SourcesLine("Supported by:", claim.supporting_sources());
    out += SourcesLine("Refuted by:", claim.refuting_sources());
  }
  const std::string links = RenderLinks(claim);
  if (!links.empty()) absl::StrAppend(&out, "\n", links);
  const std::string corrections = RenderCorrections(claim);
  if (!corrections.empty()) absl::StrAppend(&out, "\n", corrections);
  return out;
}

std::string RenderClaimList(const std::vector<ClaimView>& claims,
                            size_t screen_width) {
  // Ids are what a reader copies into the next command: never cut; the
  // claimant and the text give way.
  Table table({{"CLAIM", 64, false, false, 0, /*id=*/true},
               {"STATUS", 19},
               {"CLAIMANT", 14, false, false, /*min_width=*/8},
               {"TEXT", kScreenWidth, /*flexible=*/true}});
  for (const ClaimView& c : claims) {
    table.AddRow({c.claim_id(), StatusText(c), c.claimant(), c.text()});
  }
  return table.Render(screen_width);
}

std::string RenderCommandResult(absl::string_view action,
                                const CommandResponse& response,
                                absl::string_view detail) {
  std::string out = absl::StrCat(
      action, " ", response.claim_id(), detail.empty() ? "" : " ", detail, " v",
      response.version(), " (",
      PositionText(response.first_position(), response.last_position()), ")");
  if (response.has_claim()) {
    absl::StrAppend(&out, " status ", StatusText(response.claim()));
  }
  if (response.deduplicated()) {
    absl::StrAppend(&out, " (request already applied; nothing new recorded)");
  }
  out += '\n';
  return out;
}

std::string RenderSimilarClaims(const CommandResponse& response) {
  std::string own, checked;
  for (const factlog::v1::SimilarClaim& s : response.similar_claims()) {
    std::string* group = s.match() == factlog::v1::SIMILAR_MATCH_ALREADY_CHECKED
                             ? &checked
                             : &own;
    std::string status = ShortName(s.status());
    if (s.rating() != factlog::v1::RATING_UNSPECIFIED) {
      absl::StrAppend(&status, " ", ShortName(s.rating()));
    }
    absl::StrAppend(
        group, absl::StrFormat("  %-38s %.2f  %-12s %s  %s\n", s.claim_id(),
                               s.similarity(), status,
                               FormatTime(s.asserted_at()).substr(0, 10),
                               Truncate(s.text(), 60)));
    if (group == &checked) {
      absl::StrAppend(group, "      by ", Truncate(s.claimant(), 40), ";");
    } else {
      absl::StrAppend(group, "     ");
    }
    absl::StrAppend(group, " matched: ", absl::StrJoin(s.matched_words(), ", "),
                    "\n");
  }
  std::string out;
  if (!own.empty()) {
    absl::StrAppend(&out,
                    "possible repeats (same claimant and subject, best match "
                    "first):\n",
                    own);
  }
  if (!checked.empty()) {
    absl::StrAppend(&out,
                    "already checked (other claimants, with a verdict or "
                    "evidence):\n",
                    checked);
  }
  return out;
}

std::string RenderSearchHits(const std::vector<factlog::v1::SearchHit>& hits,
                             size_t screen_width) {
  Table table({{"CLAIM", 38},
               {"SCORE", 6, false, true},
               {"STATUS", 20},
               {"CLAIMANT", kScreenWidth, /*flexible=*/true}});
  std::vector<std::string> snippets;
  for (const factlog::v1::SearchHit& h : hits) {
    std::string status = ShortName(h.status());
    if (h.rating() != factlog::v1::RATING_UNSPECIFIED) {
      absl::StrAppend(&status, " ", ShortName(h.rating()));
    }
    table.AddRow({h.claim_id(), absl::StrFormat("%.2f", h.score()), status,
                  h.claimant()});
    std::string snippet;
    for (const std::string& line : Wrap(Sanitize(h.snippet()), 74)) {
      absl::StrAppend(&snippet, "    ", line, "\n");
    }
    snippets.push_back(std::move(snippet));
  }
  // Each hit's row, then its snippet (matches between « and ») under it.
  const std::vector<std::string> rows =
      absl::StrSplit(table.Render(screen_width), '\n', absl::SkipEmpty());
  std::string out = rows.empty() ? "" : rows[0] + "\n";
  for (size_t i = 1; i < rows.size() && i - 1 < snippets.size(); ++i) {
    absl::StrAppend(&out, rows[i], "\n", snippets[i - 1]);
  }
  return out;
}

std::string RenderClaimant(const factlog::v1::ClaimantView& claimant) {
  std::string out;
  out += Field("Claimant", claimant.claimant());
  out += Field("Claims", absl::StrCat(claimant.claim_count()));
  out += Field("By status", StatusCounts(claimant.by_status()));
  out += Field("By rating", RatingCounts(claimant.by_rating()));
  out += Field("Claim ids", claimant.claim_ids().empty()
                                ? "-"
                                : absl::StrJoin(claimant.claim_ids(), " "));
  for (const factlog::v1::RepeatGroup& group : claimant.repeats()) {
    out += Field("Repeated",
                 absl::StrCat(group.statements(), " statements (",
                              StatusCounts(group.by_status()), "; rated ",
                              RatingCounts(group.by_rating()),
                              "): ", absl::StrJoin(group.claim_ids(), " -> ")));
  }
  return out;
}

std::vector<std::string> ClaimantsContaining(
    absl::string_view name, const std::vector<std::string>& claimants) {
  const std::string word =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  std::vector<std::string> out;
  if (word.empty()) return out;
  for (const std::string& claimant : claimants) {
    if (claimant == name ||
        !absl::StrContains(absl::AsciiStrToLower(claimant), word) ||
        std::find(out.begin(), out.end(), claimant) != out.end()) {
      continue;
    }
    out.push_back(claimant);
  }
  return out;
}

std::string ClaimantHint(absl::string_view name,
                         const std::vector<std::string>& similar,
                         bool complete) {
  const std::string word(absl::StripAsciiWhitespace(name));
  std::string out = "claimant names match exactly (case too); ";
  if (similar.empty()) {
    absl::StrAppend(&out, "no claimant contains \"", word, "\"");
  } else {
    absl::StrAppend(&out, "claimants containing \"", word,
                    "\": ", absl::StrJoin(similar, ", "));
  }
  if (!complete) absl::StrAppend(&out, " (among the first claims only)");
  return out + "\n";
}

std::string RenderSubjects(
    const std::vector<factlog::v1::SubjectSummary>& subjects,
    size_t screen_width) {
  Table table({{"SUBJECT", 64, false, false, 0, /*id=*/true},
               {"CLAIMS", 8, false, true},
               {"BY STATUS", kScreenWidth, true}});
  for (const auto& s : subjects) {
    table.AddRow({s.subject(), absl::StrCat(s.claim_count()),
                  StatusCounts(s.by_status())});
  }
  return table.Render(screen_width);
}

}  // namespace factlog::cli
