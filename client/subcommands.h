// Internal to client/: the subcommands of `factlog`, one file per noun, and
// the pieces they are built from. Outside client/, BuildCli (commands.h) is
// the way in.
//
// Each Add*Command(s) function below adds its noun's subcommands to `app`
// (the top-level App, which already has the global options) and only
// declares options: nothing talks to the server while the command line is
// parsed. When one of them is the subcommand given, its callback stores the
// code to run in *action (see OnRun); that code sends the request(s), prints
// the result on stdout (a table, or one canonical JSON object per line with
// --output json) and returns the exit code, throwing UsageError (values.h)
// or CommandError (connection.h) for main() to report. `options` and
// `action` must outlive `app`. The order BuildCli calls them in is the order
// `factlog --help` lists the commands in.
#ifndef FACTLOG_CLIENT_SUBCOMMANDS_H_
#define FACTLOG_CLIENT_SUBCOMMANDS_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <string>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "client/connection.h"
#include "client/format.h"
#include "client/values.h"
#include "factlog/v1/service.grpc.pb.h"

namespace factlog::cli {

// What a subcommand runs once the command line is parsed: returns the exit
// code (connection.h).
using Action = std::function<int()>;

// ---- The nouns --------------------------------------------------------------

// claim_commands.cc: claim add|show|list|history|provenance|correct|retract|
// link.
void AddClaimCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action);
// timeline_commands.cc: `claim timeline`, added to the `claim` group.
void AddClaimTimeline(CLI::App* claim, const GlobalOptions* options,
                      Action* action);

// evidence_commands.cc: evidence add|withdraw.
void AddEvidenceCommands(CLI::App* app, const GlobalOptions* options,
                         Action* action);

// verdict_commands.cc: verdict.
void AddVerdictCommand(CLI::App* app, const GlobalOptions* options,
                       Action* action);

// claimant_commands.cc: claimant show.
void AddClaimantCommands(CLI::App* app, const GlobalOptions* options,
                         Action* action);

// search_commands.cc: search.
void AddSearchCommand(CLI::App* app, const GlobalOptions* options,
                      Action* action);
// claimant_commands.cc: the hint for a claimant no claim has
// (format_claims.h's ClaimantHint), from the claimants of at most the first
// 10,000 claims. Throws CommandError as Connection::Call does.
std::string FindClaimantHint(Connection& connection, const std::string& name);

// subject_commands.cc: subjects.
void AddSubjectsCommand(CLI::App* app, const GlobalOptions* options,
                        Action* action);

// event_commands.cc: events and watch.
void AddEventCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action);

// import_export_commands.cc: import and export.
void AddImportExportCommands(CLI::App* app, const GlobalOptions* options,
                             Action* action);

// admin_commands.cc: health, whether factlogd is serving (grpc.health.v1;
// exit 0 only when it is). `app` must already have the global --timeout
// option.
void AddHealthCommand(CLI::App* app, const GlobalOptions* options,
                      Action* action);

// verify_commands.cc: verify claim|log.
void AddVerifyCommands(CLI::App* app, const GlobalOptions* options,
                       Action* action);

// admin_commands.cc: admin stats|backup.
void AddAdminCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action);

// Calls the AdminService method that takes no arguments (an empty
// request) and prints its answer: JSON with --output json, else
// render(answer, options.screen_width). kExitOk; errors throw as
// Connection::Call does.
template <typename Request, typename Response, typename Render>
int PrintAdminAnswer(const GlobalOptions& options,
                     grpc::Status (v1::AdminService::Stub::*method)(
                         grpc::ClientContext*, const Request&, Response*),
                     Render render) {
  Connection connection(options);
  const Response answer =
      connection.Call(connection.admin(), method, Request());
  std::cout << (options.json() ? JsonLine(answer)
                               : render(answer, options.screen_width));
  return kExitOk;
}

// cluster_commands.cc: cluster status.
void AddClusterCommands(CLI::App* app, const GlobalOptions* options,
                        Action* action);

// source_commands.cc: source add|alias|rename|affiliate|grade|policy|
// reattribute|show|list|suggest.
void AddSourceCommands(CLI::App* app, const GlobalOptions* options,
                       Action* action);

// ---- Declaring subcommands --------------------------------------------------

