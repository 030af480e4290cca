#include "http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/worker_pool.h"
#include "http/connection.h"
#include "http/event_loop.h"
#include "http/transport.h"

namespace factlog::http {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
  }
}

// A header value or name that would break the response's framing.
bool Unsafe(absl::string_view text) {
  return text.find_first_of("\r\n") != absl::string_view::npos;
}

// HOST and PORT of "HOST:PORT" or "[V6]:PORT".
bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size() ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), port) ||
      *port < 0 || *port > 65535) {
    return false;
  }
  *host = listen.substr(0, colon);
  if (absl::StartsWith(*host, "[")) {
    if (!absl::EndsWith(*host, "]") || host->size() < 3) return false;
    *host = host->substr(1, host->size() - 2);
  }
  return host->find_first_of(" ,[]/") == std::string::npos;
}

std::string PeerName(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
    return absl::StrCat(text, ":", port);
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
  inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
  port = ntohs(v6->sin6_port);
  return absl::StrCat("[", text, "]:", port);
}

// A listening socket on `listen` (non-blocking) and its port.
absl::StatusOr<int> Listen(const HttpServerOptions& options, int* port) {
  std::string host;
  int wanted = 0;
  if (!SplitHostPort(options.listen, &host, &wanted)) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.flag, ": want HOST:PORT or [IPv6]:PORT, got \"",
                     options.listen, "\""));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(wanted);
  if (const int e = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      e != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.flag, ": cannot resolve \"", host, "\": ", gai_strerror(e)));
  }
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
      error = std::strerror(errno);
      close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    *port = bound.ss_family == AF_INET
                ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    freeaddrinfo(found);
    return fd;
  }
  freeaddrinfo(found);
  return absl::UnavailableError(
      absl::StrCat("cannot serve HTTP on ", options.listen, ": ", error));
}

// What a connection beyond max_connections gets before it is closed.
std::string BusyResponse() {
  const std::string body =
      "{\"code\":\"UNAVAILABLE\",\"message\":\"too many connections; try "
      "later\"}";
  return absl::StrCat(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; "
      "charset=utf-8\r\nContent-Length: ",
      body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

struct HttpServer::Impl {
  ConnectionContext context;
  std::shared_ptr<TlsContext> tls;
  std::unique_ptr<common::WorkerPool> pool;
  std::vector<std::unique_ptr<EventLoop>> loops;
  int listen_fd = -1;
  int port = 0;
  size_t next_loop = 0;

  // Accepts on loop 0 and hands each connection to a loop in turn.
  class Acceptor final : public EventLoop::Handler {
   public:
    explicit Acceptor(Impl* impl) : impl_(impl) {}
    void OnEvents(uint32_t) override { impl_->AcceptAll(); }
    void OnTick(absl::Time) override {}

   private:
    Impl* const impl_;
  };

  void AcceptAll();
  void Stop();
};

void HttpServer::Impl::AcceptAll() {
  for (;;) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&address),
                           &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log::Warn("http accept failed", {{"error", std::strerror(errno)}});
      }
      return;
    }
    if (context.open.load() >= context.options.max_connections) {
      static const std::string* const busy = new std::string(BusyResponse());
      (void)!send(fd, busy->data(), busy->size(), MSG_NOSIGNAL);
      close(fd);
      continue;
    }
    const int one = 1;
    if (address.ss_family != AF_UNIX) {
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    std::unique_ptr<Transport> transport =
        tls != nullptr ? NewTlsTransport(fd, tls) : NewPlainTransport(fd);
    if (transport == nullptr) {
      close(fd);
      continue;
    }
    EventLoop* loop = loops[next_loop++ % loops.size()].get();
    auto connection = std::make_shared<Connection>(
        fd, PeerName(address), std::move(transport), loop, &context);
    loop->Post([loop, connection, fd] {
      if (loop->Add(fd, EPOLLIN | EPOLLRDHUP, connection)) connection->Begin();
    });
  }
}

