// factlog: the command-line client of factlogd. See `factlog --help`.
#include <google/protobuf/struct.pb.h>
#include <grpc/support/log.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "client/commands.h"
#include "client/connection.h"
#include "client/format.h"
#include "client/values.h"
#include "client/verify.h"

namespace {

using factlog::cli::kExitRefused;
using factlog::cli::kExitUsage;

// Whether errors are to be JSON: -o/--output json or jsonl. Read from the
// command line itself, as a refused command line was never parsed.
bool JsonRequested(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") break;
    absl::string_view value;
    if ((arg == "-o" || arg == "--output") && i + 1 < args.size()) {
      value = args[i + 1];
    } else if (absl::ConsumePrefix(&arg, "--output=") ||
               absl::ConsumePrefix(&arg, "-o")) {
      value = arg;
    } else {
      continue;
    }
    if (value == "json" || value == "jsonl") return true;
  }
  return false;
}

// Error codes of the JSON form for failures that are not the server's.
std::string CodeForExit(int exit_code) {
  switch (exit_code) {
    case kExitUsage:
      return "USAGE";
    case factlog::cli::kExitUnreachable:
      return "UNREACHABLE";
    case factlog::cli::kExitVerificationFailed:
      return "VERIFICATION_FAILED";
    default:
      return "FAILED";
  }
}

// Prints the error on stderr: "error: MESSAGE", or with JSON output
// {"error": {"code": CODE, "message": MESSAGE, "exitCode": N}} on one line,
// where a server's refusal has its status code and the message without it.
// Returns `exit_code`.
int ReportError(bool json, int exit_code, const std::string& message,
                const std::string& code = "", const std::string& hint = "") {
  if (!json) {
    std::cerr << "error: " << message << "\n" << hint;
    return exit_code;
  }
  absl::string_view text = message;
  if (!code.empty()) absl::ConsumePrefix(&text, code + ": ");
  google::protobuf::Struct error;
  auto& fields = *error.mutable_fields();
  fields["code"].set_string_value(code.empty() ? CodeForExit(exit_code) : code);
  fields["message"].set_string_value(std::string(text));
  fields["exitCode"].set_number_value(exit_code);
  google::protobuf::Struct out;
  *(*out.mutable_fields())["error"].mutable_struct_value() = error;
  std::cerr << factlog::cli::JsonLine(out);
  return exit_code;
}

// Help and --version go to stdout with exit 0; anything else CLI11 rejects
// is a usage error: one "error:" line plus a pointer to --help, exit 2. A
// misspelt command is named, with the closest one.
int ReportParseError(CLI::App& app, const CLI::ParseError& e,
                     const std::vector<std::string>& args) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);
  }
  std::string message = factlog::cli::UnknownCommandMessage(app, args);
  if (message.empty()) message = factlog::cli::OneLine(e.what());
  return ReportError(
      JsonRequested(args), kExitUsage, message, "",
      "run 'factlog --help' (or 'factlog COMMAND --help') for usage\n");
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
  const std::vector<std::string> args(argv + 1, argv + argc);
  factlog::cli::GlobalOptions options;
  options.screen_width = factlog::cli::OutputWidth(STDOUT_FILENO);
  const bool json = JsonRequested(args);
  try {
    CLI::App app;
    std::function<int()> action;
    factlog::cli::BuildCli(app, &options, &action);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return ReportParseError(app, e, args);
    }
    if (!action) {
      return ReportError(json, kExitUsage,
                         "no command given; run 'factlog --help'");
    }
    return action();
  } catch (const UsageError& e) {
    return ReportError(json, kExitUsage, e.what());
  } catch (const CommandError& e) {
    return ReportError(json, e.exit_code(), e.what(), e.code());
  } catch (const std::exception& e) {
    return ReportError(json, kExitRefused, factlog::cli::OneLine(e.what()));
  } catch (...) {
    return ReportError(json, kExitRefused, "unexpected failure");
  }
}
