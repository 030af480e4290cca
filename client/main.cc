// factlog: the command-line client of factlogd. See `factlog --help`.
#include <grpc/support/log.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>

#include "client/commands.h"
#include "client/connection.h"
#include "client/values.h"

namespace {

// Help and --version go to stdout with exit 0; anything else CLI11 rejects
// is a usage error: one "error:" line plus a pointer to --help, exit 2.
int ReportParseError(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);
  }
  std::cerr << "error: " << factlog::cli::OneLine(e.what()) << "\n"
            << "run 'factlog --help' (or 'factlog COMMAND --help') for usage\n";
  return factlog::cli::kExitUsage;
}

// gRPC's own log lines (e.g. "Handshake failed ..." on a TLS error) would
// add to the one "error:" line a failure prints, which already carries
// gRPC's reason. They are dropped unless GRPC_VERBOSITY asks for them.
void QuietGrpcLog(gpr_log_func_args* /*args*/) {}

}  // namespace

int main(int argc, char** argv) {
  using factlog::cli::CommandError;
  using factlog::cli::UsageError;
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function(QuietGrpcLog);
  }
  try {
    CLI::App app;
    factlog::cli::GlobalOptions options;
    std::function<int()> action;
    factlog::cli::BuildCli(app, &options, &action);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return ReportParseError(app, e);
    }
    if (!action) {
      std::cerr << "error: no command given; run 'factlog --help'\n";
      return factlog::cli::kExitUsage;
    }
    return action();
  } catch (const UsageError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return factlog::cli::kExitUsage;
  } catch (const CommandError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "error: " << factlog::cli::OneLine(e.what()) << "\n";
    return factlog::cli::kExitRefused;
  } catch (...) {
    std::cerr << "error: unexpected failure\n";
    return factlog::cli::kExitRefused;
  }
}
