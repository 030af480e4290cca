// `factlog health`: whether factlogd is serving, from the standard gRPC
// health service (grpc.health.v1.Health/Check), for container and
// Kubernetes probes, systemd and scripts.
//
// The check goes over the same channel as every command (TLS, client
// certificate and token from the global options; factlogd answers health
// without a token, so none is needed). Without a global --timeout it waits
// at most kHealthTimeoutSeconds, a probe's budget rather than a command's.
//
// Prints the serving status on stdout ("SERVING", "NOT_SERVING", ...) or,
// with --output json, the HealthCheckResponse. Exit codes follow
// connection.h: 0 only for SERVING; 1 for any other status and for a
// refused check (an unknown --service is "error: NOT_FOUND: ..."); 3 when
// factlogd cannot be reached ("error: cannot reach factlogd at ...").
#ifndef FACTLOG_CLIENT_HEALTH_H_
#define FACTLOG_CLIENT_HEALTH_H_

#include <CLI/CLI.hpp>
#include <functional>

#include "client/connection.h"

namespace factlog::cli {

inline constexpr double kHealthTimeoutSeconds = 3;

// Adds the `health` subcommand to `app`, which must already have the global
// --timeout option. `options` and `action` must outlive `app`.
void AddHealth(CLI::App* app, const GlobalOptions* options,
               std::function<int()>* action);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_HEALTH_H_
