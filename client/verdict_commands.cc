// `factlog verdict`: issuing a verdict on a claim.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/format_claims.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

using Stub = v1::ClaimService::Stub;

}  // namespace

void AddVerdictCommand(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, rating, summary, reviewer;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "verdict", "Issue a verdict on a claim (supersedes earlier verdicts)");
  AddClaimIdArgument(sub, &f->claim_id);
  AddEnumOption<v1::Rating>(sub, "--rating", &f->rating, "The rating")
      ->required();
  sub->add_option("--summary", f->summary, "Why")
      ->required()
      ->type_name("TEXT");
  sub->add_option("--reviewer", f->reviewer, "Who reviewed it")
      ->required()
      ->type_name("NAME");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(
      "\nFact, statistic and prediction claims take the truth scale (true ..\n"
      "unproven); promises take the promise scale (kept .. not-yet-rated).\n" +
      Examples({
          "factlog verdict russia-withdrawal-started-2014-05-19 --rating "
          "false \\",
          "    --summary 'No withdrawal observed' --reviewer 'Desk A'",
          "factlog verdict putin-orders-troops-back-2014-05-19 --rating "
          "broken \\",
          "    --summary 'Troops stayed' --reviewer 'Desk B'",
      }));
  OnRun(sub, action, [f, g] {
    v1::IssueVerdictRequest request;
    request.set_claim_id(f->claim_id);
    request.set_rating(ParseEnum<v1::Rating>("--rating", f->rating));
    request.set_summary(f->summary);
    request.set_reviewer(f->reviewer);
    return RunMutation(
        *g, f->mutation, &Stub::IssueVerdict, request,
        [&](const v1::CommandResponse& r) {
          return RenderCommandResult(
              absl::StrCat("issued verdict ", ShortName(request.rating()),
                           " on claim"),
              r);
        });
  });
}

}  // namespace factlog::cli
