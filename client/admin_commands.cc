// `factlog admin ...` and `factlog health`: for operators.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "client/format_stats.h"
#include "client/subcommands.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace factlog::cli {
namespace {

namespace health = ::grpc::health::v1;

// How long `factlog health` waits without a global --timeout: a probe's
// budget rather than a command's.
constexpr double kHealthTimeoutSeconds = 3;

void AddAdminStats(CLI::App* admin, const GlobalOptions* g, Action* action) {
  CLI::App* sub = admin->add_subcommand(
      "stats",
      "Server statistics: log position, disk, live subscribers, and since "
      "start the commands, events, refusals, commit latency, RocksDB and "
      "memory figures /metrics shows");
  sub->footer(Examples({
      "factlog admin stats",
      "factlog admin stats -o json | jq '.subscriber[] | {peer, lag}'",
  }));
  OnRun(sub, action, [g] {
    return PrintAdminAnswer(*g, &v1::AdminService::Stub::GetStats, RenderStats);
  });
}

void AddAdminBackup(CLI::App* admin, const GlobalOptions* g, Action* action) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = admin->add_subcommand(
      "backup",
      "Online, consistent backup of the server's data into a new directory "
      "on the server's filesystem (writes go on meanwhile)");
  AddArgument(sub, "DIR", dir.get(),
              "directory on the server host; must not exist yet. A relative "
              "DIR is relative to factlogd's working directory, not yours");
  sub->footer(
      "\nDIR is a path on the server host: a relative one lands under the\n"
      "directory factlogd was started in. The reply names the absolute path\n"
      "used. Restore on the server host with:\n"
      "  factlogd --restore-from DIR --data-dir NEW-DIR\n" +
      Examples({"factlog admin backup /var/backups/factlog/2026-11-25"}));
  OnRun(sub, action, [g, dir] {
    v1::BackupRequest request;
    request.set_dir(*dir);
    Connection connection(*g);
    const v1::BackupResponse response = connection.Call(
        connection.admin(), &v1::AdminService::Stub::Backup, request);
    if (g->json()) {
      std::cout << JsonLine(response);
    } else {
      std::cout << "backed up events 1.." << response.last_position() << " to "
                << response.dir() << " (on the server host)\n";
    }
    return kExitOk;
  });
}

}  // namespace

void AddAdminCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action) {
  CLI::App* admin = AddCommandGroup(
      app, "admin", "Server administration",
      Examples({"factlog admin stats",
                "factlog admin backup /var/backups/factlog/today"}));
  AddAdminStats(admin, options, action);
  AddAdminBackup(admin, options, action);
}

// `factlog health`: whether factlogd is serving, from the standard gRPC
// health service (grpc.health.v1.Health/Check), for container and
// Kubernetes probes, systemd and scripts.
//
// The check goes over the same channel as every command (TLS, client
// certificate and token from the global options; factlogd answers health
// without a token, so none is needed). Without a global --timeout it waits
// at most kHealthTimeoutSeconds.
//
// Prints the serving status on stdout ("SERVING", "NOT_SERVING", ...) or,
// with --output json, the HealthCheckResponse. Exit codes follow
// connection.h: 0 only for SERVING; 1 for any other status and for a
// refused check (an unknown --service is "error: NOT_FOUND: ...", listing
// the services there are); 3 when
// factlogd cannot be reached ("error: cannot reach factlogd at ...").
void AddHealthCommand(CLI::App* app, const GlobalOptions* options,
                      Action* action) {
  const CLI::Option* timeout = app->get_option("--timeout");
  auto service = std::make_shared<std::string>();
  CLI::App* sub = app->add_subcommand(
      "health",
      "Check that factlogd is serving (grpc.health.v1); exit 0 "
      "only when it is");
  sub->add_option("--service", *service,
                  "Service to ask about: factlog.v1.ClaimService, "
                  "factlog.v1.EventService or factlog.v1.AdminService "
                  "(default: the whole server)")
      ->type_name("NAME");
  sub->footer(
      "\nPrints SERVING and exits 0, or prints the status (NOT_SERVING, ...)\n"
      "and exits 1; exit 3 when factlogd cannot be reached. Waits at most\n" +
      absl::StrCat(
          kHealthTimeoutSeconds,
          " seconds unless --timeout is given. No token is needed.\n") +
      Examples({
          "factlog health",
          "factlog --server factlog.example:50051 --tls-ca ca.pem health",
          "factlog health --timeout 1 || echo 'factlogd is down'",
      }));
  OnRun(sub, action, [options, timeout, service] {
    GlobalOptions probe = *options;
    if (timeout->count() == 0) probe.timeout_seconds = kHealthTimeoutSeconds;
    Connection connection(probe);
    auto stub = health::Health::NewStub(connection.channel());
    health::HealthCheckRequest request;
    request.set_service(*service);
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    health::HealthCheckResponse response;
    const grpc::Status status = stub->Check(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      const std::vector<std::string> services = {
          v1::ClaimService::service_full_name(),
          v1::EventService::service_full_name(),
          v1::AdminService::service_full_name()};
      throw CommandError(kExitRefused,
                         absl::StrCat("NOT_FOUND: no service \"", *service,
                                      "\"; --service takes one of ",
                                      absl::StrJoin(services, ", "),
                                      ", or nothing for the whole server"),
                         "NOT_FOUND");
    }
    connection.Check(status);
    if (probe.json()) {
      std::cout << JsonLine(response);
    } else {
      std::cout << health::HealthCheckResponse::ServingStatus_Name(
                       response.status())
                << "\n";
    }
    return response.status() == health::HealthCheckResponse::SERVING
               ? kExitOk
               : kExitRefused;
  });
}

}  // namespace factlog::cli