// A noun that only groups subcommands (`factlog claim ...`): one of them
// must be given. `footer` ends its --help.
CLI::App* AddCommandGroup(CLI::App* app, const std::string& name,
                          const std::string& description,
                          const std::string& footer);

// Makes `sub` select `run` when it is the command given.
void OnRun(CLI::App* sub, Action* action, Action run);

// "\nExamples:\n  LINE\n  LINE": the end of a footer (no final newline).
std::string Examples(std::initializer_list<absl::string_view> lines);

// "{fact|promise|...}": the spellings of the enum `type` (values.h), as an
// option's type name in --help.
std::string EnumTypeName(const google::protobuf::EnumDescriptor* type);

// An option taking a value of the enum `type`, spelled as values.h says;
// its type name in --help lists the spellings (EnumTypeName).
CLI::Option* AddEnumOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help,
                           const google::protobuf::EnumDescriptor* type);

template <typename E>
CLI::Option* AddEnumOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help) {
  return AddEnumOption(sub, name, value, help,
                       google::protobuf::GetEnumDescriptor<E>());
}

// An option taking a time as ParseTime (values.h) accepts it.
CLI::Option* AddTimeOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help);

// --known-at T: the answer as the evidence observed by T implies (valid
// time), as against --as-of-* (what the log had recorded). Sets *value.
CLI::Option* AddKnownAtOption(CLI::App* sub, std::string* value);

// A required positional argument; --help shows it as `name`, with no type.
CLI::Option* AddArgument(CLI::App* sub, const std::string& name,
                         std::string* value, const std::string& help);

// The required positional CLAIM argument ("Claim id").
CLI::Option* AddClaimIdArgument(CLI::App* sub, std::string* claim_id);

// The Source named by a command's flags (name, outlet, URL; each may be
// empty).
v1::Source MakeSource(const std::string& name, const std::string& outlet,
                      const std::string& url);

// ---- Sending commands -------------------------------------------------------

// --expected-version and --request-id, common to the mutating commands.
struct MutationFlags {
  uint64_t expected_version = 0;
  CLI::Option* expected_version_option = nullptr;
  std::string request_id;
};

// Adds --request-id and, unless told otherwise, --expected-version to `sub`,
// writing into `*flags` (which must outlive `sub`).
void AddMutationFlags(CLI::App* sub, MutationFlags* flags,
                      bool with_expected_version = true);

// Sets the request's expected_version when --expected-version was given,
// and its request_id: --request-id, or a new random one.
template <typename Request>
void ApplyMutationFlags(const MutationFlags& flags, Request* request) {
  if constexpr (!std::is_same_v<Request, v1::RecordClaimRequest> &&
                !std::is_same_v<Request, v1::RegisterSourceRequest>) {
    if (flags.expected_version_option != nullptr &&
        flags.expected_version_option->count() > 0) {
      request->set_expected_version(flags.expected_version);
    }
  }
  request->set_request_id(flags.request_id.empty() ? NewRequestId()
                                                   : flags.request_id);
}

// The table-mode text for a command's outcome (RenderCommandResult lines).
using DescribeResult = std::function<std::string(const v1::CommandResponse&)>;

// Prints a command's outcome on stdout: the CommandResponse as JSON with
// --output json, else the text `describe` renders.
void PrintCommandResult(const GlobalOptions& options,
                        const v1::CommandResponse& response,
                        const DescribeResult& describe);

// A ClaimService method that applies one command, e.g.
// &v1::ClaimService::Stub::RetractClaim.
template <typename Request>
using CommandMethod = grpc::Status (v1::ClaimService::Stub::*)(
    grpc::ClientContext*, const Request&, v1::CommandResponse*);

// Sends one command: ApplyMutationFlags(flags, &request), then `method`
// with it, and prints the outcome (PrintCommandResult). Returns kExitOk;
// throws CommandError when the command is refused or the server is not
// reached.
template <typename Request>
int RunMutation(const GlobalOptions& options, const MutationFlags& flags,
                CommandMethod<Request> method, Request request,
                const DescribeResult& describe) {
  ApplyMutationFlags(flags, &request);
  Connection connection(options);
  PrintCommandResult(
      options, connection.Call(connection.claims(), method, request), describe);
  return kExitOk;
}

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_SUBCOMMANDS_H_
