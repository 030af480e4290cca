#include "http/web_handler.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "http/http_status.h"
#include "http/web_assets.h"

namespace factlog::http {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr char kApiPrefix[] = "/api/v1/";
constexpr char kPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action "
    "'self'; frame-ancestors 'none'";

// The page shell every client-side route loads (/, /claim/ID, ...).
constexpr char kShell[] = "/index.html";

bool IsPageRoute(absl::string_view path) {
  return path == "/" || absl::StartsWith(path, "/claims/") ||
         absl::StartsWith(path, "/claimants/") || path == "/promises" ||
         path == "/editor";
}

absl::StatusCode CodeForHttp(int status) {
  switch (status) {
    case 404:
      return absl::StatusCode::kNotFound;
    case 405:
    case 501:
    case 505:
      return absl::StatusCode::kUnimplemented;
    case 413:
    case 414:
    case 431:
      return absl::StatusCode::kResourceExhausted;
    case 408:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return status >= 500 ? absl::StatusCode::kInternal
                           : absl::StatusCode::kInvalidArgument;
  }
}

}  // namespace

void WebHandler::Handle(HttpExchange& exchange) {
  const absl::string_view path = exchange.raw_path();
  if (absl::StartsWith(path, kApiPrefix)) {
    api_.Handle(exchange, path.substr(sizeof(kApiPrefix) - 1));
    return;
  }
  const WebAsset* asset = FindWebAsset(IsPageRoute(path) ? kShell : path);
  if (asset == nullptr) {
    exchange.Send(
        404, kJson,
        ErrorJson(absl::NotFoundError(absl::StrCat("no page at ", path))));
    return;
  }
  if (exchange.method() != "GET" && exchange.method() != "HEAD") {
    exchange.Send(405, kJson,
                  ErrorJson(absl::UnimplementedError(absl::StrCat(
                      exchange.method(), " ", path, ": pages are GET only"))),
                  {{"Allow", "GET, HEAD"}});
    return;
  }
  exchange.Send(200, asset->content_type,
                absl::string_view(reinterpret_cast<const char*>(asset->data),
                                  asset->size),
                {{"Content-Security-Policy", kPolicy},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cache-Control", "no-cache"}});
}

void WebHandler::ErrorPage(HttpExchange& exchange, int status,
                           absl::string_view message) {
  exchange.Send(
      status, kJson,
      ErrorJson(absl::Status(CodeForHttp(status),
                             absl::StrCat("HTTP ", status, ": ", message))));
}

}  // namespace factlog::http
