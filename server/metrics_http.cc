#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"

namespace factlog::server {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

int LogMessage(const ::mg_connection*, const char* message) {
  log::Warn("metrics listener", {{"error", message}});
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

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render) {
  // civetweb reads more than HOST:PORT in this option (lists, "s" for TLS,
  // "r" for redirects): accept exactly one plain address.
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      listen.find_first_of(",[] ") != std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port) ||
      port < 0 || port > 65535 ||
      listen.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics-listen: want HOST:PORT with an IPv4 address or host name, "
        "got \"",
        listen, "\""));
  }
  static std::once_flag initialized;
  std::call_once(initialized, [] { mg_init_library(0); });

  std::unique_ptr<MetricsHttpServer> server(
      new MetricsHttpServer(std::move(render)));
  const char* options[] = {"listening_ports",
                           listen.c_str(),
                           "num_threads",
                           "2",
                           "request_timeout_ms",
                           "10000",
                           "enable_keep_alive",
                           "no",
                           nullptr};
  struct mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  callbacks.log_message = &LogMessage;
  char error_text[256] = "";
  unsigned error_code = 0;
  struct mg_error_data error = {&error_code, error_text, sizeof(error_text)};
  struct mg_init_data init = {&callbacks, server.get(), options};
  server->context_ = mg_start2(&init, &error);
  if (server->context_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ",
                     error_text[0] != '\0' ? error_text : "civetweb failed"));
  }
  mg_set_request_handler(server->context_, "/metrics$",
                         &MetricsHttpServer::Handle, server.get());
  struct mg_server_port ports[4];
  const int n = mg_get_server_ports(server->context_, 4, ports);
  if (n < 1) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": no port bound"));
  }
  server->port_ = ports[0].port;
  server->wake_address_ = WakeAddress(listen.substr(0, colon));
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
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

int MetricsHttpServer::Handle(::mg_connection* connection, void* self) {
  const struct mg_request_info* request = mg_get_request_info(connection);
  const bool head = std::strcmp(request->request_method, "HEAD") == 0;
  if (!head && std::strcmp(request->request_method, "GET") != 0) {
    mg_send_http_error(connection, 405, "only GET /metrics\n");
    return 405;
  }
  const std::string body = static_cast<MetricsHttpServer*>(self)->render_();
  mg_send_http_ok(connection, kContentType,
                  static_cast<long long>(body.size()));
  if (!head) mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace factlog::server
