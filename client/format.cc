#include "client/format.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/values.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;
using factlog::v1::ClaimView;
using factlog::v1::CommandResponse;
using factlog::v1::CorrectionView;
using factlog::v1::Event;
using factlog::v1::EvidenceView;
using factlog::v1::LinkView;
using factlog::v1::Source;
using factlog::v1::StatusCount;

constexpr size_t kLabelWidth = 13;  // "Reported by" plus two spaces
constexpr absl::string_view kEllipsis = "\u2026";

bool IsContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Byte offset just past the first `n` code points of `text`.
size_t PrefixBytes(absl::string_view text, size_t n) {
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsContinuationByte(text[i])) {
      if (points == n) return i;
      ++points;
    }
  }
  return text.size();
}

std::string Sanitize(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string Pad(absl::string_view text, size_t width, bool right) {
  const size_t w = DisplayWidth(text);
  if (w >= width) return std::string(text);
  std::string fill(width - w, ' ');
  return right ? absl::StrCat(fill, text) : absl::StrCat(text, fill);
}

std::string RStrip(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// "label        first line\n             next line\n..."
std::string Field(absl::string_view label, absl::string_view value) {
  const std::vector<std::string> lines =
      Wrap(value.empty() ? "-" : value, kScreenWidth - kLabelWidth);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += RStrip(
        absl::StrCat(Pad(i == 0 ? label : "", kLabelWidth, false), lines[i]));
    out += '\n';
  }
  return out;
}

// `text` wrapped to the screen, each line indented by `indent` spaces.
std::string Indented(absl::string_view text, size_t indent) {
  std::string out;
  for (const std::string& line : Wrap(text, kScreenWidth - indent)) {
    out += RStrip(absl::StrCat(std::string(indent, ' '), line));
    out += '\n';
  }
  return out;
}

// "Dmitry Peskov, CNN"
std::string SourceName(const Source& source) {
  std::string out = source.name().empty() ? "(unnamed)" : source.name();
  if (!source.outlet().empty()) absl::StrAppend(&out, ", ", source.outlet());
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

std::string SourcesLine(
    absl::string_view label,
    const google::protobuf::RepeatedPtrField<std::string>& names) {
  constexpr size_t kWidth = 14;  // "Supported by: "
  const std::string value =
      names.empty() ? "(none)" : absl::StrJoin(names, ", ");
  const std::vector<std::string> lines = Wrap(value, kScreenWidth - kWidth);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out +=
        RStrip(absl::StrCat(Pad(i == 0 ? label : "", kWidth, false), lines[i]));
    out += '\n';
  }
  return out;
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
    // line of its own: neither the source nor the id is cut needlessly.
    const std::string source = SourceName(e->source());
    const std::string id = absl::StrCat("[", e->evidence_id(), "]");
    const std::string withdrawn = e->withdrawn() ? " (withdrawn)" : "";
    const size_t one_line = DisplayWidth(head) + DisplayWidth(source) + 1 +
                            DisplayWidth(id) + DisplayWidth(withdrawn);
    if (one_line <= kScreenWidth) {
      out += absl::StrCat(head, source, " ", id, withdrawn, "\n");
    } else {
      const size_t used = DisplayWidth(head) + DisplayWidth(withdrawn);
      out += RStrip(absl::StrCat(
          head, Truncate(source, used < kScreenWidth ? kScreenWidth - used : 0),
          withdrawn));
      out += '\n';
      out += absl::StrCat(std::string(kDetailIndent, ' '),
                          Truncate(id, kScreenWidth - kDetailIndent), "\n");
    }
    if (!e->note().empty()) out += Indented(e->note(), kDetailIndent);
    if (!e->source().url().empty()) {
      out += absl::StrCat(
          std::string(kDetailIndent, ' '),
          Truncate(e->source().url(), kScreenWidth - kDetailIndent), "\n");
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
    out += absl::StrCat(
        arrow,
        Truncate(link.other_claim_id(),
                 kScreenWidth - DisplayWidth(arrow) - DisplayWidth(tail)),
        tail, "\n");
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
      out += absl::StrCat(
          "      ",
          Truncate(absl::StrCat("was ", what, ": ", value), kScreenWidth - 6),
          "\n");
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

std::string StatusCounts(
    const google::protobuf::RepeatedPtrField<StatusCount>& counts) {
  std::vector<std::string> parts;
  for (const StatusCount& c : counts) {
    parts.push_back(absl::StrCat(ShortName(c.status()), " ", c.count()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

}  // namespace

std::string JsonLine(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    throw std::runtime_error(
        absl::StrCat("cannot render JSON: ", status.ToString()));
  }
  json += '\n';
  return json;
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

size_t DisplayWidth(absl::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if (!IsContinuationByte(c)) ++n;
  }
  return n;
}

std::string Truncate(absl::string_view text, size_t width) {
  std::string clean = Sanitize(text);
  if (DisplayWidth(clean) <= width) return clean;
  if (width == 0) return "";
  clean.resize(PrefixBytes(clean, width - 1));
  return absl::StrCat(clean, kEllipsis);
}

std::vector<std::string> Wrap(absl::string_view text, size_t width) {
  width = std::max<size_t>(width, 1);
  std::vector<std::string> lines;
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    const std::string clean = Sanitize(paragraph);
    std::string line;
    size_t line_width = 0;
    for (absl::string_view word :
         absl::StrSplit(clean, ' ', absl::SkipEmpty())) {
      size_t word_width = DisplayWidth(word);
      if (line_width > 0 && line_width + 1 + word_width <= width) {
        absl::StrAppend(&line, " ", word);
        line_width += 1 + word_width;
        continue;
      }
      if (line_width > 0) {
        lines.push_back(std::move(line));
        line.clear();
        line_width = 0;
      }
      while (word_width > width) {  // split a word longer than a line
        const size_t cut = PrefixBytes(word, width);
        lines.emplace_back(word.substr(0, cut));
        word.remove_prefix(cut);
        word_width -= width;
      }
      line = std::string(word);
      line_width = word_width;
    }
    if (line_width > 0 || lines.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = Sanitize(cell);
  rows_.push_back(std::move(cells));
}

std::string Table::Render(size_t screen_width) const {
  constexpr size_t kGap = 2;
  const size_t n = columns_.size();
  std::vector<size_t> widths(n);
  for (size_t i = 0; i < n; ++i) {
    size_t w = DisplayWidth(columns_[i].header);
    for (const auto& row : rows_) w = std::max(w, DisplayWidth(row[i]));
    widths[i] = std::min(w, columns_[i].max_width);
  }
  constexpr size_t kFlexibleMin = 10;
  size_t fixed = n > 0 ? kGap * (n - 1) : 0;
  size_t flexible_needs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (columns_[i].flexible) {
      flexible_needs = std::min(widths[i], kFlexibleMin);
    } else {
      fixed += widths[i];
    }
  }
  // Too wide: shrinkable columns give up room, rightmost first.
  for (size_t i = n; i-- > 0 && fixed + flexible_needs > screen_width;) {
    const Column& c = columns_[i];
    if (c.flexible || c.min_width == 0 || widths[i] <= c.min_width) continue;
    const size_t take = std::min(widths[i] - c.min_width,
                                 fixed + flexible_needs - screen_width);
    widths[i] -= take;
    fixed -= take;
  }
  for (size_t i = 0; i < n; ++i) {
    if (columns_[i].flexible) {
      const size_t room = screen_width > fixed ? screen_width - fixed : 0;
      widths[i] = std::min(widths[i], std::max(room, kFlexibleMin));
    }
  }
  auto render_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) line += std::string(kGap, ' ');
      line += Pad(Truncate(cells[i], widths[i]), widths[i],
                  columns_[i].align_right);
    }
    return RStrip(std::move(line)) + "\n";
  };
  std::vector<std::string> headers;
  for (const Column& c : columns_) headers.push_back(c.header);
  std::string out = render_row(headers);
  for (const auto& row : rows_) out += render_row(row);
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
  out += SourcesLine("Supported by:", claim.supporting_sources());
  out += SourcesLine("Refuted by:", claim.refuting_sources());
  const std::string links = RenderLinks(claim);
  if (!links.empty()) absl::StrAppend(&out, "\n", links);
  const std::string corrections = RenderCorrections(claim);
  if (!corrections.empty()) absl::StrAppend(&out, "\n", corrections);
  return out;
}

std::string RenderClaimList(const std::vector<ClaimView>& claims) {
  // Ids are what a reader copies into the next command: never cut (slugs
  // have at most 64 characters), the claimant and the text give way.
  Table table({{"CLAIM", 64},
               {"STATUS", 19},
               {"CLAIMANT", 14, false, false, /*min_width=*/8},
               {"TEXT", kScreenWidth, /*flexible=*/true}});
  for (const ClaimView& c : claims) {
    table.AddRow({c.claim_id(), StatusText(c), c.claimant(), c.text()});
  }
  return table.Render();
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
  if (response.similar_claims().empty()) return "";
  std::string out =
      "possible repeats (same claimant and subject, most similar first):\n";
  for (const factlog::v1::SimilarClaim& s : response.similar_claims()) {
    absl::StrAppend(
        &out, absl::StrFormat("  %-38s %.2f  %-12s %s  %s\n", s.claim_id(),
                              s.similarity(), ShortName(s.status()),
                              FormatTime(s.asserted_at()).substr(0, 10),
                              Truncate(s.text(), 60)));
  }
  return out;
}

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
    case Event::PAYLOAD_NOT_SET:
      break;
  }
  return "UNKNOWN";
}

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
    case Event::PAYLOAD_NOT_SET:
      break;
  }
  return "";
}

