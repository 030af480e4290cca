// Whether factlogd can listen where it was asked to, found out before
// anything else is touched (the data directory above all), so that an
// address in use ends the start with one clear message and no side effect.
#ifndef FACTLOG_SERVER_LISTEN_CHECK_H_
#define FACTLOG_SERVER_LISTEN_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace factlog::server {

// For `listen` ("HOST:PORT", "[IPv6]:PORT"), binds a TCP socket to every
// address HOST resolves to, as gRPC will (without SO_REUSEPORT), and closes
// it again. OK unless a bind fails because the address is in use, and for
// port 0 (any free port) and "unix:" addresses, which are not checked.
// UNAVAILABLE naming the address when it is in use ("is another
// factlogd running?"); INVALID_ARGUMENT when `listen` is not HOST:PORT or
// HOST does not resolve. The check is advisory: another process may
// take the port before gRPC binds it, and gRPC then fails the start.
// Thread-safe.
absl::Status CheckListenAddress(const std::string& listen);

// True when `listen` ("HOST:PORT", "[IPv6]:PORT") names a loopback host
// (localhost, 127.x.y.z, ::1).
bool IsLoopback(absl::string_view listen);

// The rule for every listener that serves the log's data (gRPC's --listen,
// --http-listen): a non-loopback address needs TLS and bearer tokens,
// unless `insecure` says this network is trusted. FAILED_PRECONDITION
// naming the address and what to give otherwise. Thread-safe.
absl::Status CheckExposure(const std::string& listen, bool tls, bool auth,
                           bool insecure);

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_LISTEN_CHECK_H_
