#include "http/request_parser.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace factlog::http {
namespace {

// RFC 9110's tchar: what a method and a header name are made of.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
         absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

ParseOutcome Error(int status, std::string message) {
  ParseOutcome outcome;
  outcome.kind = ParseOutcome::kError;
  outcome.status = status;
  outcome.message = std::move(message);
  return outcome;
}

// A bare LF (without CR before it) anywhere in `input`.
bool HasBareLineFeed(absl::string_view input) {
  for (size_t at = input.find('\n'); at != absl::string_view::npos;
       at = input.find('\n', at + 1)) {
    if (at == 0 || input[at - 1] != '\r') return true;
  }
  return false;
}

// "METHOD /target HTTP/1.x" into `request`.
std::optional<ParseOutcome> ParseRequestLine(absl::string_view line,
                                             ParsedRequest* request) {
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == absl::string_view::npos || first == last) {
    return Error(400, "the request line is not METHOD TARGET HTTP/1.1");
  }
  const absl::string_view method = line.substr(0, first);
  const absl::string_view target = line.substr(first + 1, last - first - 1);
  const absl::string_view version = line.substr(last + 1);
  if (!IsToken(method) || method.size() > 32) {
    return Error(400, "the request method is not a token");
  }
  if (target.empty() || target[0] != '/') {
    return Error(400, "the request target is not a path starting with /");
  }
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return Error(400, "the request target has a space or control byte");
    }
  }
  if (version == "HTTP/1.1") {
    request->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request->minor_version = 0;
  } else if (absl::StartsWith(version, "HTTP/")) {
    return Error(505, absl::StrCat("HTTP version ", version.substr(5),
                                   " is not served; HTTP/1.1 is"));
  } else {
    return Error(400, "the request line does not end with HTTP/1.1");
  }
  request->method = std::string(method);
  const size_t question = target.find('?');
  request->path = std::string(target.substr(0, question));
  request->query = question == absl::string_view::npos
                       ? ""
                       : std::string(target.substr(question + 1));
  return std::nullopt;
}

// One "Name: value" line into `request`.
std::optional<ParseOutcome> ParseHeaderLine(absl::string_view line,
                                            ParsedRequest* request,
                                            bool* has_length) {
  if (line[0] == ' ' || line[0] == '\t') {
    return Error(400, "a header line is folded (starts with white space)");
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Error(400, "a header line is not NAME: VALUE");
  }
  const absl::string_view name = line.substr(0, colon);
  const absl::string_view value =
      absl::StripAsciiWhitespace(line.substr(colon + 1));
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Error(400, absl::StrCat("header ", name, " has a control byte"));
    }
  }
  if (absl::EqualsIgnoreCase(name, "Content-Length")) {
    uint64_t length = 0;
    if (value.empty() || value.size() > 18 ||
        value.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(value, &length)) {
      return Error(400, "Content-Length is not a number of bytes");
    }
    if (*has_length && length != request->content_length) {
      return Error(400, "two Content-Length headers disagree");
    }
    *has_length = true;
    request->content_length = static_cast<size_t>(length);
  } else if (absl::EqualsIgnoreCase(name, "Connection")) {
    for (absl::string_view option : absl::StrSplit(value, ',')) {
      option = absl::StripAsciiWhitespace(option);
      if (absl::EqualsIgnoreCase(option, "close")) request->keep_alive = false;
      if (absl::EqualsIgnoreCase(option, "keep-alive")) {
        request->keep_alive = true;
      }
    }
  } else if (absl::EqualsIgnoreCase(name, "Expect")) {
    request->expect_continue = absl::EqualsIgnoreCase(value, "100-continue");
  }
  request->headers.emplace_back(std::string(name), std::string(value));
  return std::nullopt;
}

}  // namespace

ParseOutcome ParseRequestHead(absl::string_view input,
                              const ParseLimits& limits,
                              ParsedRequest* request) {
  *request = ParsedRequest();
  // The head only: what follows its empty line is a body (JSON may hold
  // line feeds) or the next request, checked when its turn comes.
  const size_t head_end = input.find("\r\n\r\n");
  if (HasBareLineFeed(head_end == absl::string_view::npos
                          ? input
                          : input.substr(0, head_end + 4))) {
    return Error(400, "a line ends with LF alone; HTTP lines end with CRLF");
  }
  const size_t line_end = input.find("\r\n");
  if (line_end == absl::string_view::npos) {
    if (input.size() > limits.max_request_line_bytes) {
      return Error(414, absl::StrCat("the request line is longer than ",
                                     limits.max_request_line_bytes, " bytes"));
    }
    return ParseOutcome();
  }
  if (line_end > limits.max_request_line_bytes) {
    return Error(414, absl::StrCat("the request line is longer than ",
                                   limits.max_request_line_bytes, " bytes"));
  }
  if (auto error = ParseRequestLine(input.substr(0, line_end), request)) {
    return *error;
  }
  request->keep_alive = request->minor_version == 1;
  const size_t head_size =
      head_end == absl::string_view::npos ? input.size() : head_end + 4;
  if (head_size > limits.max_header_bytes) {
    return Error(431, absl::StrCat("the request line and headers are longer "
                                   "than ",
                                   limits.max_header_bytes, " bytes"));
  }
  // Header lines so far, complete or not: each is checked once whole.
  size_t at = line_end + 2;
  bool has_length = false;
  bool chunked = false;
  for (;;) {
    const size_t end = input.find("\r\n", at);
    if (end == absl::string_view::npos) return ParseOutcome();
    if (end == at) break;  // the empty line: the head is complete
    if (request->headers.size() >= limits.max_headers) {
      return Error(
          431, absl::StrCat("more than ", limits.max_headers, " header lines"));
    }
    if (auto error =
            ParseHeaderLine(input.substr(at, end - at), request, &has_length)) {
      return *error;
    }
    if (absl::EqualsIgnoreCase(request->headers.back().first,
                               "Transfer-Encoding")) {
      chunked = true;
    }
    at = end + 2;
  }
  if (chunked && has_length) {
    return Error(400, "Content-Length and Transfer-Encoding together");
  }
  if (chunked) {
    return Error(501,
                 "Transfer-Encoding request bodies are not accepted; send "
                 "Content-Length");
  }
  ParseOutcome outcome;
  outcome.kind = ParseOutcome::kComplete;
  outcome.consumed = at + 2;
  return outcome;
}

}  // namespace factlog::http
