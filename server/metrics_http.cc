#include "server/metrics_http.h"

namespace factlog::server {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kTextType[] = "text/plain; charset=utf-8";

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render) {
  http::HttpServerOptions options;
  options.listen = listen;
  options.flag = "--metrics-listen";
  options.threads = 2;
  // Scrapers reuse their connection between scrapes.
  options.keep_alive = true;
  options.keep_alive_timeout_ms = 60000;
  absl::StatusOr<std::unique_ptr<http::HttpServer>> http =
      http::HttpServer::Start(
          options, [render = std::move(render)](http::HttpExchange& exchange) {
            if (exchange.raw_path() != "/metrics") {
              exchange.Send(404, kTextType, "only /metrics\n");
              return;
            }
            if (exchange.method() != "GET" && exchange.method() != "HEAD") {
              exchange.Send(405, kTextType, "only GET /metrics\n",
                            {{"Allow", "GET, HEAD"}});
              return;
            }
            exchange.Send(200, kContentType, render());
          });
  if (!http.ok()) return http.status();
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(*std::move(http)));
}

}  // namespace factlog::server
