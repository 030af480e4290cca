// Conversions between command-line text and proto values: timestamps, enum
// names, request ids. Everything here is pure (no I/O besides the random
// source of NewRequestId) and safe to call from any thread.
#ifndef FACTLOG_CLIENT_VALUES_H_
#define FACTLOG_CLIENT_VALUES_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>
#include <google/protobuf/timestamp.pb.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "factlog/v1/service.pb.h"

namespace factlog::cli {

// Something the user typed is wrong (bad value, unreadable file). main()
// prints "error: <what>" on stderr and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- Timestamps -------------------------------------------------------------

// Parses an RFC 3339 time ("2014-05-19T10:00:00Z", "2014-05-19T12:00:00+02:00",
// fractional seconds allowed) or a plain date ("2014-05-19", midnight UTC).
// Returns nullopt for anything else.
std::optional<google::protobuf::Timestamp> ParseTime(absl::string_view text);

// As ParseTime, but throws UsageError naming `flag` when `text` is not a time.
google::protobuf::Timestamp ParseTimeFlag(absl::string_view flag,
                                          absl::string_view text);

// A CLI11 validator accepting exactly what ParseTime accepts, so a bad time
// is a usage error at parse time and --help shows the format.
CLI::Validator TimeValidator();

// ---- Overdue cursors --------------------------------------------------------

// The printable form of a Subscribe overdue cursor: its time in RFC 3339
// UTC with every digit of the fraction, then "/" and the claim id when it
// has one: "2026-11-25T15:10:11.123456789Z/late-promise". An unset time
// prints as the epoch.
std::string FormatOverdueCursor(const factlog::v1::OverdueCursor& cursor);

// Parses what FormatOverdueCursor prints; the time may be any ParseTime
// form ("2014-05-19" = midnight UTC; "1970-01-01": every claim overdue
// now). nullopt when the time or the claim id is malformed.
std::optional<factlog::v1::OverdueCursor> ParseOverdueCursor(
    absl::string_view text);

// A CLI11 validator accepting exactly what ParseOverdueCursor accepts.
CLI::Validator OverdueCursorValidator();

// ---- Enums ------------------------------------------------------------------

// The command-line spelling of a proto enum value is its word
// (domain/enum_words.h): its name without the enum's prefix, lower-case,
// '_' replaced by '-':
//   RATING_MOSTLY_TRUE -> "mostly-true", LINK_RELATION_SAME_AS -> "same-as".
// Input is taken in any case, with '_' or '-', with or without the prefix
// ("FACT", "claim_kind_fact"), so what a table prints can be typed back.
// Tables show the short upper-case name: CLAIM_STATUS_CONTRADICTED ->
// "CONTRADICTED". The *_UNSPECIFIED value has no spelling.

// The accepted spellings, in declaration order.
std::vector<std::string> EnumFlagValues(
    const google::protobuf::EnumDescriptor* type);

// The value spelled `text` (any case, prefix optional); throws UsageError
// listing the accepted spellings when there is none.
int ParseEnumFlag(const google::protobuf::EnumDescriptor* type,
                  absl::string_view flag, absl::string_view text);

template <typename E>
E ParseEnum(absl::string_view flag, absl::string_view text) {
  return static_cast<E>(
      ParseEnumFlag(google::protobuf::GetEnumDescriptor<E>(), flag, text));
}

// A CLI11 validator accepting the spellings of `type`; its description lists
// them for --help, its error lists them for a typo.
CLI::Validator EnumValidator(const google::protobuf::EnumDescriptor* type);

template <typename E>
CLI::Validator EnumValidator() {
  return EnumValidator(google::protobuf::GetEnumDescriptor<E>());
}

// "CONTRADICTED" for CLAIM_STATUS_CONTRADICTED; the number for values the
// descriptor does not know (a newer server); "-" for UNSPECIFIED.
std::string EnumShortName(const google::protobuf::EnumDescriptor* type,
                          int value);

template <typename E>
std::string ShortName(E value) {
  return EnumShortName(google::protobuf::GetEnumDescriptor<E>(),
                       static_cast<int>(value));
}

// ---- Words ------------------------------------------------------------------

// The candidate closest to `word` by edit distance (Levenshtein, case
// ignored), when it is close enough to be a typo of it: at most 2 edits, and
// fewer than half of `word`'s letters; a candidate that starts with `word`
// or that `word` starts with ("claims" for "claim") counts as close. ""
// when none is.
std::string ClosestWord(absl::string_view word,
                        const std::vector<std::string>& candidates);

// ---- Request ids ------------------------------------------------------------

// A random RFC 4122 version 4 UUID, lower-case hex with dashes.
std::string NewRequestId();

// 64-bit FNV-1a of `data` as 16 lower-case hex digits. Stable across runs and
// platforms, so ids derived from it are deterministic.
std::string Fnv1a64Hex(absl::string_view data);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_VALUES_H_
