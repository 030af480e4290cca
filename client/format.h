// The text primitives every rendering of factlog messages is built from:
// the proto's canonical JSON (one object per line, for programs), times, and
// width-aware text and tables that fit 80 columns (for people).
//
// What is rendered from them lives next to its noun: format_claims.h (claims,
// command results, claimants, subjects), format_events.h (event rows, claim
// history, watch lines) and format_stats.h (server statistics).
//
// Every function returns the text to print, ending in a newline unless it is
// empty or says otherwise; none does I/O. All are pure and safe to call from
// any thread. Times are shown as UTC ISO 8601 to the second
// ("2014-05-19T10:00:00Z"). Text longer than its column is truncated with "…"
// or wrapped; widths count UTF-8 code points.
#ifndef FACTLOG_CLIENT_FORMAT_H_
#define FACTLOG_CLIENT_FORMAT_H_

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::cli {

inline constexpr size_t kScreenWidth = 80;

// ---- JSON -------------------------------------------------------------------

// The canonical proto3 JSON of `message` (camelCase names, enums by full
// name, defaults omitted) on one line, with a trailing newline. Throws
// std::runtime_error when the message cannot be rendered.
std::string JsonLine(const google::protobuf::Message& message);

// ---- Text -------------------------------------------------------------------

// "2014-05-19T10:00:00Z"; "-" when `ts` is unset (all zero). No newline.
std::string FormatTime(const google::protobuf::Timestamp& ts);

// Number of UTF-8 code points in `text`.
size_t DisplayWidth(absl::string_view text);

// `text` with control characters (below 0x20, and 0x7f) turned into spaces,
// so that a value cannot break a line or move the cursor.
std::string Sanitize(absl::string_view text);

// `text` padded with spaces to `width` code points, on the left when
// `align_right`; unchanged when it is already as wide. No newline.
std::string Pad(absl::string_view text, size_t width, bool align_right);

// `text` without its trailing spaces.
std::string StripTrailingSpaces(std::string text);

// `text` sanitized and cut to at most `width` code points; a cut ends in
// "…". No newline.
std::string Truncate(absl::string_view text, size_t width);

// `text` broken into lines of at most `width` code points at spaces (a word
// longer than a line is split). Never returns an empty vector.
std::vector<std::string> Wrap(absl::string_view text, size_t width);

// `label` padded to `label_width`, then `value` wrapped to the rest of the
// screen; the lines after the first are indented by `label_width`:
//   "Text         first line\n             next line\n"
// Trailing spaces are stripped from every line.
std::string LabeledLines(absl::string_view label, size_t label_width,
                         absl::string_view value);

// ---- Tables -----------------------------------------------------------------

// A table with a header row, columns separated by two spaces. Each column is
// as wide as its widest cell, up to its cap; the flexible column (at most
// one) takes what is left of the screen width, but at least 10 columns.
// When that leaves the flexible column less than it needs, columns with a
// min_width give up room, rightmost first, down to their min_width. Cells
// that do not fit are truncated. A row is wider than the screen only when
// the columns that may not shrink leave no room. A value; not thread-safe.
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

  // Adds a row; missing cells are empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t row_count() const { return rows_.size(); }
  // The header and every row, one line each.
  std::string Render(size_t screen_width = kScreenWidth) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_H_
