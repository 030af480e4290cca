#include "server/proto_decode.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format_lite.h"
#include "server/log.h"

namespace factlog::server {
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
  auto* owned = new std::string(std::move(encoded));
  grpc::Slice slice(
      owned->data(), owned->size(),
      [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

namespace {

// Reads the varint at `p` into `value`; null when it runs past `end` or
// over `max_bytes` bytes (protobuf reads tags and lengths in at most 5, other
// varints in at most 10).
const char* ReadVarint(const char* p, const char* end, int max_bytes,
                       uint64_t* value) {
  uint64_t v = 0;
  for (int i = 0; i < max_bytes && p < end; ++i) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *value = v;
      return p;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<bool> HasWireField(absl::string_view bytes, uint32_t number) {
  // By hand rather than with CodedInputStream: GetClaim runs this on every
  // stored view it sends, and the generic reader took twice the
  // instructions (1.4k against 0.6k per view in bench get).
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    uint64_t tag, length;
    p = ReadVarint(p, end, 5, &tag);
    if (p == nullptr || tag > UINT32_MAX || (tag >> 3) == 0) {
      p = nullptr;
      break;
    }
    if ((tag >> 3) == number) return true;
    switch (tag & 7) {
      case 0:  // varint
        p = ReadVarint(p, end, 10, &length);
        break;
      case 1:  // 64-bit
        p = end - p >= 8 ? p + 8 : nullptr;
        break;
      case 2:  // length-delimited; protobuf takes no length over INT_MAX
        p = ReadVarint(p, end, 5, &length);
        p = p != nullptr && length <= INT_MAX &&
                    length <= static_cast<uint64_t>(end - p)
                ? p + length
                : nullptr;
        break;
      case 5:  // 32-bit
        p = end - p >= 4 ? p + 4 : nullptr;
        break;
      default:  // groups (never in these messages) and invalid types
        p = nullptr;
    }
    if (p == nullptr) break;
  }
  if (p != end) return absl::DataLossError("stored message does not parse");
  return false;
}

void AppendWireField(uint32_t number, absl::string_view bytes,
                     std::string* message) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  const uint32_t tag = WireFormatLite::MakeTag(
      number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  uint8_t header[10];  // two varint32s of at most 5 bytes each
  uint8_t* end = CodedOutputStream::WriteVarint32ToArray(tag, header);
  end = CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(bytes.size()), end);
  message->reserve(message->size() + (end - header) + bytes.size());
  message->append(reinterpret_cast<const char*>(header), end - header);
  message->append(bytes.data(), bytes.size());
}

}  // namespace factlog::server
