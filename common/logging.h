#ifndef FACTLOG_COMMON_LOGGING_H_
#define FACTLOG_COMMON_LOGGING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

// factlogd's log: one line per event of note, on stderr, written with one
// write(2) per line so that lines from different threads never interleave.
//
//   text: 2026-11-25T16:50:01.123456Z INFO rpc method=... code=OK
//   json: {"ts":"2026-11-25T16:50:01.123456Z","level":"info","msg":"rpc",
//          "method":"...","code":"OK"}
//
// A line is a message and fields. In text, a field is key=value with the
// value quoted (JSON string escapes) when it is empty or holds a space, a
// quote, '=' or a control character; in JSON each line is one object with
// ts, level and msg first, string fields as strings and numeric ones as
// numbers. Nothing here knows what is secret: callers never pass a token,
// and pass claim text only at debug level.
//
// Configuration is process-wide (main sets it before serving); logging is
// thread-safe.
namespace factlog::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

// "debug", "info", "warn" (or "warning"), "error". INVALID_ARGUMENT
// otherwise.
absl::StatusOr<Level> ParseLevel(absl::string_view name);
// "text" or "json". INVALID_ARGUMENT otherwise.
absl::StatusOr<Format> ParseFormat(absl::string_view name);
// "debug", "info", "warn", "error".
absl::string_view LevelName(Level level);

// Lines below `level` are dropped. Default: info.
void SetLevel(Level level);
// Default: text.
void SetFormat(Format format);
// Tests: every line (without its newline) goes to `sink` instead of
// stderr; nullptr restores stderr. Not for use while other threads log.
void SetSinkForTesting(std::function<void(absl::string_view line)> sink);

bool Enabled(Level level);

// One field of a line: a key and a string, integer, floating-point or
// boolean value.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value)
      : key_(key), value_(value), quoted_(true) {}
  Field(absl::string_view key, const char* value)
      : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, const std::string& value)
      : Field(key, absl::string_view(value)) {}
  template <typename Int, std::enable_if_t<std::is_integral_v<Int> &&
                                               !std::is_same_v<Int, bool> &&
                                               !std::is_same_v<Int, char>,
                                           int> = 0>
  Field(absl::string_view key, Int value)
      : key_(key), value_(std::to_string(value)), quoted_(false) {}
  Field(absl::string_view key, double value);
  Field(absl::string_view key, bool value)
      : key_(key), value_(value ? "true" : "false"), quoted_(false) {}

  absl::string_view key() const { return key_; }
  // The value as text (unquoted, unescaped).
  const std::string& value() const { return value_; }
  // A string (JSON string) rather than a number or boolean.
  bool quoted() const { return quoted_; }

 private:
  absl::string_view key_;
  std::string value_;
  bool quoted_;
};

// Written as a braced list, {{"key", value}, ...}, or a span of an array
// (for a line whose last fields are optional).
using Fields = absl::Span<const Field>;

// Writes one line when `level` is enabled.
void Log(Level level, absl::string_view msg, Fields fields = {});
inline void Debug(absl::string_view msg, Fields fields = {}) {
  Log(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, Fields fields = {}) {
  Log(Level::kInfo, msg, fields);
}
inline void Warn(absl::string_view msg, Fields fields = {}) {
  Log(Level::kWarn, msg, fields);
}
inline void Error(absl::string_view msg, Fields fields = {}) {
  Log(Level::kError, msg, fields);
}

// `time` as every line starts with it: RFC 3339 in UTC with microseconds,
// "2014-05-19T10:00:00.000000Z" (truncated, not rounded). Pure.
std::string FormatTimestamp(absl::Time time);

// The line Log writes, without its newline. Pure; for tests.
std::string FormatLine(Format format, absl::Time time, Level level,
                       absl::string_view msg, Fields fields);

// `s` as a JSON string literal, quotes included. Invalid UTF-8 bytes become
// U+FFFD, so the result is always valid JSON.
std::string JsonQuote(absl::string_view s);

}  // namespace factlog::log

#endif  // FACTLOG_COMMON_LOGGING_H_
