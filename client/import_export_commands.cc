// `factlog import` and `factlog export`: claims in bulk, as factlog commands
// (JSON Lines) or schema.org ClaimReview.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client/claimreview.h"
#include "client/import.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

void AddImport(CLI::App* app, const GlobalOptions* g, Action* action) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app->add_subcommand(
      "import", "Bulk-load commands from a JSON Lines file");
  AddArgument(sub, "FILE", path.get(),
              "JSON Lines file (FILE.jsonl), or - for stdin");
  sub->footer(
      "\nEach non-blank line is the canonical JSON of one factlog.v1.Command\n"
      "(camelCase or snake_case field names); lines starting with # are\n"
      "comments. The whole file is parsed first: a malformed line is\n"
      "reported as FILE:LINE and nothing is sent (exit 2).\n"
      "\n"
      "The server applies the commands in order and STOPS AT THE FIRST\n"
      "COMMAND IT REJECTS: the commands before it stay applied, nothing from\n"
      "it onward is applied, and the error names its line (exit 1):\n"
      "  error: FILE:LINE: CODE: message\n"
      "\n"
      "Re-running a file is safe. A command without a requestId gets one\n"
      "derived from its content (import:<FNV-1a-64 hex>), so commands that\n"
      "were applied before are recognised and not recorded twice: fix the\n"
      "rejected line and run the same file again.\n"
      "On success prints: imported N commands: A recorded, D already\n"
      "applied; the last at position P (or, when all were applied before:\n"
      "nothing new: all N commands were already applied). P is where the\n"
      "file's commands reached, not necessarily the end of the log.\n" +
      Examples({
          "factlog import claims.jsonl",
          "where claims.jsonl contains lines such as",
          "  {\"recordClaim\": {\"claimId\": \"putin-orders-withdrawal\",",
          "   \"text\": \"Putin ordered the troops back\", \"kind\": "
          "\"CLAIM_KIND_FACT\"}}",
          "  {\"addEvidence\": {\"claimId\": \"putin-orders-withdrawal\",",
          "   \"stance\": \"STANCE_REFUTES\", \"source\": {\"name\": "
          "\"NATO\"}}}",
      }));
  auto format = std::make_shared<std::string>("jsonl");
  auto subject = std::make_shared<std::string>();
  sub->add_option("--format", *format,
                  "jsonl (factlog commands) or claimreview (schema.org "
                  "ClaimReview JSON-LD: objects, JSON Lines, an array or a "
                  "DataFeed)")
      ->check(CLI::IsMember({"jsonl", "claimreview"}))
      ->capture_default_str();
  sub->add_option("--subject", *subject,
                  "with --format claimreview: the subject for the imported "
                  "claims")
      ->type_name("SLUG");
  OnRun(sub, action, [path, format, subject, g] {
    if (*format == "jsonl") return RunImport(*path, *g);
    const std::string name = *path == "-" ? "<stdin>" : *path;
    std::vector<ImportItem> items;
    const std::vector<nlohmann::json> reviews =
        ParseClaimReviews(name, ReadInput(*path));
    for (size_t i = 0; i < reviews.size(); ++i) {
      for (ImportItem& item : ClaimReviewCommands(name, static_cast<int>(i + 1),
                                                  reviews[i], *subject)) {
        items.push_back(std::move(item));
      }
    }
    return SendImport(items, name, *g);
  });
}

// ---- export
// -------------------------------------------------------------------

void AddExport(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string format = "claimreview", subject, since, url_template;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "export", "Export rated claims as schema.org ClaimReview (JSON-LD)");
  sub->add_option("--format", f->format, "claimreview")
      ->check(CLI::IsMember({"claimreview"}))
      ->capture_default_str();
  sub->add_option("--subject", f->subject, "only claims on this subject")
      ->type_name("SLUG");
  AddTimeOption(sub, "--since", &f->since,
                "only verdicts issued at or after this time");
  sub->add_option("--url-template", f->url_template,
                  "each review's url, {claim_id} replaced "
                  "(e.g. https://desk.example/claims/{claim_id})")
      ->type_name("URL");
  sub->footer(
      "\nPrints one ClaimReview JSON-LD object per line for every RATED "
      "claim;\nthe rating mapping is in client/claimreview.h and the "
      "README.\n" +
      Examples({
          "factlog export --format claimreview > reviews.jsonl",
          "factlog export --subject russia-troops-ukraine-border --since "
          "2014-05-01",
          "factlog import --format claimreview reviews.jsonl",
      }));
  OnRun(sub, action, [f, g] {
    v1::ExportClaimReviewsRequest request;
    request.set_subject(f->subject);
    if (!f->since.empty()) {
      *request.mutable_since() = ParseTimeFlag("--since", f->since);
    }
    const ClaimReviewOptions options{f->url_template};
    Connection connection(*g);
    connection.ReadStream(
        connection.claims(), &v1::ClaimService::Stub::ExportClaimReviews,
        request, [&](const v1::ClaimView& claim) {
          std::cout << ToClaimReview(claim, options).dump() << "\n";
        });
    return kExitOk;
  });
}

}  // namespace

void AddImportExportCommands(CLI::App* app, const GlobalOptions* options,
                             Action* action) {
  AddImport(app, options, action);
  AddExport(app, options, action);
}

}  // namespace factlog::cli
