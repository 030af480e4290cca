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

#include "client/connection.h"

namespace factlog::cli {

// `options` and `action` must outlive `app`.
void BuildCli(CLI::App& app, GlobalOptions* options,
              std::function<int()>* action);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_COMMANDS_H_
