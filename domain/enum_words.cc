#include "domain/enum_words.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace factlog::domain {
namespace {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

// Lower-case with '-' for '_': the form words are compared in.
std::string Normalize(absl::string_view text) {
  return absl::StrReplaceAll(absl::AsciiStrToLower(text), {{"_", "-"}});
}

std::string WordOf(const EnumDescriptor* type,
                   const EnumValueDescriptor* value) {
  absl::string_view name = value->name();
  const std::string prefix = EnumPrefix(type);
  absl::ConsumePrefix(&name, prefix);
  return Normalize(name);
}

}  // namespace

std::string EnumPrefix(const EnumDescriptor* type) {
  constexpr absl::string_view kUnspecified = "UNSPECIFIED";
  for (int i = 0; i < type->value_count(); ++i) {
    const std::string& name = type->value(i)->name();
    if (absl::EndsWith(name, kUnspecified)) {
      return name.substr(0, name.size() - kUnspecified.size());
    }
  }
  return "";
}

std::string EnumWord(const EnumDescriptor* type, int value) {
  const EnumValueDescriptor* descriptor = type->FindValueByNumber(value);
  if (descriptor == nullptr) return absl::StrCat(value);
  return WordOf(type, descriptor);
}

std::vector<std::string> EnumWords(const EnumDescriptor* type) {
  std::vector<std::string> words;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) {
      words.push_back(WordOf(type, type->value(i)));
    }
  }
  return words;
}

const EnumValueDescriptor* FindEnumWord(const EnumDescriptor* type,
                                        absl::string_view text) {
  std::string word = Normalize(absl::StripAsciiWhitespace(text));
  const std::string prefix = Normalize(EnumPrefix(type));
  // "claim-kind-fact" -> "fact"; a bare "claim-kind-" is no word.
  if (!prefix.empty() && absl::StartsWith(word, prefix) &&
      word.size() > prefix.size()) {
    word.erase(0, prefix.size());
  }
  for (int i = 0; i < type->value_count(); ++i) {
    const EnumValueDescriptor* value = type->value(i);
    if (value->number() != 0 && WordOf(type, value) == word) return value;
  }
  return nullptr;
}

}  // namespace factlog::domain