std::string RenderHistory(const std::vector<Event>& events) {
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
  return table.Render();
}

namespace {
// Fixed widths for streamed event rows: position, claim, version, type.
constexpr size_t kPosWidth = 7, kClaimWidth = 22, kVersionWidth = 3,
                 kTypeWidth = 18;

std::string EventLine(absl::string_view pos, absl::string_view claim,
                      absl::string_view version, absl::string_view type,
                      absl::string_view detail) {
  constexpr size_t kDetailWidth =
      kScreenWidth - (kPosWidth + kClaimWidth + kVersionWidth + kTypeWidth) -
      4 * 2;
  return RStrip(absl::StrCat(
             Pad(Truncate(pos, kPosWidth), kPosWidth, true), "  ",
             Pad(Truncate(claim, kClaimWidth), kClaimWidth, false), "  ",
             Pad(Truncate(version, kVersionWidth), kVersionWidth, true), "  ",
             Pad(Truncate(type, kTypeWidth), kTypeWidth, false), "  ",
             Truncate(detail, kDetailWidth))) +
         "\n";
}
}  // namespace

std::string EventsHeader() {
  return EventLine("POS", "CLAIM", "V", "TYPE", "DETAIL");
}

std::string EventRow(const Event& event) {
  return EventLine(absl::StrCat(event.position()), event.claim_id(),
                   absl::StrCat(event.version()), EventTypeName(event),
                   EventDetail(event));
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
  }
  return "unknown event";
}

