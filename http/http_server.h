// factlogd's HTTP listener: civetweb behind a small interface, so that the
// rest of factlog never sees civetweb. Serves --metrics-listen
// (server/metrics_http.h) and --http-listen (http/web_handler.h).
#ifndef FACTLOG_HTTP_HTTP_SERVER_H_
#define FACTLOG_HTTP_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct mg_context;
struct mg_connection;

namespace factlog::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request and its response, on the listener's worker thread that runs
// the handler. Not thread-safe: used by that thread only, and only while
// the handler runs.
class HttpExchange {
 public:
  explicit HttpExchange(::mg_connection* connection);

  // "GET", "POST", ... as sent.
  absl::string_view method() const;
  // The path as sent, still percent-encoded, without the query.
  absl::string_view raw_path() const;
  // The query as sent (after '?'), or "".
  absl::string_view query() const;
  // The value of header `name` (case-insensitive), or nullopt.
  std::optional<absl::string_view> header(absl::string_view name) const;
  // "ADDRESS:PORT" of the client.
  std::string peer() const;

  // The whole request body. RESOURCE_EXHAUSTED when it is (or says it is)
  // longer than `max_bytes`; UNAVAILABLE when the client stops sending it.
  absl::StatusOr<std::string> ReadBody(size_t max_bytes);

  // Sends a complete response with Content-Length, then `headers`. Once.
  // The connection stays open for the client's next request when the
  // listener keeps connections alive, the client wants it, and the request
  // body was read (ReadBody) or there was none; the response's Connection
  // header says which.
  void Send(int status, absl::string_view content_type, absl::string_view body,
            const Headers& headers = {});
  // Starts a response whose body is written with Write until the handler
  // returns (no Content-Length; "Connection: close", and the client closes
  // it once it has read the end). Once, instead of Send. False when the
  // client is gone.
  bool StartStream(int status, absl::string_view content_type,
                   const Headers& headers = {});
  // Writes `data` to a started stream, blocking while the client does not
  // read (up to the listener's request timeout). False when the client is
  // gone or too slow: the handler should return.
  bool Write(absl::string_view data);

  bool responded() const { return responded_; }
  // Makes the response say "Connection: close" (civetweb closes the
  // connection after a request it could not parse). Before Send.
  void CloseAfterResponse() { close_ = true; }

 private:
  bool SendHeaders(int status, absl::string_view content_type,
                   std::optional<size_t> length, const Headers& headers);

  ::mg_connection* const connection_;
  bool responded_ = false;
  bool body_read_ = false;  // ReadBody read the whole request body
  bool close_ = false;
};

struct HttpServerOptions {
  // "HOST:PORT" with an IPv4 address or a name that resolves to one
  // (Debian's civetweb has no IPv6); port 0 picks a free one.
  std::string listen;
  // The flag that gave `listen`, for messages ("--http-listen").
  std::string flag = "--http-listen";
  // Worker threads: the most connections served at once (an event stream
  // holds one for its life); more wait in the listen queue.
  int threads = 2;
  // Keep a connection open for the client's next request (HTTP/1.1),
  // for at most `keep_alive_timeout_ms` of idleness: an idle kept-alive
  // connection holds a worker thread that long.
  bool keep_alive = false;
  int keep_alive_timeout_ms = 500;
  // Most bytes of a request line and headers; larger requests get 413
  // through `error_page`.
  int max_header_bytes = 16 << 10;
  // How long a read or write may block.
  int request_timeout_ms = 10000;
};

// A listener on one address, calling one handler for every request. Plain
// HTTP only: Debian 12's civetweb loads OpenSSL at run time and fails to
// with OpenSSL 3 (its HTTPS connections crash the process), so there is no
// TLS here (README, "Known limits").
// Thread-safe; the destructor stops accepting and waits for the requests in
// progress (a streaming handler must end by itself: see Stop).
class HttpServer {
 public:
  using Handler = std::function<void(HttpExchange&)>;
  // Renders an error civetweb found before any handler ran (malformed
  // request line, headers too large): HTTP `status` and civetweb's text.
  using ErrorPage =
      std::function<void(HttpExchange&, int status, absl::string_view message)>;

  // Starts listening. `handler` runs on a worker thread per request and
  // must respond (a handler that does not gets a 500); it and `error_page`
  // must be thread-safe. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, Handler handler,
      ErrorPage error_page = nullptr);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // The port actually bound (resolves port 0).
  int port() const { return port_; }

 private:
  HttpServer(Handler handler, ErrorPage error_page)
      : handler_(std::move(handler)), error_page_(std::move(error_page)) {}
  static int Handle(::mg_connection* connection, void* self);
  static int HandleError(::mg_connection* connection, int status,
                         const char* message);

  const Handler handler_;
  const ErrorPage error_page_;
  mg_context* context_ = nullptr;
  int port_ = 0;
  // An IPv4 address of the listener that this host can connect to (0 when
  // unknown): the destructor connects to it to wake civetweb's accept loop.
  uint32_t wake_address_ = 0;
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_HTTP_SERVER_H_
