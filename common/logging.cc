#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace factlog::log {
namespace {

std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
std::atomic<int> format{static_cast<int>(Format::kText)};
std::function<void(absl::string_view)>* sink = nullptr;  // tests only

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(absl::string_view s, size_t i) {
  const unsigned char c = s[i];
  size_t len;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  uint32_t cp = c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = s[i + k];
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Appends `s` JSON-escaped, without quotes; with `quotes` false, quotes and
// backslashes stay as they are (a text line's message).
void AppendJsonEscaped(absl::string_view s, std::string* out,
                       bool quotes = true) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const size_t len = Utf8Length(s, i);
    if (len == 0) {
      *out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
      continue;
    }
    if (len > 1) {
      out->append(s.data() + i, len);
      i += len;
      continue;
    }
    if (!quotes && (c == '"' || c == '\\')) {
      *out += static_cast<char>(c);
      ++i;
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          *out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (c <= 0x20 || c == '"' || c == '=' || c == 0x7f || c >= 0x80) {
      return true;
    }
  }
  return false;
}

// Writes `value` as exactly `width` decimal digits, zero-padded, at `out`.
void PutDigits(int64_t value, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::string FormatTimestamp(absl::Time time) {
  // absl::FormatTime costs about 3k instructions, and every command logs a
  // line. Days since 1970-01-01 to a civil date: Howard Hinnant's
  // civil_from_days (proleptic Gregorian, eras of 400 years).
  constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
  const int64_t micros = absl::ToUnixMicros(time);
  int64_t days = micros / kMicrosPerDay;
  int64_t of_day = micros % kMicrosPerDay;
  if (of_day < 0) {
    of_day += kMicrosPerDay;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;  // [0, 146096]
  const int64_t yoe =
      (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;    // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                       // [0, 11]
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;             // [1, 31]
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;              // [1, 12]
  const int64_t year = yoe + era * 400 + (month <= 2);
  // Other years (infinite times among them) as absl writes them, e.g. year
  // 0 as "0".
  if (year < 1000 || year > 9999) {
    return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", time,
                            absl::UTCTimeZone());
  }
  std::string out = "0000-00-00T00:00:00.000000Z";
  PutDigits(year, 4, &out[0]);
  PutDigits(month, 2, &out[5]);
  PutDigits(day, 2, &out[8]);
  const int64_t seconds = of_day / 1000000;
  PutDigits(seconds / 3600, 2, &out[11]);
  PutDigits(seconds / 60 % 60, 2, &out[14]);
  PutDigits(seconds % 60, 2, &out[17]);
  PutDigits(of_day % 1000000, 6, &out[20]);
  return out;
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "log level: want debug, info, warn or error, got \"", name, "\""));
}

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "text") return Format::kText;
  if (lower == "json") return Format::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log format: want text or json, got \"", name, "\""));
}

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void SetLevel(Level level) { min_level = static_cast<int>(level); }
void SetFormat(Format f) { format = static_cast<int>(f); }

void SetSinkForTesting(std::function<void(absl::string_view line)> s) {
  delete sink;
  sink = s ? new std::function<void(absl::string_view)>(std::move(s)) : nullptr;
}

bool Enabled(Level level) { return static_cast<int>(level) >= min_level; }

Field::Field(absl::string_view key, double value) : key_(key), quoted_(false) {
  if (!std::isfinite(value)) {
    value_ = "null";  // JSON has no Inf or NaN
    return;
  }
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    value_ = std::to_string(static_cast<int64_t>(value));  // not 1e+06
    return;
  }
  char buffer[64];
  const std::to_chars_result r = std::to_chars(
      buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  value_.assign(buffer, r.ptr);
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  AppendJsonEscaped(s, &out);
  out += '"';
  return out;
}

std::string FormatLine(Format f, absl::Time time, Level level,
                       absl::string_view msg, Fields fields) {
  std::string line;
  if (f == Format::kJson) {
    absl::StrAppend(&line, "{\"ts\":\"", FormatTimestamp(time),
                    "\",\"level\":\"", LevelName(level),
                    "\",\"msg\":", JsonQuote(msg));
    for (const Field& field : fields) {
      absl::StrAppend(
          &line, ",", JsonQuote(field.key()), ":",
          field.quoted() ? JsonQuote(field.value()) : field.value());
    }
    line += '}';
    return line;
  }
  absl::StrAppend(&line, FormatTimestamp(time), " ",
                  absl::AsciiStrToUpper(LevelName(level)), " ");
  // The message stays readable but on one line.
  AppendJsonEscaped(msg, &line, /*quotes=*/false);
  for (const Field& field : fields) {
    absl::StrAppend(&line, " ", field.key(), "=");
    if (field.quoted() && NeedsQuotes(field.value())) {
      line += JsonQuote(field.value());
    } else {
      line += field.value();
    }
  }
  return line;
}

void Log(Level level, absl::string_view msg, Fields fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLine(static_cast<Format>(format.load()), absl::Now(),
                                level, msg, fields);
  if (sink != nullptr) {
    (*sink)(line);
    return;
  }
  line += '\n';
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report it
    data += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace factlog::log
