#include "client/commands.h"

#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/format.h"
#include "client/subcommands.h"

namespace factlog::cli {

// ---- The pieces of subcommands (subcommands.h) ------------------------------

CLI::App* AddCommandGroup(CLI::App* app, const std::string& name,
                          const std::string& description,
                          const std::string& footer) {
  CLI::App* group = app->add_subcommand(name, description);
  group->require_subcommand(1);
  group->footer(footer);
  return group;
}

void OnRun(CLI::App* sub, Action* action, Action run) {
  sub->callback([action, run = std::move(run)] { *action = run; });
}

std::string Examples(std::initializer_list<absl::string_view> lines) {
  std::string out = "\nExamples:";
  for (absl::string_view line : lines) absl::StrAppend(&out, "\n  ", line);
  return out;
}

std::string EnumTypeName(const google::protobuf::EnumDescriptor* type) {
  return absl::StrCat("{", absl::StrJoin(EnumFlagValues(type), "|"), "}");
}

CLI::Option* AddEnumOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help,
                           const google::protobuf::EnumDescriptor* type) {
  return sub->add_option(name, *value, help)
      ->check(EnumValidator(type))
      ->type_name(EnumTypeName(type));
}

CLI::Option* AddTimeOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help) {
  return sub->add_option(name, *value, help)
      ->check(TimeValidator())
      ->type_name("TIME");
}

CLI::Option* AddKnownAtOption(CLI::App* sub, std::string* value) {
  return AddTimeOption(
      sub, "--known-at", value,
      "As the evidence observed by time T implies (the claim asserted, "
      "evidence observed, verdicts recorded by T): what was known then");
}

CLI::Option* AddArgument(CLI::App* sub, const std::string& name,
                         std::string* value, const std::string& help) {
  return sub->add_option(name, *value, help)->required()->type_name("");
}

CLI::Option* AddClaimIdArgument(CLI::App* sub, std::string* claim_id) {
  return AddArgument(sub, "CLAIM", claim_id, "Claim id");
}

v1::Source MakeSource(const std::string& name, const std::string& outlet,
                      const std::string& url) {
  v1::Source source;
  source.set_name(name);
  source.set_outlet(outlet);
  source.set_url(url);
  return source;
}

void AddMutationFlags(CLI::App* sub, MutationFlags* flags,
                      bool with_expected_version) {
  if (with_expected_version) {
    flags->expected_version_option =
        sub->add_option("--expected-version", flags->expected_version,
                        "Fail with ABORTED unless the claim is at version N")
            ->type_name("N");
  }
  sub->add_option("--request-id", flags->request_id,
                  "Idempotency key (default: a random UUID)")
      ->type_name("ID");
}

void PrintCommandResult(const GlobalOptions& options,
                        const v1::CommandResponse& response,
                        const DescribeResult& describe) {
  std::cout << (options.json() ? JsonLine(response) : describe(response));
}

// ---- Unknown commands -------------------------------------------------------

std::string UnknownCommandMessage(CLI::App& app,
                                  const std::vector<std::string>& args) {
  CLI::App* current = &app;
  std::string path = app.get_name();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      if (arg.find('=') != std::string::npos) continue;
      // An option taking a value (of this command or one above it, as
      // global options may follow a subcommand) swallows the next word.
      for (CLI::App* owner = current; owner != nullptr;
           owner = owner->get_parent()) {
        const CLI::Option* option = owner->get_option_no_throw(arg);
        if (option != nullptr) {
          if (option->get_expected_min() > 0) ++i;
          break;
        }
      }
      continue;
    }
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub :
         current->get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->check_name(arg)) next = sub;
    }
    if (next != nullptr) {
      current = next;
      absl::StrAppend(&path, " ", next->get_name());
      continue;
    }
    if (names.empty()) return "";  // a command's own argument
    const std::string closest = ClosestWord(arg, names);
    return absl::StrCat("unknown command \"", arg, "\" for '", path, "'",
                        closest.empty() ? ""
                                        : absl::StrCat("; did you mean '", path,
                                                       " ", closest, "'?"),
                        " (commands: ", absl::StrJoin(names, ", "), ")");
  }
  return "";
}

// ---- The command tree -------------------------------------------------------

