#include "client/format_events.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/format_claims.h"
#include "client/values.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;
using factlog::v1::Event;

Table NewEventTable() {
  return Table({{"POS", 10, false, true},
                {"CLAIM", 64, false, false, 0, /*id=*/true},
                {"V", 6, false, true},
                {"TYPE", 18},
                {"DETAIL", kScreenWidth, /*flexible=*/true}});
}

}  // namespace

std::string EventTypeName(const Event& event) {
  switch (event.payload_case()) {
    case Event::kClaimRecorded:
      return "CLAIM_RECORDED";
    case Event::kEvidenceAdded:
      return "EVIDENCE_ADDED";
    case Event::kEvidenceWithdrawn:
      return "EVIDENCE_WITHDRAWN";
    case Event::kVerdictIssued:
      return "VERDICT_ISSUED";
    case Event::kClaimCorrected:
      return "CLAIM_CORRECTED";
    case Event::kClaimRetracted:
      return "CLAIM_RETRACTED";
    case Event::kClaimLinked:
      return "CLAIM_LINKED";
    case Event::kEvidenceReattributed:
      return "EVIDENCE_REATTRIBUTED";
    case Event::kSourceRegistered:
      return "SOURCE_REGISTERED";
    case Event::kSourceRenamed:
      return "SOURCE_RENAMED";
    case Event::kSourceAliasAdded:
      return "SOURCE_ALIAS_ADDED";
    case Event::kSourceAffiliated:
      return "SOURCE_AFFILIATED";
    case Event::kSourceGraded:
      return "SOURCE_GRADED";
    case Event::kDeskPolicySet:
      return "DESK_POLICY_SET";
    case Event::PAYLOAD_NOT_SET:
      break;
  }
  return "UNKNOWN";
}

namespace {

// EventDetail of the events a claim's history rarely shows: re-attributions
// and the registry's.
std::string SourceEventDetail(const Event& event) {
  switch (event.payload_case()) {
    case Event::kEvidenceReattributed: {
      std::vector<std::string> items;
      for (const auto& item : event.evidence_reattributed().evidence()) {
        items.push_back(absl::StrCat("[", item.evidence_id(), "] -> ",
                                     item.has_attribution()
                                         ? item.attribution().source_name()
                                         : "(unregistered)"));
      }
      return absl::StrJoin(items, ", ");
    }
    case Event::kSourceRegistered: {
      const auto& e = event.source_registered();
      return absl::StrCat(ShortName(e.kind()), " ", e.name(), " [",
                          event.source_id(), "]");
    }
    case Event::kSourceRenamed:
      return absl::StrCat("[", event.source_id(), "] ",
                          event.source_renamed().previous(), " -> ",
                          event.source_renamed().name());
    case Event::kSourceAliasAdded:
      return absl::StrCat("[", event.source_id(), "] alias ",
                          event.source_alias_added().alias());
    case Event::kSourceAffiliated: {
      const std::string& parent = event.source_affiliated().parent_id();
      return absl::StrCat("[", event.source_id(), "] -> ",
                          parent.empty() ? "(independent)" : parent);
    }
    case Event::kSourceGraded:
      return absl::StrCat("[", event.source_id(), "] ",
                          ShortName(event.source_graded().grade()), ": ",
                          event.source_graded().reason());
    case Event::kDeskPolicySet: {
      const auto& p = event.desk_policy_set().policy();
      return absl::StrCat(
          "min ", std::max<uint32_t>(1, p.min_independent_sources()),
          " independent", p.ignore_unreliable() ? ", E/F ignored" : "", ": ",
          event.desk_policy_set().reason());
    }
    default:
      return "";
  }
}

}  // namespace

