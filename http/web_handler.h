#ifndef FACTLOG_HTTP_WEB_HANDLER_H_
#define FACTLOG_HTTP_WEB_HANDLER_H_

#include "http/api_services.h"
#include "http/http_server.h"
#include "http/json_api.h"

namespace factlog::http {

// factlogd --http-listen: the JSON API and event stream under /api/v1/
// (http/json_api.h) and the web view's pages (http/web_assets.h), every
// page with a strict Content-Security-Policy (scripts, styles and
// connections from this origin only; no inline script, no framing).
// Thread-safe; `services` must outlive it.
class WebHandler {
 public:
  explicit WebHandler(const ApiServices& services) : api_(services) {}

  void Handle(HttpExchange& exchange);
  // A request the listener refused before it reached Handle (HTTP
  // `status`, http/http_server.h): the JSON error with the matching code
  // (413, 414 and 431 RESOURCE_EXHAUSTED, 408 DEADLINE_EXCEEDED, 501 and 505
  // UNIMPLEMENTED, others INVALID_ARGUMENT). Does not block.
  static void ErrorPage(HttpExchange& exchange, int status,
                        absl::string_view message);

 private:
  JsonApi api_;
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_WEB_HANDLER_H_
