#include "client/format.h"

#include <google/protobuf/util/json_util.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace factlog::cli {
namespace {

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

std::string JsonList::Add(const google::protobuf::Message& message) {
  std::string line = JsonLine(message);
  if (lines_) return line;
  line.pop_back();  // the newline; the separator brings its own
  return absl::StrCat(count_++ == 0 ? "[\n" : ",\n", line);
}

std::string JsonList::Finish() const {
  if (lines_) return "";
  return count_ == 0 ? "[]\n" : "\n]\n";
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

std::string Sanitize(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string Pad(absl::string_view text, size_t width, bool align_right) {
  const size_t w = DisplayWidth(text);
  if (w >= width) return std::string(text);
  std::string fill(width - w, ' ');
  return align_right ? absl::StrCat(fill, text) : absl::StrCat(text, fill);
}

std::string StripTrailingSpaces(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
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

std::string LabeledLines(absl::string_view label, size_t label_width,
                         absl::string_view value) {
  const std::vector<std::string> lines =
      Wrap(value, kScreenWidth > label_width ? kScreenWidth - label_width : 0);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += StripTrailingSpaces(
        absl::StrCat(Pad(i == 0 ? label : "", label_width, false), lines[i]));
    out += '\n';
  }
  return out;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = Sanitize(cell);
  rows_.push_back(std::move(cells));
}

std::vector<size_t> Table::Widths(size_t screen_width) const {
  constexpr size_t kGap = 2;
  const size_t n = columns_.size();
  std::vector<size_t> widths(n);
  size_t natural = n > 0 ? kGap * (n - 1) : 0;
  for (size_t i = 0; i < n; ++i) {
    size_t w = DisplayWidth(columns_[i].header);
    for (const auto& row : rows_) w = std::max(w, DisplayWidth(row[i]));
    widths[i] = w;
    natural += w;
  }
  if (natural <= screen_width) return widths;  // everything fits
  // Caps apply only when the flexible column would be left less than a
  // comfortable width: on a wide terminal the other columns stay whole.
  constexpr size_t kFlexibleComfort = 40;
  size_t others = n > 0 ? kGap * (n - 1) : 0;
  bool has_flexible = false;
  for (size_t i = 0; i < n; ++i) {
    if (columns_[i].flexible) {
      has_flexible = true;
    } else {
      others += widths[i];
    }
  }
  const bool comfortable =
      has_flexible && others + kFlexibleComfort <= screen_width;
  for (size_t i = 0; i < n && !comfortable; ++i) {
    if (!columns_[i].id && !columns_[i].flexible) {
      widths[i] = std::min(widths[i], columns_[i].max_width);
    }
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
    if (c.flexible || c.id || c.min_width == 0 || widths[i] <= c.min_width) {
      continue;
    }
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
  return widths;
}

std::string Table::RenderRow(std::vector<std::string> cells,
                             const std::vector<size_t>& widths,
                             size_t screen_width) const {
  constexpr size_t kGap = 2;
  cells.resize(columns_.size());
  std::string line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) line += std::string(kGap, ' ');
    const bool cut = !columns_[i].id && screen_width != kNoWidthLimit;
    const std::string cell = Sanitize(cells[i]);
    line += Pad(cut ? Truncate(cell, widths[i]) : cell, widths[i],
                columns_[i].align_right);
  }
  return StripTrailingSpaces(std::move(line)) + "\n";
}

std::string Table::Render(size_t screen_width) const {
  const std::vector<size_t> widths = Widths(screen_width);
  std::vector<std::string> headers;
  for (const Column& c : columns_) headers.push_back(c.header);
  std::string out = RenderRow(headers, widths, screen_width);
  for (const auto& row : rows_) out += RenderRow(row, widths, screen_width);
  return out;
}

size_t OutputWidth(int fd) {
  constexpr size_t kMinColumns = 20;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    size_t n = 0;
    if (absl::SimpleAtoi(columns, &n) && n >= kMinColumns) return n;
  }
  if (::isatty(fd) == 0) return kNoWidthLimit;
  struct winsize size {};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col >= kMinColumns) {
    return size.ws_col;
  }
  return kScreenWidth;
}

}  // namespace factlog::cli
