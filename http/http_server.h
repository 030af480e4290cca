// factlogd's HTTP/1.1 listener, our own (docs/ARCHITECTURE.md, "http/"):
// event loops over non-blocking sockets (epoll), TLS with OpenSSL when
// given a certificate, a small pool of worker threads for handlers, and
// streamed responses (Server-Sent Events) that hold no thread. Serves
// --metrics-listen (server/metrics_http.h) and --http-listen
// (http/web_handler.h). The pieces: http/request_parser.h (what a request
// may look like), http/connection.h (one connection's state),
// http/event_loop.h, http/tls.h, common/worker_pool.h.
//
// What a client may send, and what it gets otherwise (each error a
// response rendered by the ErrorPage, then the connection closes):
//   request line longer than max_request_line_bytes      414
//   request line and headers longer than max_header_bytes 431
//   more than max_headers header lines                    431
//   a malformed request line or header, a bad or second
//   differing Content-Length, Content-Length with
//   Transfer-Encoding                                     400
//   Transfer-Encoding (chunked request bodies)            501
//   a version other than HTTP/1.0 or HTTP/1.1             505
//   a request not complete within request_timeout_ms     408
// A body longer than max_body_bytes is not read: the handler's ReadBody
// says RESOURCE_EXHAUSTED, and the connection closes after the response.
#ifndef FACTLOG_HTTP_HTTP_SERVER_H_
#define FACTLOG_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace factlog::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

class Connection;
struct ParsedRequest;

// A streamed response's body (HttpExchange::StartStream): written from any
// thread without blocking, sent by the connection's event loop as the
// client reads. The client that stops reading is dropped once its bytes
// wait longer than HttpServerOptions::write_timeout_ms or exceed
// max_stream_buffer_bytes (with a log line naming it); a producer keeps
// what it writes bounded by writing only while buffered() is small, and
// resumes on Listener::Drained. Thread-safe.
class HttpStream {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // Everything written so far was sent: write more if there is more.
    // Called on an event loop thread; must not block.
    virtual void Drained() = 0;
    // The stream is over (the client left or was dropped, Close was
    // called and the bytes sent, or the server stops): Write returns
    // false from now on. Called once, on an event loop thread or in the
    // server's destructor; must not block. The stream then lets go of its
    // listener.
    virtual void Closed() = 0;
  };

  explicit HttpStream(std::shared_ptr<Connection> connection)
      : connection_(std::move(connection)) {}

  // Sets the listener; the stream holds it until Closed was called. Once.
  // When the stream is already over, calls Closed at once.
  void SetListener(std::shared_ptr<Listener> listener);
  // Appends `data` to what the client is sent. False when the stream is
  // over (nothing appended) or `data` would take the unsent bytes past
  // max_stream_buffer_bytes (then the client is dropped).
  bool Write(absl::string_view data);
  // Write of `parts` in order, without copying their bytes: the stream
  // takes the references (`parts` are left null) and holds them until the
  // bytes are sent, so bytes many streams send (an event's SSE frame) are
  // made once and shared, and go out with what else is queued in one write
  // (writev). On false, `parts` are left as they were.
  bool WriteShared(absl::Span<std::shared_ptr<const std::string>> parts);
  // Bytes written and not yet sent.
  size_t buffered() const;
  // Ends the stream: the connection closes once what was written is sent.
  void Close();

 private:
  const std::shared_ptr<Connection> connection_;
};

// One request and its response, on the worker thread that runs the
// handler (or, for an ErrorPage, the event loop's). Not thread-safe: used
// by that thread only, and only while the handler runs.
class HttpExchange {
 public:
  HttpExchange(std::shared_ptr<Connection> connection,
               const ParsedRequest& request);
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  // "GET", "POST", ... as sent ("" for a request that did not parse).
  absl::string_view method() const;
  // The path as sent, still percent-encoded, without the query.
  absl::string_view raw_path() const;
  // The query as sent (after '?'), or "".
  absl::string_view query() const;
  // The value of header `name` (case-insensitive; the first of several),
  // or nullopt.
  std::optional<absl::string_view> header(absl::string_view name) const;
  // "ADDRESS:PORT" of the client.
  const std::string& peer() const;

  // The whole request body, read before the handler ran. RESOURCE_EXHAUSTED
  // when it is (or says it is) longer than `max_bytes` or the listener's
  // max_body_bytes.
  absl::StatusOr<std::string> ReadBody(size_t max_bytes);

