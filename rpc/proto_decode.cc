#include "rpc/proto_decode.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"

namespace factlog::rpc {
namespace {

// Finds the first string field holding invalid UTF-8 by walking the wire
// format (which protobuf's UnknownFieldSet parses without UTF-8 checks)
// alongside the message's descriptor. Returns its path in the style of the
// validation errors ("reported_by.name", "tags[2]"), or "" if none.
std::string InvalidUtf8Path(const google::protobuf::Descriptor* descriptor,
                            const std::string& bytes,
                            const std::string& prefix) {
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return "";
  std::map<int, int> seen;  // occurrences per field number, for indexes
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& wire = fields.field(i);
    const google::protobuf::FieldDescriptor* field =
        descriptor->FindFieldByNumber(wire.number());
    const int index = seen[wire.number()]++;
    if (field == nullptr ||
        wire.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    std::string path = absl::StrCat(prefix, field->name());
    if (field->is_repeated()) absl::StrAppend(&path, "[", index, "]");
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_STRING &&
        !google::protobuf::internal::IsStructurallyValidUTF8(
            wire.length_delimited())) {
      return path;
    }
    if (field->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      std::string inner = InvalidUtf8Path(field->message_type(),
                                          wire.length_delimited(), path + ".");
      if (!inner.empty()) return inner;
    }
  }
  return "";
}

// Protobuf logs parse failures; keep them off stderr while decoding here.
thread_local bool quiet = false;

void LogHandler(google::protobuf::LogLevel level, const char* filename,
                int line, const std::string& message) {
  if (quiet) return;
  const log::Level levels[] = {log::Level::kInfo, log::Level::kWarn,
                               log::Level::kError, log::Level::kError};
  log::Log(levels[level], "libprotobuf",
           {{"error", message}, {"file", filename}, {"line", line}});
}

// A slice that takes `bytes` over, without copying them.
grpc::Slice OwningSlice(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  return grpc::Slice(
      owned->data(), owned->size(),
      [](void* p) { delete static_cast<std::string*>(p); }, owned);
}

}  // namespace

absl::Status DecodeMessage(const grpc::ByteBuffer& buffer,
                           google::protobuf::Message* message) {
  static std::once_flag installed;
  std::call_once(installed,
                 [] { google::protobuf::SetLogHandler(&LogHandler); });

  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) {
    return absl::InvalidArgumentError("cannot read the message");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  quiet = true;
  const bool parsed = message->ParseFromString(bytes);
  quiet = false;
  if (parsed) return absl::OkStatus();
  const std::string path =
      InvalidUtf8Path(message->GetDescriptor(), bytes, /*prefix=*/"");
  if (!path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not valid UTF-8"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed ", message->GetDescriptor()->full_name(), " message"));
}

grpc::ByteBuffer EncodeMessage(const google::protobuf::Message& message) {
  return EncodeMessage(message.SerializeAsString());
}

grpc::ByteBuffer EncodeMessage(std::string encoded) {
  grpc::Slice slice = OwningSlice(std::move(encoded));
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer EncodeMessage(const std::string& header, std::string body) {
  grpc::Slice slices[2] = {grpc::Slice(header), OwningSlice(std::move(body))};
  return header.empty() ? grpc::ByteBuffer(&slices[1], 1)
                        : grpc::ByteBuffer(slices, 2);
}

}  // namespace factlog::rpc