std::string WatchLine(const Event& event, v1::ClaimStatus status_after,
                      size_t screen_width) {
  constexpr size_t kPositionWidth = 5;  // grows for positions past 99999
  constexpr size_t kMinDescription = 12;
  const std::string head = absl::StrCat(
      Pad(absl::StrCat(event.position()), kPositionWidth, true), " ",
      FormatTime(event.recorded_at()), " ", Sanitize(event.claim_id()), " ");
  const std::string tail =
      status_after == v1::CLAIM_STATUS_UNSPECIFIED
          ? ""
          : absl::StrCat(" \u2192 ", ShortName(status_after));
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

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string RenderStats(const v1::GetStatsResponse& stats) {
  auto line = [](absl::string_view label, absl::string_view value) {
    return absl::StrCat(Pad(label, 15, false), value, "\n");
  };
  std::string out;
  out += line("Last position", absl::StrCat(stats.last_position()));
  out += line("Disk", absl::StrCat(HumanBytes(stats.disk_bytes()), " (",
                                   stats.disk_bytes(), " bytes)"));
  out += line("Hub window",
              absl::StrCat(stats.hub_window_events(), " events, ",
                           HumanBytes(stats.hub_bytes()), " accounted"));
  out += line("Subscribers", absl::StrCat(stats.subscribers()));
  // The counters of /metrics, since the server started.
  auto wrapped = [&line](absl::string_view label, absl::string_view value) {
    std::string text;
    for (const std::string& part : Wrap(value, kScreenWidth - 15)) {
      text += line(text.empty() ? label : "", part);
    }
    return text;
  };
  auto counts = [](const google::protobuf::Map<std::string, uint64_t>& map) {
    const std::map<std::string, uint64_t> sorted(map.begin(), map.end());
    std::vector<std::string> parts;
    for (const auto& [key, n] : sorted)
      parts.push_back(absl::StrCat(key, " ", n));
    return absl::StrJoin(parts, ", ");
  };
  auto ms = [](double seconds) {
    return absl::StrFormat("%.2f ms", seconds * 1000);
  };
  uint64_t refused = 0;
  for (const auto& [code, n] : stats.rejections_by_code()) refused += n;
  if (stats.has_started_at()) {
    out += line("Since", FormatTime(stats.started_at()));
  }
  out += line("Commands", absl::StrCat(stats.commands_applied(), " applied, ",
                                       stats.commands_deduplicated(),
                                       " deduplicated, ", refused, " refused"));
  if (refused > 0) {
    out += wrapped("Refused", counts(stats.rejections_by_code()));
  }
  out +=
      wrapped("Events", absl::StrCat(stats.events_appended(), " appended",
                                     stats.events_by_type().empty() ? "" : ": ",
                                     counts(stats.events_by_type())));
  out += line("Commits", absl::StrCat(stats.commits(), "; write+fsync p50 ",
                                      ms(stats.commit_p50_seconds()), ", p99 ",
                                      ms(stats.commit_p99_seconds())));
  std::string writes = "writes flowing";
  if (stats.rocksdb_write_stopped()) {
    writes = "writes STOPPED";
  } else if (stats.rocksdb_delayed_write_rate() > 0) {
    writes = absl::StrCat("writes slowed to ",
                          HumanBytes(stats.rocksdb_delayed_write_rate()), "/s");
  }
  out += wrapped(
      "RocksDB",
      absl::StrCat(HumanBytes(stats.rocksdb_pending_compaction_bytes()),
                   " pending compaction; ", writes,
                   "; stalls: ", stats.rocksdb_write_stops(), " stops, ",
                   stats.rocksdb_write_slowdowns(), " slowdowns, ",
                   ms(stats.rocksdb_write_stall_micros() / 1e6)));
  out += line("Memory", absl::StrCat(HumanBytes(stats.resident_memory_bytes()),
                                     " resident"));
  if (stats.subscriber().empty()) return out;
  Table table({{"ID", 8, false, true},
               {"PEER", kScreenWidth, true},
               {"POSITION", 12, false, true},
               {"LAG", 12, false, true},
               {"LIVE", 4},
               {"SENT", 12, false, true}});
  for (const v1::SubscriberStats& s : stats.subscriber()) {
    table.AddRow({absl::StrCat(s.id()), s.peer(), absl::StrCat(s.position()),
                  absl::StrCat(s.lag()), s.live() ? "yes" : "no",
                  absl::StrCat(s.events_sent())});
  }
  absl::StrAppend(&out, "\n", table.Render());
  return out;
}

namespace {

// "FALSE 3, MOSTLY_FALSE 1", or "-".
std::string RatingCounts(
    const google::protobuf::RepeatedPtrField<factlog::v1::RatingCount>&
        counts) {
  std::vector<std::string> parts;
  for (const auto& r : counts) {
    parts.push_back(absl::StrCat(ShortName(r.rating()), " ", r.count()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ", ");
}

}  // namespace

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

std::string RenderSubjects(
    const std::vector<factlog::v1::SubjectSummary>& subjects) {
  Table table({{"SUBJECT", 40},
               {"CLAIMS", 8, false, true},
               {"BY STATUS", kScreenWidth, true}});
  for (const auto& s : subjects) {
    table.AddRow({s.subject(), absl::StrCat(s.claim_count()),
                  StatusCounts(s.by_status())});
  }
  return table.Render();
}

}  // namespace factlog::cli