std::string EventDetail(const Event& event) {
  switch (event.payload_case()) {
    case Event::kClaimRecorded: {
      const auto& e = event.claim_recorded();
      return absl::StrCat(ShortName(e.kind()), " by ", e.claimant(), ": ",
                          e.text());
    }
    case Event::kEvidenceAdded: {
      const auto& e = event.evidence_added();
      return absl::StrCat(ShortName(e.stance()), " ", SourceName(e.source()),
                          " [", e.evidence_id(), "]");
    }
    case Event::kEvidenceWithdrawn: {
      const auto& e = event.evidence_withdrawn();
      return absl::StrCat("[", e.evidence_id(), "] ", e.reason());
    }
    case Event::kVerdictIssued: {
      const auto& e = event.verdict_issued();
      return absl::StrCat(ShortName(e.rating()),
                          e.reviewer().empty() ? "" : " by ", e.reviewer());
    }
    case Event::kClaimCorrected: {
      const auto& e = event.claim_corrected();
      std::vector<std::string> fields;
      if (e.has_text()) fields.push_back("text");
      if (e.has_subject()) fields.push_back("subject");
      if (e.has_tags()) fields.push_back("tags");
      if (e.has_due_at() || e.due_at_cleared()) fields.push_back("due");
      return absl::StrCat(absl::StrJoin(fields, ", "), ": ", e.reason());
    }
    case Event::kClaimRetracted:
      return event.claim_retracted().reason();
    case Event::kClaimLinked: {
      const auto& e = event.claim_linked();
      const bool incoming =
          e.direction() == factlog::v1::LINK_DIRECTION_INCOMING;
      return absl::StrCat(incoming ? "<- " : "-> ", e.other_claim_id(), " ",
                          ShortName(e.relation()));
    }
    default:
      return SourceEventDetail(event);
  }
}

std::string RenderHistory(const std::vector<Event>& events,
                          size_t screen_width) {
  Table table({{"V", 6, false, true},
               {"POS", 10, false, true},
               {"RECORDED", 20},
               {"TYPE", 18},
               {"DETAIL", kScreenWidth, true}});
  for (const Event& e : events) {
    table.AddRow({absl::StrCat(e.version()), absl::StrCat(e.position()),
                  FormatTime(e.recorded_at()), EventTypeName(e),
                  EventDetail(e)});
  }
  return table.Render(screen_width);
}

EventTable::EventTable(size_t screen_width)
    : screen_width_(screen_width), table_(NewEventTable()) {}

std::string EventTable::Add(const Event& event) {
  std::vector<std::string> cells = {
      absl::StrCat(event.position()), event.claim_id(),
      absl::StrCat(event.version()), EventTypeName(event), EventDetail(event)};
  if (!widths_.empty()) {
    return table_.RenderRow(std::move(cells), widths_, screen_width_);
  }
  table_.AddRow(std::move(cells));
  if (table_.row_count() < kLayoutRows) return "";
  return Finish();
}

std::string EventTable::Finish() {
  if (!widths_.empty() || table_.row_count() == 0) return "";
  widths_ = table_.Widths(screen_width_);
  std::string out = table_.Render(screen_width_);
  table_ = NewEventTable();  // the rows are out; keep only the columns
  return out;
}

std::string WatchDescription(const Event& event) {
  switch (event.payload_case()) {
    case Event::kClaimRecorded:
      return absl::StrCat("claim recorded: ", event.claim_recorded().text());
    case Event::kEvidenceAdded: {
      const auto& e = event.evidence_added();
      return absl::StrCat("evidence added ", e.evidence_id(), " ",
                          ShortName(e.stance()), " by ",
                          SourceName(e.source()));
    }
    case Event::kEvidenceWithdrawn: {
      const auto& e = event.evidence_withdrawn();
      return absl::StrCat("evidence withdrawn ", e.evidence_id(),
                          e.reason().empty() ? "" : ": ", e.reason());
    }
    case Event::kVerdictIssued: {
      const auto& e = event.verdict_issued();
      return absl::StrCat("verdict ", ShortName(e.rating()),
                          e.reviewer().empty() ? "" : " by ", e.reviewer());
    }
    case Event::kClaimCorrected:
      return absl::StrCat("corrected ", EventDetail(event));
    case Event::kClaimRetracted: {
      const std::string& reason = event.claim_retracted().reason();
      return absl::StrCat("retracted", reason.empty() ? "" : ": ", reason);
    }
    case Event::kClaimLinked: {
      const auto& e = event.claim_linked();
      const bool incoming =
          e.direction() == factlog::v1::LINK_DIRECTION_INCOMING;
      return absl::StrCat("linked ", ShortName(e.relation()),
                          incoming ? " <- " : " -> ", e.other_claim_id());
    }
    case Event::PAYLOAD_NOT_SET:
      break;
    default:
      return absl::StrCat(absl::AsciiStrToLower(EventTypeName(event)), " ",
                          SourceEventDetail(event));
  }
  return "unknown event";
}

