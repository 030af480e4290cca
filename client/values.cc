#include "client/values.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "domain/enum_words.h"

namespace factlog::cli {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::Timestamp;

bool IsPlainDate(absl::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string ShortUpper(const EnumDescriptor* type,
                       const EnumValueDescriptor* value) {
  const std::string prefix = domain::EnumPrefix(type);
  const std::string& name = value->name();
  if (absl::StartsWith(name, prefix)) return name.substr(prefix.size());
  return name;
}

std::string UnknownEnumMessage(const EnumDescriptor* type,
                               absl::string_view text) {
  return absl::StrCat("unknown value \"", text, "\"; allowed: ",
                      absl::StrJoin(EnumFlagValues(type), ", "));
}

}  // namespace

std::optional<Timestamp> ParseTime(absl::string_view text) {
  std::string input(absl::StripAsciiWhitespace(text));
  if (IsPlainDate(input)) input += "T00:00:00Z";
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, input, &time, &error)) {
    return std::nullopt;
  }
  const int64_t seconds = absl::ToUnixSeconds(time);
  using google::protobuf::util::TimeUtil;
  if (seconds < TimeUtil::kTimestampMinSeconds ||
      seconds > TimeUtil::kTimestampMaxSeconds) {
    return std::nullopt;  // outside 0001-01-01 .. 9999-12-31
  }
  Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) /
                                    absl::Nanoseconds(1)));
  return ts;
}

Timestamp ParseTimeFlag(absl::string_view flag, absl::string_view text) {
  std::optional<Timestamp> ts = ParseTime(text);
  if (!ts.has_value()) {
    throw UsageError(absl::StrCat(
        flag, ": invalid time \"", text,
        "\"; expected RFC 3339 (2014-05-19T10:00:00Z) or a date (2014-05-19)"));
  }
  return *ts;
}

std::string FormatOverdueCursor(const factlog::v1::OverdueCursor& cursor) {
  const absl::Time at = absl::FromUnixSeconds(cursor.at().seconds()) +
                        absl::Nanoseconds(cursor.at().nanos());
  std::string out =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", at, absl::UTCTimeZone());
  if (!cursor.claim_id().empty()) absl::StrAppend(&out, "/", cursor.claim_id());
  return out;
}

std::optional<factlog::v1::OverdueCursor> ParseOverdueCursor(
    absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  absl::string_view time = text;
  absl::string_view claim_id;
  if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    time = text.substr(0, slash);
    claim_id = text.substr(slash + 1);
    // A claim id is a slug: [a-z0-9][a-z0-9-]{0,63}.
    if (claim_id.empty() || claim_id.size() > 64 || claim_id[0] == '-') {
      return std::nullopt;
    }
    for (char c : claim_id) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return std::nullopt;
      }
    }
  }
  std::optional<Timestamp> at = ParseTime(time);
  if (!at.has_value()) return std::nullopt;
  factlog::v1::OverdueCursor cursor;
  *cursor.mutable_at() = *at;
  cursor.set_claim_id(std::string(claim_id));
  return cursor;
}

CLI::Validator OverdueCursorValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (ParseOverdueCursor(text).has_value()) return "";
        return absl::StrCat(
            "invalid overdue cursor \"", text,
            "\"; expected TIME or TIME/CLAIM_ID as watch prints it "
            "(2026-11-25T15:10:11.5Z/late-promise)");
      },
      "", "cursor");
}

CLI::Validator TimeValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (ParseTime(text).has_value()) return "";
        return absl::StrCat("invalid time \"", text,
                            "\"; expected RFC 3339 (2014-05-19T10:00:00Z) "
                            "or a date (2014-05-19)");
      },
      "", "time");
}

std::vector<std::string> EnumFlagValues(const EnumDescriptor* type) {
  return domain::EnumWords(type);
}

int ParseEnumFlag(const EnumDescriptor* type, absl::string_view flag,
                  absl::string_view text) {
  const EnumValueDescriptor* value = domain::FindEnumWord(type, text);
  if (value == nullptr) {
    throw UsageError(absl::StrCat(flag, ": ", UnknownEnumMessage(type, text)));
  }
  return value->number();
}

CLI::Validator EnumValidator(const EnumDescriptor* type) {
  return CLI::Validator(
      [type](std::string& text) -> std::string {
        if (domain::FindEnumWord(type, text) != nullptr) return "";
        return UnknownEnumMessage(type, text);
      },
      "", type->name());
}

std::string EnumShortName(const EnumDescriptor* type, int value) {
  if (value == 0) return "-";
  const EnumValueDescriptor* descriptor = type->FindValueByNumber(value);
  if (descriptor == nullptr) return absl::StrCat(value);
  return ShortUpper(type, descriptor);
}

namespace {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same =
          absl::ascii_tolower(static_cast<unsigned char>(a[i - 1])) ==
          absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string ClosestWord(absl::string_view word,
                        const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& candidate : candidates) {
    size_t distance = EditDistance(word, candidate);
    const bool prefix =
        word.size() >= 2 && (absl::StartsWithIgnoreCase(candidate, word) ||
                             absl::StartsWithIgnoreCase(word, candidate));
    if (!prefix && (distance > 2 || 2 * distance >= word.size())) continue;
    if (prefix) distance = std::min<size_t>(distance, 1);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string NewRequestId() {
  std::random_device device;
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t word = device();
    for (size_t j = 0; j < 4; ++j) bytes[i + j] = (word >> (8 * j)) & 0xff;
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    absl::StrAppendFormat(&out, "%02x", bytes[i]);
  }
  return out;
}

std::string Fnv1a64Hex(absl::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", hash);
}

}  // namespace factlog::cli
