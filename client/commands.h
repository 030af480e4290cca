// The factlog command tree: global options and every subcommand, built on a
// CLI11 App. Each noun's subcommands live in a file of their own (see
// subcommands.h).
//
// BuildCli() only declares options; nothing talks to the server while the
// command line is parsed. After app.parse() succeeds, *action holds the
// selected subcommand. Running it sends the request(s), prints the result on
// stdout (a table, or one canonical JSON object per line with --output json)
// and returns the exit code; failures are thrown as UsageError (exit 2) or
// CommandError (exit 1 or 3, see connection.h) for main() to report.
#ifndef FACTLOG_CLIENT_COMMANDS_H_
#define FACTLOG_CLIENT_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "client/connection.h"

namespace factlog::cli {

// `options` and `action` must outlive `app`.
void BuildCli(CLI::App& app, GlobalOptions* options,
              std::function<int()>* action);

// For a command line `app` refused (`args`: argv without the program
// name): when a word stands where a subcommand of `app` (built by BuildCli)
// belongs but names none, "unknown command \"claims\" for 'factlog'; did
// you mean 'factlog claim'? (commands: claim, evidence, ...)"; else "".
std::string UnknownCommandMessage(CLI::App& app,
                                  const std::vector<std::string>& args);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_COMMANDS_H_
