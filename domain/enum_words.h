// The words people type and read for proto enum values: the value's name
// without its enum's prefix, lower-case, '_' replaced by '-'
// (RATING_MOSTLY_TRUE -> "mostly-true", LINK_RELATION_SAME_AS ->
// "same-as"). The CLI takes them as flag values and the server's error
// messages use them, so a refusal reads like the command that caused it
// (README, "The CLI"). Pure; safe to call from any thread.
#ifndef FACTLOG_DOMAIN_ENUM_WORDS_H_
#define FACTLOG_DOMAIN_ENUM_WORDS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::domain {

// "CLAIM_STATUS_" for ClaimStatus: the prefix of its *_UNSPECIFIED value
// ("" when the enum has none).
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type);

// "mostly-true" for RATING_MOSTLY_TRUE; the number for a value `type` does
// not know.
std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value);

template <typename E>
std::string EnumWord(E value) {
  return EnumWord(google::protobuf::GetEnumDescriptor<E>(),
                  static_cast<int>(value));
}

// The words of every value of `type` but *_UNSPECIFIED (0), in declaration
// order.
std::vector<std::string> EnumWords(
    const google::protobuf::EnumDescriptor* type);

// The value of `type` that `text` names, or nullptr (never *_UNSPECIFIED).
// Case does not matter, '_' and '-' are the same, and the enum's prefix may
// be given or not: "mostly-true", "MOSTLY_TRUE", "Rating_Mostly_True" all
// name RATING_MOSTLY_TRUE.
const google::protobuf::EnumValueDescriptor* FindEnumWord(
    const google::protobuf::EnumDescriptor* type, absl::string_view text);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_ENUM_WORDS_H_
