// Rendering of factlog messages for people (tables that fit 80 columns) and
// for programs (the proto's canonical JSON mapping, one object per line).
//
// Every function returns the text to print, ending in a newline unless it is
// empty; none does I/O. Times are shown as UTC ISO 8601 to the second
// ("2014-05-19T10:00:00Z"), enum values by their short name
// ("CONTRADICTED"). Text longer than its column is truncated with "…" or
// wrapped; widths count UTF-8 code points.
#ifndef FACTLOG_CLIENT_FORMAT_H_
#define FACTLOG_CLIENT_FORMAT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::cli {

inline constexpr size_t kScreenWidth = 80;

// ---- JSON -------------------------------------------------------------------

// The canonical proto3 JSON of `message` (camelCase names, enums by full
// name, defaults omitted) on one line, with a trailing newline.
std::string JsonLine(const google::protobuf::Message& message);

// ---- Text helpers
// -------------------------------------------------------------

// "2014-05-19T10:00:00Z"; "-" when `ts` is unset (all zero).
std::string FormatTime(const google::protobuf::Timestamp& ts);

// Number of UTF-8 code points in `text`.
size_t DisplayWidth(absl::string_view text);

// `text` with control characters turned into spaces, cut to at most
// `width` code points; a cut ends in "…".
std::string Truncate(absl::string_view text, size_t width);

// `text` broken into lines of at most `width` code points at spaces (a word
// longer than a line is split). Never returns an empty vector.
std::vector<std::string> Wrap(absl::string_view text, size_t width);

// A table with a header row, columns separated by two spaces. Each column is
// as wide as its widest cell, up to its cap; the flexible column (at most
// one) takes what is left of the screen width, but at least 10 columns.
// When that leaves the flexible column less than it needs, columns with a
// min_width give up room, rightmost first, down to their min_width. Cells
// that do not fit are truncated. A row is wider than the screen only when
// the columns that may not shrink leave no room.
class Table {
 public:
  struct Column {
    std::string header;
    size_t max_width = kScreenWidth;
    bool flexible = false;
    bool align_right = false;
    size_t min_width = 0;  // 0 = never narrower than its cells (up to cap)
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  void AddRow(std::vector<std::string> cells);
  size_t row_count() const { return rows_.size(); }
  std::string Render(size_t screen_width = kScreenWidth) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// ---- Domain views
// ---------------------------------------------------------------

// "CONTRADICTED", or "RATED FALSE" when a verdict is in force.
std::string StatusText(const factlog::v1::ClaimView& claim);

// The claim's fields, status and verdict, then the evidence as a timeline
// ordered by observed_at ("+" supports, "-" refutes, "~" context; withdrawn
// pieces marked), "Supported by:" / "Refuted by:", links and corrections.
std::string RenderClaim(const factlog::v1::ClaimView& claim);

// One row per claim: id, status, claimant, text.
std::string RenderClaimList(const std::vector<factlog::v1::ClaimView>& claims);

// The one line a mutating command prints, e.g.
// "recorded claim putin-orders v1 (position 12) status UNVERIFIED".
// `action` is the verb phrase before the claim id ("recorded claim",
// "added evidence e2 to claim"), `detail` what follows it ("-> other
// (REPEATS)"). A deduplicated response says that nothing new was recorded.
std::string RenderCommandResult(absl::string_view action,
                                const factlog::v1::CommandResponse& response,
                                absl::string_view detail = "");

// "CLAIM_RECORDED", "EVIDENCE_ADDED", ... from the event's payload.
// The possible repeats a RecordClaim found (CommandResponse.similar_claims),
// one line each, under a heading; "" when there are none.
std::string RenderSimilarClaims(const factlog::v1::CommandResponse& response);

std::string EventTypeName(const factlog::v1::Event& event);

// A one-line summary of the event's payload ("REFUTES NATO [e2]").
std::string EventDetail(const factlog::v1::Event& event);

// A claim's history: one row per event (version, position, time, type,
// detail).
std::string RenderHistory(const std::vector<factlog::v1::Event>& events);

// The events command prints rows as they arrive, so its columns are fixed.
std::string EventsHeader();
std::string EventRow(const factlog::v1::Event& event);

// One line of `factlog watch` for an event, e.g.
//   "   31 2014-05-20T09:00:00Z refuted evidence added e1 REFUTES… → RATED"
// The position and the claim id are never cut; the description is truncated
// to fit `screen_width`, but keeps at least 12 columns (so a very long claim
// id makes the line wider). " → STATUS" is appended when `status_after` is
// known (not UNSPECIFIED).
std::string WatchLine(const factlog::v1::Event& event,
                      factlog::v1::ClaimStatus status_after,
                      size_t screen_width = kScreenWidth);

// Two lines of `factlog watch` for an overdue notice: the claim, e.g.
//   "OVERDUE late PROMISE by Kremlin, due 2014-06-01T00:00:00Z: Troops w…"
// cut to `screen_width` (never the id), then, indented, since when, the
// position and the cursor to resume after it (never cut):
//   "        since 2026-11-25T15:10:11Z at position 3; resume with
//   --overdue-after 2026-11-25T15:10:11.123456789Z/late" (one line).
std::string OverdueLines(const factlog::v1::ClaimOverdue& notice,
                         size_t screen_width = kScreenWidth);

// What an event did, in words, for WatchLine: "claim recorded: <text>",
// "evidence added e1 REFUTES by NATO", "verdict FALSE by Desk A",
// "linked REPEATS -> other", ...
std::string WatchDescription(const factlog::v1::Event& event);

// "512 B", "1.5 KiB", "12.0 MiB", ...
std::string HumanBytes(uint64_t bytes);

// AdminService.GetStats: last position, disk and hub usage, then one row
// per subscriber (id, peer, position, lag, live, events sent).
std::string RenderStats(const factlog::v1::GetStatsResponse& stats);

// A claimant's track record.
std::string RenderClaimant(const factlog::v1::ClaimantView& claimant);

// One row per subject: name, number of claims, claims by status.
std::string RenderSubjects(
    const std::vector<factlog::v1::SubjectSummary>& subjects);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_H_
