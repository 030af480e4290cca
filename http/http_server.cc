#include "http/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace factlog::http {
namespace {

int LogMessage(const ::mg_connection*, const char* message) {
  log::Warn("http listener", {{"error", message}});
  return 1;  // handled: civetweb writes nothing itself
}

// The IPv4 address (network order) to connect to for a listener on `host`,
// or 0.
uint32_t WakeAddress(const std::string& host) {
  if (host == "0.0.0.0") return htonl(INADDR_LOOPBACK);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return 0;
  const uint32_t address =
      reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr.s_addr;
  freeaddrinfo(found);
  return address;
}

// Opens and at once closes a connection to address:port.
void Poke(uint32_t address, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = address;
  (void)connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  close(fd);
}

}  // namespace

HttpExchange::HttpExchange(::mg_connection* connection)
    : connection_(connection) {}

absl::string_view HttpExchange::method() const {
  const char* method = mg_get_request_info(connection_)->request_method;
  return method != nullptr ? method : "";
}

absl::string_view HttpExchange::raw_path() const {
  const mg_request_info* info = mg_get_request_info(connection_);
  return info->local_uri_raw != nullptr ? info->local_uri_raw : "";
}

absl::string_view HttpExchange::query() const {
  const char* query = mg_get_request_info(connection_)->query_string;
  return query != nullptr ? query : "";
}

std::optional<absl::string_view> HttpExchange::header(
    absl::string_view name) const {
  const mg_request_info* info = mg_get_request_info(connection_);
  for (int i = 0; i < info->num_headers; ++i) {
    if (absl::EqualsIgnoreCase(info->http_headers[i].name, name)) {
      return absl::string_view(info->http_headers[i].value);
    }
  }
  return std::nullopt;
}

std::string HttpExchange::peer() const {
  const mg_request_info* info = mg_get_request_info(connection_);
  return absl::StrCat(info->remote_addr, ":", info->remote_port);
}

absl::StatusOr<std::string> HttpExchange::ReadBody(size_t max_bytes) {
  const long long declared = mg_get_request_info(connection_)->content_length;
  if (declared > static_cast<long long>(max_bytes)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the request body is ", declared, " bytes; at most ", max_bytes));
  }
  std::string body;
  char buffer[16384];
  for (;;) {
    const int n = mg_read(connection_, buffer, sizeof(buffer));
    if (n < 0) return absl::UnavailableError("the client stopped sending");
    if (n == 0) {
      body_read_ = true;
      break;
    }
    body.append(buffer, static_cast<size_t>(n));
    if (body.size() > max_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the request body is longer than ", max_bytes, " bytes"));
    }
  }
  return body;
}

bool HttpExchange::SendHeaders(int status, absl::string_view content_type,
                               std::optional<size_t> length,
                               const Headers& headers) {
  responded_ = true;
  // civetweb's response API: it records the status, adds Date, and says
  // "Connection: keep-alive" exactly when it will read another request
  // from this connection (README, "Web view").
  if (mg_response_header_start(connection_, status) != 0) return false;
  const std::string type(content_type);
  mg_response_header_add(connection_, "Content-Type", type.c_str(), -1);
  // A body of unknown length ends when the connection closes; a request
  // body left unread would be drained before the next request: both close.
  const long long declared = mg_get_request_info(connection_)->content_length;
  const bool body_unread =
      !body_read_ && (declared > 0 || header("Transfer-Encoding").has_value());
  if (length.has_value()) {
    const std::string text = std::to_string(*length);
    mg_response_header_add(connection_, "Content-Length", text.c_str(), -1);
  }
  if (!length.has_value() || body_unread || close_) {
    mg_response_header_add(connection_, "Connection", "close", -1);
  }
  for (const auto& [name, value] : headers) {
    mg_response_header_add(connection_, name.c_str(), value.c_str(),
                           static_cast<int>(value.size()));
  }
  return mg_response_header_send(connection_) == 0;
}

void HttpExchange::Send(int status, absl::string_view content_type,
                        absl::string_view body, const Headers& headers) {
  if (responded_) return;
  if (!SendHeaders(status, content_type, body.size(), headers)) return;
  if (method() != "HEAD" && !body.empty()) {
    mg_write(connection_, body.data(), body.size());
  }
}