void BuildCli(CLI::App& app, GlobalOptions* options, Action* action) {
  app.name("factlog");
  app.description(
      "factlog: record claims, the evidence on them and verdicts, in an "
      "event-sourced log served by factlogd.");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", "factlog 0.1.0");
  app.add_option("--server", options->server,
                 "factlogd address: HOST, HOST:PORT or [IPv6]:PORT (port "
                 "default 50051); prefix https:// for TLS, http:// is "
                 "accepted (env FACTLOG_SERVER)")
      ->envname("FACTLOG_SERVER")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_option("-o,--output", options->output,
                 "Output format: json is one JSON document (a list is an "
                 "array), jsonl one JSON object per line; errors are JSON "
                 "too, on stderr")
      ->check(CLI::IsMember({"table", "json", "jsonl"}).description(""))
      ->capture_default_str()
      ->type_name("{table|json|jsonl}");
  app.add_option("--timeout", options->timeout_seconds,
                 "Seconds to wait for the server")
      ->check(CLI::PositiveNumber.description(""))
      ->capture_default_str()
      ->type_name("SECONDS");
  // Security. There is deliberately no flag taking a token itself: command
  // lines are visible to every user of the machine (ps, shell history).
  app.add_option("--tls-ca", options->tls_ca_file,
                 "Use TLS, trusting the CAs in this PEM file")
      ->envname("FACTLOG_TLS_CA")
      ->type_name("FILE");
  app.add_option("--tls-cert", options->tls_cert_file,
                 "PEM client certificate for mTLS")
      ->envname("FACTLOG_TLS_CERT")
      ->type_name("FILE");
  app.add_option("--tls-key", options->tls_key_file,
                 "PEM private key of --tls-cert")
      ->envname("FACTLOG_TLS_KEY")
      ->type_name("FILE");
  app.add_option("--token-file", options->token_file,
                 "File holding the bearer token to send")
      ->envname("FACTLOG_TOKEN_FILE")
      ->type_name("FILE");
  app.footer(
      "\nExit codes: 0 ok, 1 the server refused (error: CODE: message),\n"
      "2 usage error, 3 server unreachable, 4 verify found the log or a\n"
      "proof does not check out.\n"
      "\n"
      "Output: tables fit the terminal (COLUMNS overrides its width); piped,\n"
      "nothing is cut. With -o json or -o jsonl an error is printed on stderr\n"
      "as {\"error\": {\"code\": ..., \"message\": ..., \"exitCode\": ...}}.\n"
      "\n"
      "Security:\n"
      "  TLS is used when --tls-ca is given or --server starts with\n"
      "  https:// (then, without --tls-ca, the system's CAs are trusted).\n"
      "  --tls-cert/--tls-key add a client certificate (mTLS). A failed TLS\n"
      "  handshake is exit 3.\n"
      "  A bearer token (from factlogd token new) is read from --token-file\n"
      "  or, when no token file is given, taken from the FACTLOG_TOKEN\n"
      "  environment variable (for scripts); it is never accepted on the\n"
      "  command line, nor printed. It is sent as\n"
      "  'authorization: Bearer TOKEN' on every call; a missing or unknown\n"
      "  token is UNAUTHENTICATED, too low a role PERMISSION_DENIED (exit 1).\n"
      "  factlog --server factlog.example:50051 --tls-ca ca.pem \\\n"
      "      --token-file ~/.factlog-token claim list\n" +
      Examples({
          "factlog claim list",
          "factlog claim show russia-withdrawal-started-2014-05-19",
          "factlog evidence add putin-orders-troops-back-2014-05-19 \\",
          "    --stance refutes --source NATO --note 'No sign of troops "
          "returning.'",
          "FACTLOG_SERVER=factlog.example:50051 factlog claim list -o json",
      }));

  AddClaimCommands(&app, options, action);
  AddEvidenceCommands(&app, options, action);
  AddVerdictCommand(&app, options, action);
  AddClaimantCommands(&app, options, action);
  AddSourceCommands(&app, options, action);
  AddSubjectsCommand(&app, options, action);
  AddSearchCommand(&app, options, action);
  AddEventCommands(&app, options, action);
  AddImportExportCommands(&app, options, action);
  AddHealthCommand(&app, options, action);
  AddVerifyCommands(&app, options, action);
  AddAdminCommands(&app, options, action);
  AddClusterCommands(&app, options, action);
}

}  // namespace factlog::cli
