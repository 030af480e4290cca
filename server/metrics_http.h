#ifndef FACTLOG_SERVER_METRICS_HTTP_H_
#define FACTLOG_SERVER_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "http/http_server.h"

namespace factlog::server {

// A plain HTTP/1.1 listener (http/http_server.h: one event loop, two worker
// threads) that
// answers GET /metrics with the Prometheus text exposition format 0.0.4
// and nothing else: every other path is 404, every other method 405. It
// serves no files. The endpoint has neither TLS nor authentication;
// FactlogServer decides which addresses it may listen on.
//
// Thread-safe; the destructor stops the listener and waits for requests in
// progress.
class MetricsHttpServer {
 public:
  // Listens on `listen`, "HOST:PORT" or "[IPv6]:PORT"; port 0 picks a
  // free one. `render` produces the body of each scrape, on a worker thread; it
  // must be thread-safe and outlive the server. INVALID_ARGUMENT for a
  // malformed address, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render);

  // The port actually bound (resolves port 0).
  int port() const { return http_->port(); }

 private:
  explicit MetricsHttpServer(std::unique_ptr<http::HttpServer> http)
      : http_(std::move(http)) {}

  const std::unique_ptr<http::HttpServer> http_;
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_METRICS_HTTP_H_
