#include "server/listen_check.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace factlog::server {

absl::Status CheckListenAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return absl::OkStatus();
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", listen, ": expected HOST:PORT (e.g. localhost:50051)"));
  }
  absl::string_view host = absl::string_view(listen).substr(0, colon);
  const std::string port(listen.substr(colon + 1));
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 0 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", listen, ": the port must be a number from 0 to 65535"));
  }
  if (port_number == 0) return absl::OkStatus();
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string host_name(host);
  if (const int error =
          getaddrinfo(host_name.empty() ? nullptr : host_name.c_str(),
                      port.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen ", listen, ": cannot resolve ", host_name, ": ",
                     gai_strerror(error)));
  }
  absl::Status status;
  for (addrinfo* a = found; a != nullptr && status.ok(); a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;  // a family this host lacks: gRPC skips it too
    const int on = 1;
    // As gRPC's listener: reuse of a port in TIME_WAIT is fine, sharing a
    // port another process listens on is not.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (a->ai_family == AF_INET6) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    // Other failures (an address family this host cannot bind) are left
    // to gRPC, which serves on the addresses it can bind.
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE) {
      status = absl::UnavailableError(
          absl::StrCat("cannot listen on ", listen,
                       ": the address is in use (is another factlogd "
                       "running? give another --listen port)"));
    }
    close(fd);
  }
  freeaddrinfo(found);
  return status;
}

bool IsLoopback(absl::string_view listen) {
  absl::string_view host = listen.substr(0, listen.rfind(':'));
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::Status CheckExposure(const std::string& listen, bool tls, bool auth,
                           bool insecure) {
  if (IsLoopback(listen) || (tls && auth) || insecure) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrFormat(
      "refusing to serve %s without TLS and authentication: give "
      "--tls-cert/--tls-key and --auth-tokens, or --insecure if this "
      "network is trusted",
      listen));
}

}  // namespace factlog::server
