// `factlog import FILE.jsonl`: bulk loading over the client-streaming
// ClaimService.Import RPC.
//
// The file is JSON Lines: each non-blank line that does not start with '#' is
// the canonical JSON of one factlog.v1.Command (camelCase or snake_case field
// names). The whole file is parsed before anything is sent, so a malformed
// line sends nothing. The server applies the commands in order and stops at
// the first one it rejects: the commands before it stay applied, nothing from
// it onward is applied, and its error message starts with "command N: "
// (1-based among the commands sent), which RunImport maps back to the line.
#ifndef FACTLOG_CLIENT_IMPORT_H_
#define FACTLOG_CLIENT_IMPORT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/connection.h"
#include "factlog/v1/service.pb.h"

namespace factlog::cli {

struct ImportItem {
  int line = 0;  // 1-based line number in the file
  factlog::v1::Command command;
};

// Parses JSON Lines `text`; `name` only labels errors. A command without a
// request_id gets "import:<FNV-1a 64 of its canonical JSON>" (a repeat of an
// identical line also gets its occurrence number), so importing the same
// file again — or a fixed version of a file whose import stopped halfway —
// applies nothing twice. Throws UsageError "NAME:LINE: <reason>" for a line
// that is not a Command or carries none.
std::vector<ImportItem> ParseImportText(absl::string_view name,
                                        absl::string_view text);

// The contents of `path` ("-" reads stdin). Throws UsageError when it
// cannot be read.
std::string ReadInput(const std::string& path);

// ParseImportText on the contents of `path` ("-" reads stdin). Throws
// UsageError when the file cannot be read.
std::vector<ImportItem> ParseImportFile(const std::string& path);

// For a server message "command 3: claim \"x\" not found" returns
// {3, "claim \"x\" not found"}; nullopt when the message has no such prefix.
std::optional<std::pair<size_t, std::string>> SplitCommandIndex(
    absl::string_view message);

// The line an import ends with: "imported N commands: A recorded, D
// already applied; the last at position P", or, when every command had
// been applied before, "nothing new: all N commands were already applied
// (the last at position P)" (P is where the file's commands reached, not
// necessarily the log's end).
std::string ImportSummary(const factlog::v1::ImportResponse& response);

// Parses `path`, sends its commands and prints the outcome (ImportSummary,
// or the ImportResponse as JSON). A refused command is reported as
// "NAME:LINE: CODE: message (the K commands before it are applied, ...)".
// Returns the exit code; throws UsageError and CommandError like every command.
int RunImport(const std::string& path, const GlobalOptions& options);

// Sends `items` over one Import call and prints the outcome as RunImport
// does; a refused command is reported as "NAME:LINE: CODE: message".
int SendImport(const std::vector<ImportItem>& items, const std::string& name,
               const GlobalOptions& options);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_IMPORT_H_
