// What an HTTP/1.1 request may look like on factlogd's listener
// (http/http_server.h has the table of limits and statuses): a pure parser
// of a request's head, with no I/O, so that hostile input can be fuzzed
// (fuzz/fuzz_http_request.cc).
#ifndef FACTLOG_HTTP_REQUEST_PARSER_H_
#define FACTLOG_HTTP_REQUEST_PARSER_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::http {

// A request's head, parsed. Header names keep their case as sent.
struct ParsedRequest {
  std::string method;
  std::string path;       // the target before '?', still percent-encoded
  std::string query;      // after '?', or ""
  int minor_version = 1;  // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;
  size_t content_length = 0;
  // The client wants the connection kept open after the response
  // (HTTP/1.1 without "Connection: close", or HTTP/1.0 with
  // "Connection: keep-alive").
  bool keep_alive = false;
  bool expect_continue = false;  // "Expect: 100-continue"

  // Set by the server, not the parser:
  std::string body;
  bool body_too_large = false;  // content_length > the listener's limit
  std::string peer;
};

struct ParseLimits {
  size_t max_request_line_bytes = 8 << 10;
  size_t max_header_bytes = 16 << 10;
  size_t max_headers = 100;
};

struct ParseOutcome {
  enum Kind { kIncomplete, kComplete, kError };
  Kind kind = kIncomplete;
  // kComplete: the bytes of `input` the head took (through its empty line).
  size_t consumed = 0;
  // kError: the HTTP status to answer with and what was wrong, in words.
  int status = 0;
  std::string message;
};

// Parses the request line and headers at the start of `input` into
// `*request` (overwritten). kIncomplete when `input` holds no complete head
// yet and no limit is broken; kError as soon as what it holds cannot be
// the start of a request within `limits`. Lines end with CRLF; the
// request-target is an origin form ("/path?query"). Pure and thread-safe.
ParseOutcome ParseRequestHead(absl::string_view input,
                              const ParseLimits& limits,
                              ParsedRequest* request);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_REQUEST_PARSER_H_
