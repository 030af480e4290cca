#include "server/proto_decode.h"

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/logging.h"

namespace factlog::server {
namespace {

// Protobuf reports why a parse failed only through its log. While a decode
// runs on this thread, log lines are captured here instead of printed.
thread_local std::string* captured_log = nullptr;

void LogHandler(google::protobuf::LogLevel level, const char* filename,
                int line, const std::string& message) {
  if (captured_log != nullptr) {
    captured_log->append(message);
    return;
  }
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %s\n", kLevels[level], filename,
               line, message.c_str());
}

// Turns protobuf's UTF-8 complaint into a field path.
std::string Reason(const std::string& log) {
  const std::string marker = "String field '";
  const size_t start = log.find(marker);
  if (start != std::string::npos) {
    const size_t end = log.find('\'', start + marker.size());
    if (end != std::string::npos) {
      return absl::StrCat(
          "field ",
          log.substr(start + marker.size(), end - start - marker.size()),
          " is not valid UTF-8");
    }
  }
  return log.empty() ? "malformed protobuf message" : log;
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
  std::string log;
  captured_log = &log;
  const bool parsed = message->ParseFromString(bytes);
  captured_log = nullptr;
  if (!parsed) return absl::InvalidArgumentError(Reason(log));
  return absl::OkStatus();
}

grpc::ByteBuffer EncodeMessage(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace factlog::server
