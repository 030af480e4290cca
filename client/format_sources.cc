#include "client/format_sources.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "client/values.h"
#include "domain/status.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;

bool DefaultPolicy(const v1::DeskPolicy& policy) {
  return policy.min_independent_sources() <= 1 && !policy.ignore_unreliable();
}

std::string PolicyText(const v1::DeskPolicy& policy) {
  const uint32_t n = std::max<uint32_t>(1, policy.min_independent_sources());
  return absl::StrCat(
      n, " independent source", n == 1 ? "" : "s",
      " needed to support or contradict",
      policy.ignore_unreliable() ? "; sources graded E or F not counted" : "");
}

// "Refuted by 2 independent organisations: a, b", on one line when it fits
// the screen, else the groups wrapped on the lines after, indented.
std::string SideLine(absl::string_view verb,
                     const std::vector<domain::SourceGroup>& groups) {
  if (groups.empty()) return absl::StrCat(verb, " by none\n");
  size_t counted = 0;
  std::vector<std::string> labels;
  for (const domain::SourceGroup& g : groups) {
    counted += g.counted ? 1 : 0;
    labels.push_back(
        absl::StrCat(domain::GroupLabel(g), g.counted ? "" : " (not counted)"));
  }
  const std::string head =
      absl::StrCat(verb, " by ", counted, " independent organisation",
                   counted == 1 ? "" : "s", ":");
  const std::string list = absl::StrJoin(labels, ", ");
  const std::string line = absl::StrCat(head, " ", list);
  if (DisplayWidth(line) <= kScreenWidth) return Sanitize(line) + "\n";
  std::string out = head + "\n";
  for (const std::string& part : Wrap(list, kScreenWidth - 2)) {
    out += StripTrailingSpaces(absl::StrCat("  ", part)) + "\n";
  }
  return out;
}

std::string GradeWord(v1::SourceGrade grade) {
  return grade == v1::SOURCE_GRADE_UNSPECIFIED
             ? "ungraded"
             : absl::StrCat("grade ", ShortName(grade));
}

}  // namespace

bool ReadsByOrganisation(const v1::ClaimView& claim) {
  if (!DefaultPolicy(claim.policy())) return true;
  return std::any_of(
      claim.evidence().begin(), claim.evidence().end(),
      [](const v1::EvidenceView& e) { return e.has_attribution(); });
}

std::string RenderIndependentSources(const v1::ClaimView& claim) {
  std::string out =
      SideLine("Supported",
               domain::IndependentGroups(claim, v1::STANCE_SUPPORTS)) +
      SideLine("Refuted", domain::IndependentGroups(claim, v1::STANCE_REFUTES));
  if (!DefaultPolicy(claim.policy())) {
    out += LabeledLines("Policy:", 8, PolicyText(claim.policy()));
  }
  return out;
}

std::string EvidenceSourceDetail(const v1::EvidenceView& e) {
  std::vector<std::string> parts;
  if (e.has_attribution()) {
    const v1::SourceAttribution& a = e.attribution();
    std::string who = a.source_name();
    if (a.organisation_id() != a.source_id()) {
      absl::StrAppend(&who, " (", a.organisation_name(), ")");
    }
    parts.push_back(absl::StrCat("registered as ", who, " [", a.source_id(),
                                 "], ", GradeWord(a.grade())));
  }
  if (e.credibility() > 0) {
    parts.push_back(absl::StrCat("credibility ", e.credibility()));
  }
  return absl::StrJoin(parts, "; ");
}

std::string RenderSource(const v1::GetSourceResponse& response) {
  const v1::SourceView& s = response.source();
  constexpr size_t kWidth = 14;
  std::string out;
  out += LabeledLines("Source", kWidth,
                      absl::StrCat(s.source_id(), "  (v", s.version(), ")"));
  out += LabeledLines("Name", kWidth, s.name());
  out += LabeledLines("Kind", kWidth, ShortName(s.kind()));
  if (!s.url().empty()) out += LabeledLines("URL", kWidth, s.url());
  out += LabeledLines(
      "Aliases", kWidth,
      s.aliases().empty() ? "-" : absl::StrJoin(s.aliases(), ", "));
  out += LabeledLines("Affiliation", kWidth,
                      s.parent_id().empty()
                          ? "-"
                          : absl::StrCat(s.parent_id(), " (top: ",
                                         response.organisation_name(), ")"));
  if (!response.member_ids().empty()) {
    out += LabeledLines("Members", kWidth,
                        absl::StrJoin(response.member_ids(), ", "));
  }
  out += LabeledLines("Grade", kWidth, GradeWord(s.grade()));
  for (const v1::SourceGradeView& g : s.grades()) {
    out += LabeledLines(
        "", kWidth,
        absl::StrCat(ShortName(g.grade()), "  ", FormatTime(g.graded_at()),
                     g.actor().empty() ? "" : " by ", g.actor(), ": ",
                     g.reason()));
  }
  const v1::SourceTrackRecord& t = response.track_record();
  out += LabeledLines(
      "Track record", kWidth,
      absl::StrCat("supported ", t.supported(), ", refuted ", t.refuted(),
                   " claims; ", t.rated(),
                   " rated since (agreed with the verdict ", t.agreed(),
                   ", disagreed ", t.disagreed(), ")"));
  out += LabeledLines(
      "Created", kWidth,
      absl::StrCat(FormatTime(s.created_at()),
                   s.created_by().empty() ? "" : " by ", s.created_by()));
  return out;
}

std::string RenderSourceList(const v1::ListSourcesResponse& page,
                             size_t screen_width) {
  Table table({{"SOURCE", 64, false, false, 0, /*id=*/true},
               {"KIND", 12},
               {"GRADE", 5},
               {"PARENT", 24, false, false, 0, /*id=*/true},
               {"NAME", kScreenWidth, /*flexible=*/true}});
  for (const v1::SourceView& s : page.sources()) {
    table.AddRow(
        {s.source_id(), ShortName(s.kind()),
         s.grade() == v1::SOURCE_GRADE_UNSPECIFIED ? "-" : ShortName(s.grade()),
         s.parent_id().empty() ? "-" : s.parent_id(), s.name()});
  }
  std::string out = table.Render(screen_width);
  out += LabeledLines("Policy:", 8, PolicyText(page.policy().policy()));
  return out;
}

std::string RenderSourceResult(absl::string_view action,
                               const v1::CommandResponse& r) {
  const std::string where =
      r.first_position() == r.last_position() || r.first_position() == 0
          ? absl::StrCat("position ", r.last_position())
          : absl::StrCat("positions ", r.first_position(), "-",
                         r.last_position());
  return absl::StrCat(action, r.source_id().empty() ? "" : " ", r.source_id(),
                      " v", r.version(), " (", where, ")",
                      r.deduplicated()
                          ? " (request already applied; nothing new recorded)"
                          : "",
                      "\n");
}

std::string RenderSuggestions(
    const std::vector<std::vector<std::string>>& groups) {
  if (groups.empty()) return "No names look like the same source.\n";
  std::string out;
  for (const std::vector<std::string>& group : groups) {
    out += absl::StrCat("same source? ", absl::StrJoin(group, " | "), "\n");
  }
  return out;
}

}  // namespace factlog::cli