void HttpServer::Impl::Stop() {
  for (auto& loop : loops) loop->Stop();
  if (listen_fd >= 0) close(listen_fd);
  listen_fd = -1;
  for (auto& loop : loops) {
    for (auto& handler : loop->TakeHandlers()) {
      if (auto* connection = dynamic_cast<Connection*>(handler.get())) {
        connection->CloseForStop();
      }
    }
  }
  pool.reset();  // the handlers that run finish
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, Handler handler, ErrorPage error_page) {
  auto impl = std::make_unique<Impl>();
  if (options.tls_cert_chain_pem.empty() !=
      options.tls_private_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate chain and its private key");
  }
  if (!options.tls_cert_chain_pem.empty()) {
    absl::StatusOr<std::shared_ptr<TlsContext>> tls = TlsContext::Make(
        options.tls_cert_chain_pem, options.tls_private_key_pem, "--tls-cert",
        "--tls-key");
    if (!tls.ok()) return tls.status();
    impl->tls = *std::move(tls);
  }
  absl::StatusOr<int> fd = Listen(options, &impl->port);
  if (!fd.ok()) return fd.status();
  impl->listen_fd = *fd;
  impl->context.options = options;
  impl->context.handler = std::move(handler);
  impl->context.error_page = std::move(error_page);
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Make();
    if (!loop.ok()) {
      close(impl->listen_fd);
      return loop.status();
    }
    impl->loops.push_back(*std::move(loop));
  }
  impl->pool = std::make_unique<common::WorkerPool>(options.threads);
  impl->context.pool = impl->pool.get();
  Impl* raw = impl.get();
  impl->loops[0]->Post([raw] {
    raw->loops[0]->Add(raw->listen_fd, EPOLLIN,
                       std::make_shared<Impl::Acceptor>(raw));
  });
  for (auto& loop : impl->loops) loop->Start();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

absl::Status CheckTlsMaterial(const std::string& cert_chain_pem,
                              const std::string& private_key_pem) {
  return TlsContext::Make(cert_chain_pem, private_key_pem, "--tls-cert",
                          "--tls-key")
      .status();
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { impl_->Stop(); }

int HttpServer::port() const { return impl_->port; }

size_t HttpServer::connections() const { return impl_->context.open.load(); }

// HttpStream.

void HttpStream::SetListener(std::shared_ptr<Listener> listener) {
  connection_->SetStreamListener(std::move(listener));
}

bool HttpStream::Write(absl::string_view data) {
  return connection_->StreamWrite(data);
}

bool HttpStream::WriteShared(
    absl::Span<std::shared_ptr<const std::string>> parts) {
  return connection_->StreamWriteShared(parts);
}

size_t HttpStream::buffered() const { return connection_->unsent(); }

void HttpStream::Close() { connection_->CloseStream(); }

// HttpExchange.

HttpExchange::HttpExchange(std::shared_ptr<Connection> connection,
                           const ParsedRequest& request)
    : connection_(std::move(connection)), request_(request) {}

absl::string_view HttpExchange::method() const { return request_.method; }
absl::string_view HttpExchange::raw_path() const { return request_.path; }
absl::string_view HttpExchange::query() const { return request_.query; }
const std::string& HttpExchange::peer() const { return request_.peer; }

std::optional<absl::string_view> HttpExchange::header(
    absl::string_view name) const {
  for (const auto& [key, value] : request_.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return absl::string_view(value);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> HttpExchange::ReadBody(size_t max_bytes) {
  if (request_.body_too_large || request_.content_length > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the request body is ", request_.content_length, " bytes; at most ",
        std::min(max_bytes, connection_->context().options.max_body_bytes)));
  }
  return request_.body;
}

std::string HttpExchange::Head(int status, absl::string_view content_type,
                               std::optional<size_t> length, bool keep_alive,
                               const Headers& headers) const {
  std::string head =
      absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\n");
  absl::StrAppend(&head, "Content-Type: ", content_type, "\r\n");
  if (length.has_value()) {
    absl::StrAppend(&head, "Content-Length: ", *length, "\r\n");
  }
  absl::StrAppend(&head, "Connection: ", keep_alive ? "keep-alive" : "close",
                  "\r\n");
  for (const auto& [name, value] : headers) {
    if (Unsafe(name) || Unsafe(value)) continue;
    absl::StrAppend(&head, name, ": ", value, "\r\n");
  }
  head += "\r\n";
  return head;
}

void HttpExchange::Send(int status, absl::string_view content_type,
                        absl::string_view body, const Headers& headers) {
  if (responded_) return;
  responded_ = true;
  const bool keep_alive = connection_->context().options.keep_alive &&
                          request_.keep_alive && !close_ &&
                          !request_.body_too_large;
  connection_->SetKeepAlive(keep_alive);
  std::string response =
      Head(status, content_type, body.size(), keep_alive, headers);
  if (request_.method != "HEAD") response.append(body.data(), body.size());
  connection_->Append(response);
}

std::shared_ptr<HttpStream> HttpExchange::StartStream(
    int status, absl::string_view content_type, const Headers& headers,
    std::string heartbeat, absl::Duration heartbeat_interval) {
  if (responded_) return nullptr;
  responded_ = true;
  connection_->SetKeepAlive(false);
  connection_->BeginStream(std::move(heartbeat), heartbeat_interval);
  auto stream = std::make_shared<HttpStream>(connection_);
  connection_->Append(Head(status, content_type, std::nullopt, false, headers));
  return stream;
}

}  // namespace factlog::http