bool HttpExchange::StartStream(int status, absl::string_view content_type,
                               const Headers& headers) {
  if (responded_) return false;
  return SendHeaders(status, content_type, std::nullopt, headers);
}

bool HttpExchange::Write(absl::string_view data) {
  return mg_write(connection_, data.data(), data.size()) ==
         static_cast<int>(data.size());
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, Handler handler, ErrorPage error_page) {
  // civetweb reads more than HOST:PORT in this option (lists, "s" for TLS,
  // "r" for redirects): accept exactly one plain address.
  const std::string& listen = options.listen;
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      listen.find_first_of(",[] ") != std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) ||
      port < 0 || port > 65535 ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.flag,
                     ": want HOST:PORT with an IPv4 address or host name, "
                     "got \"",
                     listen, "\""));
  }
  static std::once_flag initialized;
  std::call_once(initialized, [] { mg_init_library(0); });

  std::unique_ptr<HttpServer> server(
      new HttpServer(std::move(handler), std::move(error_page)));
  const std::string threads = std::to_string(options.threads);
  const std::string header_bytes = std::to_string(options.max_header_bytes);
  const std::string timeout = std::to_string(options.request_timeout_ms);
  const std::string keep_alive_ms =
      std::to_string(options.keep_alive_timeout_ms);
  // civetweb writes a response's header lines one by one: tcp_nodelay
  // keeps Nagle's algorithm from holding them back for the client's
  // delayed ACK on a kept-alive connection.
  std::vector<const char*> civet_options = {
      "listening_ports",       listen.c_str(),                     //
      "num_threads",           threads.c_str(),                    //
      "request_timeout_ms",    timeout.c_str(),                    //
      "enable_keep_alive",     options.keep_alive ? "yes" : "no",  //
      "keep_alive_timeout_ms", keep_alive_ms.c_str(),              //
      "tcp_nodelay",           "1",                                //
      "max_request_size",      header_bytes.c_str()};
  civet_options.push_back(nullptr);
  struct mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &LogMessage;
  callbacks.http_error = &HttpServer::HandleError;
  char error_text[256] = "";
  unsigned error_code = 0;
  struct mg_error_data error = {&error_code, error_text, sizeof(error_text)};
  struct mg_init_data init = {&callbacks, server.get(), civet_options.data()};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", listen, ": ",
                     error_text[0] != '\0' ? error_text : "civetweb failed"));
  }
  mg_set_request_handler(server->context_, "/", &HttpServer::Handle,
                         server.get());
  struct mg_server_port bound[4];
  const int n = mg_get_server_ports(server->context_, 4, bound);
  if (n < 1) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", listen, ": no port bound"));
  }
  server->port_ = bound[0].port;
  server->wake_address_ = WakeAddress(listen.substr(0, colon));
  return server;
}

HttpServer::~HttpServer() {
  if (context_ == nullptr) return;
  // civetweb's accept loop polls for 2 s before it looks at the stop flag
  // again; a connection (closed at once, so no worker waits on it) wakes
  // it, so factlogd stops without that delay.
  std::atomic<bool> stopped{false};
  std::thread poke;
  if (wake_address_ != 0) {
    poke = std::thread([this, &stopped] {
      while (!stopped.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!stopped.load()) Poke(wake_address_, port_);
      }
    });
  }
  mg_stop(context_);
  stopped = true;
  if (poke.joinable()) poke.join();
}

int HttpServer::Handle(::mg_connection* connection, void* self) {
  HttpExchange exchange(connection);
  static_cast<HttpServer*>(self)->handler_(exchange);
  if (!exchange.responded()) {
    exchange.Send(500, "text/plain; charset=utf-8", "no response\n");
  }
  return 200;  // handled; civetweb adds nothing
}

int HttpServer::HandleError(::mg_connection* connection, int status,
                            const char* message) {
  auto* server =
      static_cast<HttpServer*>(mg_get_user_data(mg_get_context(connection)));
  if (server == nullptr || !server->error_page_) return 1;
  HttpExchange exchange(connection);
  exchange.CloseAfterResponse();  // civetweb closes after a request it refused
  server->error_page_(exchange, status, message != nullptr ? message : "");
  return exchange.responded() ? 0 : 1;
}

}  // namespace factlog::http
