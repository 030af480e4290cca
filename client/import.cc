#include "client/import.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/format.h"
#include "client/values.h"

namespace factlog::cli {
namespace {

using factlog::v1::Command;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The message inside the Command's oneof, or nullptr when none is set.
Message* InnerCommand(Command* command) {
  const auto* oneof = Command::descriptor()->FindOneofByName("command");
  const auto* reflection = command->GetReflection();
  const FieldDescriptor* field =
      reflection->GetOneofFieldDescriptor(*command, oneof);
  if (field == nullptr) return nullptr;
  return reflection->MutableMessage(command, field);
}

std::string CommandNames() {
  const auto* oneof = Command::descriptor()->FindOneofByName("command");
  std::vector<std::string> names;
  for (int i = 0; i < oneof->field_count(); ++i) {
    names.push_back(oneof->field(i)->json_name());
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

std::vector<ImportItem> ParseImportText(absl::string_view name,
                                        absl::string_view text) {
  std::vector<ImportItem> items;
  std::map<std::string, int> occurrences;  // canonical JSON -> times seen
  google::protobuf::util::JsonParseOptions options;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& reason) {
      throw UsageError(
          absl::StrCat(name, ":", line_number, ": ", OneLine(reason)));
    };
    ImportItem item;
    item.line = line_number;
    auto status = google::protobuf::util::JsonStringToMessage(
        std::string(line), &item.command, options);
    if (!status.ok()) {
      // The parser's message may go on with a copy of the line and a caret;
      // its first line says what is wrong.
      std::string message(status.message());
      fail(message.substr(0, message.find('\n')));
    }
    Message* inner = InnerCommand(&item.command);
    if (inner == nullptr) {
      fail(absl::StrCat("no command; expected an object with one of ",
                        CommandNames()));
    }
    const FieldDescriptor* request_id =
        inner->GetDescriptor()->FindFieldByName("request_id");
    if (request_id != nullptr &&
        inner->GetReflection()->GetString(*inner, request_id).empty()) {
      std::string canonical = JsonLine(item.command);
      const int seen = ++occurrences[canonical];
      if (seen > 1) absl::StrAppend(&canonical, "#", seen);
      inner->GetReflection()->SetString(
          inner, request_id, absl::StrCat("import:", Fnv1a64Hex(canonical)));
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::string ReadInput(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
    return text;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(absl::StrCat("cannot read ", path, ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UsageError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw UsageError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return buffer.str();
}

std::vector<ImportItem> ParseImportFile(const std::string& path) {
  return ParseImportText(path == "-" ? "<stdin>" : path, ReadInput(path));
}

std::optional<std::pair<size_t, std::string>> SplitCommandIndex(
    absl::string_view message) {
  constexpr absl::string_view kPrefix = "command ";
  if (!absl::ConsumePrefix(&message, kPrefix)) return std::nullopt;
  const size_t colon = message.find(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  size_t index = 0;
  if (!absl::SimpleAtoi(message.substr(0, colon), &index)) return std::nullopt;
  message.remove_prefix(colon + 1);
  return std::make_pair(
      index, std::string(absl::StripLeadingAsciiWhitespace(message)));
}

std::string ImportSummary(const factlog::v1::ImportResponse& response) {
  const uint64_t total = response.applied() + response.deduplicated();
  if (total == 0) return "nothing to import\n";
  // last_position is where the file's commands reached, which is the log's
  // end only when they appended the last events: say which it is.
  if (response.applied() == 0) {
    return absl::StrCat("nothing new: all ", total,
                        total == 1 ? " command was" : " commands were",
                        " already applied (the last at position ",
                        response.last_position(), ")\n");
  }
  return absl::StrCat("imported ", total, total == 1 ? " command" : " commands",
                      ": ", response.applied(), " recorded, ",
                      response.deduplicated(),
                      " already applied; the last at position ",
                      response.last_position(), "\n");
}

int RunImport(const std::string& path, const GlobalOptions& options) {
  return SendImport(ParseImportFile(path), path == "-" ? "<stdin>" : path,
                    options);
}

int SendImport(const std::vector<ImportItem>& items, const std::string& name,
               const GlobalOptions& options) {
  factlog::v1::ImportResponse response;
  if (!items.empty()) {
    Connection connection(options);
    connection.AwaitConnected();
    grpc::ClientContext context;
    connection.PrepareStream(&context);
    std::unique_ptr<grpc::ClientWriter<Command>> writer =
        connection.claims().Import(&context, &response);
    // gRPC may hold each message until its write buffer (64 KiB) fills or
    // WritesDone. Sent one by one, each cost the client three times the CPU
    // and factlogd's gRPC threads 1.6 times (bench import).
    const grpc::WriteOptions buffered = grpc::WriteOptions().set_buffer_hint();
    for (const ImportItem& item : items) {
      // A false Write means the call is over (the server stopped at a
      // rejected command or went away); Finish() says which.
      if (!writer->Write(item.command, buffered)) break;
    }
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok()) {
      if (connection.IsUnreachable(status)) {
        throw CommandError(kExitUnreachable,
                           connection.UnreachableMessage(status));
      }
      const std::string code = StatusCodeName(status.error_code());
      const std::string message = OneLine(status.error_message());
      auto indexed = SplitCommandIndex(message);
      if (indexed.has_value() && indexed->first >= 1 &&
          indexed->first <= items.size()) {
        // The server applies commands in order and stops at the refused
        // one: every command before it is in the log (or already was).
        const size_t before = indexed->first - 1;
        throw CommandError(
            kExitRefused,
            absl::StrCat(name, ":", items[before].line, ": ", code, ": ",
                         indexed->second, " (the ", before,
                         before == 1 ? " command" : " commands",
                         " before it are applied, nothing after it; fix "
                         "this line and import the file again)"),
            code);
      }
      throw CommandError(kExitRefused,
                         absl::StrCat(name, ": ", code, ": ", message), code);
    }
  }

  if (options.json()) {
    std::cout << JsonLine(response);
  } else {
    std::cout << ImportSummary(response);
  }
  return kExitOk;
}

}  // namespace factlog::cli
