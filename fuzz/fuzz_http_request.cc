// Fuzz target: the HTTP request parser (http/request_parser.h), the first
// code to see a client's bytes on --http-listen and --metrics-listen.
// Checked, for any input, under small limits:
//  - it never crashes; an error is one of the statuses of the table in
//    http/http_server.h, with a message;
//  - a complete head ends with its empty line within the input and the
//    header limit, has a token method, a path starting with '/', at most
//    max_headers headers, none with CR or LF in it;
//  - reading a complete head a piece at a time says "incomplete" for every
//    shorter prefix (the server parses as bytes arrive: no early error, no
//    early completion);
//  - parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "http/request_parser.h"

namespace factlog::fuzz {
namespace {

using http::ParsedRequest;
using http::ParseLimits;
using http::ParseOutcome;
using http::ParseRequestHead;

void Check(absl::string_view input) {
  const ParseLimits limits{/*max_request_line_bytes=*/256,
                           /*max_header_bytes=*/1024, /*max_headers=*/8};
  ParsedRequest request;
  const ParseOutcome outcome = ParseRequestHead(input, limits, &request);
  ParsedRequest again;
  const ParseOutcome repeat = ParseRequestHead(input, limits, &again);
  FUZZ_CHECK(repeat.kind == outcome.kind && repeat.status == outcome.status &&
                 repeat.consumed == outcome.consumed,
             "parsing twice differs");
  if (outcome.kind == ParseOutcome::kError) {
    static const std::set<int> kStatuses = {400, 414, 431, 501, 505};
    FUZZ_CHECK(kStatuses.count(outcome.status) == 1,
               std::to_string(outcome.status));
    FUZZ_CHECK(!outcome.message.empty(), "an error without a message");
    return;
  }
  if (outcome.kind == ParseOutcome::kIncomplete) return;
  FUZZ_CHECK(outcome.consumed <= input.size() &&
                 outcome.consumed <= limits.max_header_bytes,
             "consumed beyond the input or the limit");
  FUZZ_CHECK(absl::EndsWith(input.substr(0, outcome.consumed), "\r\n\r\n"),
             "a head that does not end with an empty line");
  FUZZ_CHECK(!request.method.empty() && absl::StartsWith(request.path, "/"),
             request.method + " " + request.path);
  FUZZ_CHECK(request.headers.size() <= limits.max_headers, "too many headers");
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(name.find_first_of("\r\n:") == std::string::npos, name);
    FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos, value);
  }
  for (size_t cut = 0; cut < outcome.consumed; cut += 1 + cut / 8) {
    ParsedRequest partial;
    const ParseOutcome early =
        ParseRequestHead(input.substr(0, cut), limits, &partial);
    FUZZ_CHECK(early.kind == ParseOutcome::kIncomplete,
               "a prefix of a complete head is not incomplete at " +
                   std::to_string(cut) + ": " + early.message);
  }
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  factlog::fuzz::Check(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
