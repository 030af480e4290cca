#include "http/json_mapping.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace factlog::http {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const FieldDescriptor* FindField(const Descriptor* descriptor,
                                 absl::string_view name) {
  const std::string key(name);
  if (const FieldDescriptor* f = descriptor->FindFieldByName(key)) return f;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (descriptor->field(i)->json_name() == key) return descriptor->field(i);
  }
  return nullptr;
}

// The JSON value proto3's parser reads `value` of `field` from.
absl::StatusOr<nlohmann::json> JsonValue(const FieldDescriptor* field,
                                         const std::string& name,
                                         const std::string& value) {
  if (field->type() == FieldDescriptor::TYPE_BOOL) {
    if (value == "true") return nlohmann::json(true);
    if (value == "false") return nlohmann::json(false);
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": want true or false, got \"", value, "\""));
  }
  // Numbers, enum names, strings and the well-known types' strings
  // (timestamps) are all read from a JSON string.
  return nlohmann::json(value);
}

template <typename Status>
std::string StatusText(const Status& status) {
  return std::string(status.message().data(), status.message().size());
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view text,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int hi = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("malformed percent-encoding in \"", text, "\""));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = PercentDecode(kv.first, true);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = PercentDecode(kv.second, true);
    if (!value.ok()) return value.status();
    params.emplace_back(*std::move(key), *std::move(value));
  }
  return params;
}

absl::Status MergeQuery(
    const std::vector<std::pair<std::string, std::string>>& params,
    google::protobuf::Message* message) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : params) {
    const Descriptor* descriptor = message->GetDescriptor();
    nlohmann::json* node = &object;
    const FieldDescriptor* field = nullptr;
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    for (size_t i = 0; i < parts.size(); ++i) {
      field = descriptor == nullptr ? nullptr : FindField(descriptor, parts[i]);
      if (field == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown query parameter \"", name, "\" for ",
                         message->GetDescriptor()->name()));
      }
      const bool last = i + 1 == parts.size();
      const bool is_message =
          field->type() == FieldDescriptor::TYPE_MESSAGE &&
          field->message_type()->well_known_type() ==
              google::protobuf::Descriptor::WELLKNOWNTYPE_UNSPECIFIED;
      if (!last && (!is_message || field->is_repeated())) {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter \"", name, "\": ", parts[i],
                         " has no fields to set"));
      }
      if (last && is_message) {
        return absl::InvalidArgumentError(
            absl::StrCat("query parameter \"", name,
                         "\": name one of its fields (", name, ".FIELD)"));
      }
      node = &(*node)[field->json_name()];
      descriptor = last ? nullptr : field->message_type();
    }
    absl::StatusOr<nlohmann::json> json = JsonValue(field, name, value);
    if (!json.ok()) return json.status();
    if (field->is_repeated()) {
      node->push_back(*std::move(json));
    } else if (!node->is_null()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\" given twice"));
    } else {
      *node = *std::move(json);
    }
  }
  std::string json;
  try {
    json = object.dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError(
        "a query parameter is not valid UTF-8 once decoded");
  }
  return MergeJson(json, message);
}

absl::Status MergeJson(absl::string_view json,
                       google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", message->GetDescriptor()->name(), ": ",
                     StatusText(status)));
  }
  return absl::OkStatus();
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  std::string out;
  // Printing a valid message fails only for values JSON cannot hold,
  // which factlog's messages do not have (no Any, no NaN).
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace factlog::http