std::string WatchLine(const Event& event, v1::ClaimStatus status_after,
                      v1::Rating rating_after, size_t screen_width) {
  constexpr size_t kPositionWidth = 5;  // grows for positions past 99999
  constexpr size_t kMinDescription = 12;
  const std::string head = absl::StrCat(
      Pad(absl::StrCat(event.position()), kPositionWidth, true), " ",
      FormatTime(event.recorded_at()), " ",
      // A registry event names its source (the desk policy's: nothing).
      Sanitize(event.claim_id().empty() ? event.source_id() : event.claim_id()),
      " ");
  const std::string tail =
      status_after == v1::CLAIM_STATUS_UNSPECIFIED
          ? ""
          : absl::StrCat(" \u2192 ", ShortName(status_after),
                         status_after == v1::CLAIM_STATUS_RATED &&
                                 rating_after != v1::RATING_UNSPECIFIED
                             ? absl::StrCat(" ", ShortName(rating_after))
                             : "");
  const size_t used = DisplayWidth(head) + DisplayWidth(tail);
  const size_t room = screen_width > used ? screen_width - used : 0;
  return absl::StrCat(
      head, Truncate(WatchDescription(event), std::max(room, kMinDescription)),
      tail, "\n");
}

std::string OverdueLines(const v1::ClaimOverdue& notice, size_t screen_width) {
  constexpr size_t kMinDescription = 12;
  const std::string head =
      absl::StrCat("OVERDUE ", Sanitize(notice.claim_id()), " ");
  std::string description =
      absl::StrCat(ShortName(notice.kind()), " by ", notice.claimant(),
                   ", due ", FormatTime(notice.due_at()));
  if (!notice.text().empty())
    absl::StrAppend(&description, ": ", notice.text());
  const size_t used = DisplayWidth(head);
  const size_t room = screen_width > used ? screen_width - used : 0;
  return absl::StrCat(
      head, Truncate(description, std::max(room, kMinDescription)), "\n",
      "        since ", FormatTime(notice.overdue_at()), " at position ",
      notice.position(), "; resume with --overdue-after ",
      FormatOverdueCursor(notice.cursor()), "\n");
}

namespace {

// What an event did to the story, for a timeline row.
std::string TimelineCause(const Event& event) {
  if (event.has_claim_recorded()) {
    return absl::StrCat("asserted by ", event.claim_recorded().claimant());
  }
  if (event.has_evidence_added()) {
    const auto& e = event.evidence_added();
    return absl::StrCat(ShortName(e.stance()), " by ", SourceName(e.source()),
                        e.has_observed_at() ? "" : " (at recorded time)");
  }
  return WatchDescription(event);
}

}  // namespace

std::string RenderTimeline(const factlog::v1::ClaimTimeline& timeline,
                           size_t screen_width) {
  Table table(
      {{"FROM", 30}, {"STATUS", 19}, {"WHAT HAPPENED", kScreenWidth, true}});
  std::vector<std::string> story;
  for (const factlog::v1::TimelineStep& step : timeline.steps()) {
    std::string status = ShortName(step.status());
    if (step.rating() != factlog::v1::RATING_UNSPECIFIED) {
      absl::StrAppend(&status, " ", ShortName(step.rating()));
    }
    std::vector<std::string> causes;
    for (const Event& e : step.causes()) causes.push_back(TimelineCause(e));
    if (causes.empty()) causes.push_back("due date passed");
    table.AddRow(
        {FormatTime(step.from()), status, absl::StrJoin(causes, "; ")});
    story.push_back(absl::StrCat(status, " from ", FormatTime(step.from())));
  }
  std::string out = absl::StrCat("Timeline of ", timeline.claim_id(),
                                 " (valid time: when things happened)\n",
                                 table.Render(screen_width), "\n",
                                 absl::StrJoin(story, "; "), "\n");
  if (timeline.evidence_placed_by_recorded_time() > 0) {
    absl::StrAppend(&out, timeline.evidence_placed_by_recorded_time(),
                    " evidence item(s) without an observed time placed by "
                    "when they were recorded\n");
  }
  return out;
}

}  // namespace factlog::cli
