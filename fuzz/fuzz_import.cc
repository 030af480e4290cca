// Fuzz target: parsing an import file (client/import.h ParseImportText).
// Bad text must end in UsageError "NAME:LINE: reason"; any other exception
// escapes and aborts, like a crash. For text that parses:
//  - items are in line order, on lines the text has, each with a command
//    and a request_id (given or assigned);
//  - each command survives the wire: it serializes and parses back to the
//    same command, so the server decodes what the client parsed ("a
//    malformed line sends nothing");
//  - parsing is deterministic, and no item depends on the lines after it:
//    the text cut before the last item's line parses to the items before it,
//    request ids included, which is what makes re-running an import safe.
// It also feeds the text to SplitCommandIndex, which must take any message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "client/import.h"
#include "client/values.h"
#include "domain/validation.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"

namespace factlog::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr absl::string_view kName = "fuzz.jsonl";

// Throws what ParseImportText throws; checks the form of a UsageError.
std::vector<cli::ImportItem> Parse(absl::string_view text) {
  try {
    return cli::ParseImportText(kName, text);
  } catch (const cli::UsageError& e) {
    absl::string_view message = e.what();
    FUZZ_CHECK(absl::ConsumePrefix(&message, absl::StrCat(kName, ":")),
               e.what());
    const size_t colon = message.find(':');
    FUZZ_CHECK(colon != absl::string_view::npos && colon > 0, e.what());
    for (char c : message.substr(0, colon)) {
      FUZZ_CHECK(absl::ascii_isdigit(c), e.what());
    }
    throw;
  }
}

bool SameItems(const std::vector<cli::ImportItem>& a,
               const std::vector<cli::ImportItem>& b, size_t n) {
  if (a.size() < n || b.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (a[i].line != b[i].line ||
        !MessageDifferencer::Equals(a[i].command, b[i].command)) {
      return false;
    }
  }
  return true;
}

// The offset where 1-based line `line` of `text` starts.
size_t LineStart(absl::string_view text, int line) {
  size_t offset = 0;
  for (int i = 1; i < line; ++i) offset = text.find('\n', offset) + 1;
  return offset;
}

void CheckItems(absl::string_view text,
                const std::vector<cli::ImportItem>& items) {
  const int lines =
      static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  int previous = 0;
  for (const cli::ImportItem& item : items) {
    const std::string where =
        absl::StrCat("line ", item.line, ": ", item.command.ShortDebugString());
    FUZZ_CHECK(item.line > previous && item.line <= lines, where);
    previous = item.line;
    FUZZ_CHECK(item.command.command_case() != v1::Command::COMMAND_NOT_SET,
               where);
    FUZZ_CHECK(!domain::RequestIdOf(item.command).empty(), where);
    std::string bytes;
    FUZZ_CHECK(item.command.SerializeToString(&bytes), where);
    v1::Command decoded;
    FUZZ_CHECK(decoded.ParseFromString(bytes),
               "the server could not decode " + where);
    FUZZ_CHECK(MessageDifferencer::Equals(decoded, item.command), where);
  }
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using factlog::fuzz::Parse;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // The server's "command N: why" messages are mapped back to lines; any
  // text may come back.
  factlog::cli::SplitCommandIndex(text);
  std::vector<factlog::cli::ImportItem> items;
  try {
    items = Parse(text);
  } catch (const factlog::cli::UsageError&) {
    return 0;
  }
  factlog::fuzz::CheckItems(text, items);
  const std::vector<factlog::cli::ImportItem> again = Parse(text);
  FUZZ_CHECK(again.size() == items.size() &&
                 factlog::fuzz::SameItems(items, again, items.size()),
             "deterministic");
  if (!items.empty()) {
    const absl::string_view before =
        text.substr(0, factlog::fuzz::LineStart(text, items.back().line));
    const std::vector<factlog::cli::ImportItem> earlier = Parse(before);
    FUZZ_CHECK(earlier.size() == items.size() - 1 &&
                   factlog::fuzz::SameItems(items, earlier, earlier.size()),
               "an item depends on a later line");
  }
  return 0;
}