  // Sends a complete response with Content-Length, then `headers` (no body
  // for HEAD). Once. The connection stays open for the client's next
  // request when the listener keeps connections alive, the client wants it
  // (HTTP/1.1 without "Connection: close") and its body was read; the
  // response's Connection header says which.
  void Send(int status, absl::string_view content_type, absl::string_view body,
            const Headers& headers = {});
  // Starts a response whose body is the returned stream's (no
  // Content-Length; "Connection: close": the stream's end is the
  // connection's). Once, instead of Send. `heartbeat`, when not empty, is
  // written whenever nothing else was for `heartbeat_interval` (it finds
  // out whether the client is still there). The handler may return at
  // once; the stream lives until it is closed or the client leaves.
  std::shared_ptr<HttpStream> StartStream(
      int status, absl::string_view content_type, const Headers& headers,
      std::string heartbeat = "",
      absl::Duration heartbeat_interval = absl::Seconds(15));

  bool responded() const { return responded_; }
  // Makes the response say "Connection: close" and end the connection.
  // Before Send.
  void CloseAfterResponse() { close_ = true; }

 private:
  std::string Head(int status, absl::string_view content_type,
                   std::optional<size_t> length, bool keep_alive,
                   const Headers& headers) const;

  const std::shared_ptr<Connection> connection_;
  const ParsedRequest& request_;
  bool responded_ = false;
  bool close_ = false;
};

struct HttpServerOptions {
  // "HOST:PORT" or "[IPv6]:PORT"; port 0 picks a free one.
  std::string listen;
  // The flag that gave `listen`, for messages ("--http-listen").
  std::string flag = "--http-listen";
  // TLS: a PEM certificate chain and its private key (both, or neither
  // for plain HTTP). TLS 1.2 and later.
  std::string tls_cert_chain_pem;
  std::string tls_private_key_pem;
  // Worker threads running handlers: the most requests handled at once
  // (streams hold none once started); more wait in a queue.
  int threads = 2;
  // Event loop threads doing all socket reads and writes.
  int io_threads = 1;
  // Keep a connection open for the client's next request (HTTP/1.1), for
  // at most `keep_alive_timeout_ms` of idleness.
  bool keep_alive = false;
  int keep_alive_timeout_ms = 5000;
  // Limits on what a client sends (the table at the top).
  size_t max_request_line_bytes = 8 << 10;
  size_t max_header_bytes = 16 << 10;
  size_t max_headers = 100;
  size_t max_body_bytes = 4 << 20;
  // How long a request may take to arrive, from its first byte (or the
  // connection's start) to its last.
  int request_timeout_ms = 10000;
  // How long bytes may wait unsent before the client is dropped.
  int write_timeout_ms = 10000;
  // The most unsent bytes of a streamed response.
  size_t max_stream_buffer_bytes = 1 << 20;
  // Open connections beyond this are answered 503 and closed.
  size_t max_connections = 10000;
};

// A listener on one address, calling one handler for every request.
// Thread-safe. The destructor stops accepting, closes every connection
// (streams get Listener::Closed) and waits for the handlers that run.
class HttpServer {
 public:
  using Handler = std::function<void(HttpExchange&)>;
  // Renders an error found before any handler ran (the table at the top):
  // HTTP `status` and what was wrong, in words. Runs on an event loop
  // thread: must not block.
  using ErrorPage =
      std::function<void(HttpExchange&, int status, absl::string_view message)>;

  // Starts listening. `handler` runs on a worker thread per request and
  // must respond (a handler that does not gets a 500); it and
  // `error_page` must be thread-safe (without an error page, errors get a
  // plain-text body). INVALID_ARGUMENT for a malformed address or TLS
  // material that does not load (the message says which and why);
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, Handler handler,
      ErrorPage error_page = nullptr);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // The port actually bound (resolves port 0).
  int port() const;
  // Connections open now.
  size_t connections() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether a PEM certificate chain and private key make a TLS configuration
// (what Start does with them), so that a caller can refuse bad files
// before it touches anything else. INVALID_ARGUMENT naming --tls-cert or
// --tls-key and what OpenSSL found wrong. Thread-safe.
absl::Status CheckTlsMaterial(const std::string& cert_chain_pem,
                              const std::string& private_key_pem);

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_HTTP_SERVER_H_
