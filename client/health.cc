#include "client/health.h"

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace factlog::cli {

namespace health = ::grpc::health::v1;

void AddHealth(CLI::App* app, const GlobalOptions* options,
               std::function<int()>* action) {
  const CLI::Option* timeout = app->get_option("--timeout");
  auto service = std::make_shared<std::string>();
  CLI::App* sub = app->add_subcommand(
      "health",
      "Check that factlogd is serving (grpc.health.v1); exit 0 "
      "only when it is");
  sub->add_option("--service", *service,
                  "Service to ask about (default: the whole server)")
      ->type_name("NAME");
  sub->footer(
      "\nPrints SERVING and exits 0, or prints the status (NOT_SERVING, ...)\n"
      "and exits 1; exit 3 when factlogd cannot be reached. Waits at most\n" +
      absl::StrCat(
          kHealthTimeoutSeconds,
          " seconds unless --timeout is given. No token is needed.\n") +
      "\nExamples:"
      "\n  factlog health"
      "\n  factlog --server factlog.example:50051 --tls-ca ca.pem health"
      "\n  factlog health --timeout 1 || echo 'factlogd is down'");
  sub->callback([action, options, timeout, service] {
    *action = [options, timeout, service] {
      GlobalOptions probe = *options;
      if (timeout->count() == 0) probe.timeout_seconds = kHealthTimeoutSeconds;
      Connection connection(probe);
      auto stub = health::Health::NewStub(connection.channel());
      grpc::ClientContext context;
      connection.PrepareUnary(&context);
      health::HealthCheckRequest request;
      request.set_service(*service);
      health::HealthCheckResponse response;
      connection.Check(stub->Check(&context, request, &response));
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
    };
  });
}

}  // namespace factlog::cli
