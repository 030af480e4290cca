// The text primitives every rendering of factlog messages is built from:
// the proto's canonical JSON (for programs), times, and width-aware text and
// tables (for people) that fit the terminal and are never cut when piped.
//
// What is rendered from them lives next to its noun: format_claims.h (claims,
// command results, claimants, subjects), format_events.h (event rows, claim
// history, watch lines) and format_stats.h (server statistics).
//
// Every function returns the text to print, ending in a newline unless it is
// empty or says otherwise; none does I/O. All are pure and safe to call from
// any thread, except OutputWidth(), which asks the terminal. Times are shown
// as UTC ISO 8601 to the second ("2014-05-19T10:00:00Z"). Text longer than
// its column is truncated with "…" or wrapped; widths count UTF-8 code
// points. Claim and evidence ids are never cut.
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

// The width prose (a claim's text, notes) is wrapped to, and the default
// of the functions that take a screen width.
inline constexpr size_t kScreenWidth = 80;
// A screen width that cuts nothing: output that is not a terminal.
inline constexpr size_t kNoWidthLimit = static_cast<size_t>(-1);

// The width tables and lines printed on file descriptor `fd` must fit: the
// COLUMNS environment variable when it holds a number of at least 20 (set
// it to choose), else the terminal's width when `fd` is a terminal, else
// kNoWidthLimit (piped or redirected: nothing is cut).
size_t OutputWidth(int fd);

// ---- JSON -------------------------------------------------------------------

// The canonical proto3 JSON of `message` (camelCase names, enums by full
// name, defaults omitted) on one line, with a trailing newline. Throws
// std::runtime_error when the message cannot be rendered.
std::string JsonLine(const google::protobuf::Message& message);

// A list of messages as `-o json` prints it, one JSON document (an array,
// one message per line: "[\n{...},\n{...}\n]\n"; "[]\n" when empty), or
// as `-o jsonl` does, JSON Lines (JsonLine per message), built as the
// messages arrive. A value; not thread-safe.
class JsonList {
 public:
  explicit JsonList(bool lines) : lines_(lines) {}
  // The text to print for the next message.
  std::string Add(const google::protobuf::Message& message);
  // The text that ends the list (the array's end; "" for JSON Lines).
  std::string Finish() const;

 private:
  bool lines_;
  size_t count_ = 0;
};

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

// `label` padded to `label_width`, then `value` wrapped to the rest of
// kScreenWidth; the lines after the first are indented by `label_width`:
//   "Text         first line\n             next line\n"
// Trailing spaces are stripped from every line.
std::string LabeledLines(absl::string_view label, size_t label_width,
                         absl::string_view value);

// ---- Tables -----------------------------------------------------------------

// A table with a header row, columns separated by two spaces. When every
// cell fits the screen width, each column is as wide as its widest cell.
// Otherwise the flexible column (at most one) takes what is left of the
// screen width, but at least 10 columns; the other columns are as wide as
// their widest cell, up to their cap when that would leave the flexible
// column less than 40; when that leaves the flexible column less than it
// needs, columns with a min_width give up room, rightmost first, down to
// their min_width. Cells that do not fit are truncated, except in `id`
// columns, which always take their widest cell. A row is wider than the
// screen only when the columns that may not shrink leave no room. With
// kNoWidthLimit nothing is cut. A value; not thread-safe.
class Table {
 public:
  struct Column {
    std::string header;
    size_t max_width = kScreenWidth;
    bool flexible = false;
    bool align_right = false;
    size_t min_width = 0;  // 0 = never narrower than its cells (up to cap)
    bool id = false;       // never cut, never capped
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Adds a row; missing cells are empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t row_count() const { return rows_.size(); }
  // The width of each column for the rows so far (see above).
  std::vector<size_t> Widths(size_t screen_width) const;
  // The header and every row, one line each.
  std::string Render(size_t screen_width) const;
  // One line of `cells` in columns of `widths` (from Widths()): cells wider
  // than their column are cut, unless the column is an id column or
  // `screen_width` is kNoWidthLimit. For rows that arrive after the widths
  // were settled.
  std::string RenderRow(std::vector<std::string> cells,
                        const std::vector<size_t>& widths,
                        size_t screen_width) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_FORMAT_H_
