// `factlog evidence ...`: adding and withdrawing evidence on a claim.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/format_claims.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

using Stub = v1::ClaimService::Stub;

void AddEvidenceAdd(CLI::App* evidence, const GlobalOptions* g,
                    Action* action) {
  struct Flags {
    std::string claim_id, id, stance, source, source_id, outlet, url,
        observed_at, note;
    uint32_t credibility = 0;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub =
      evidence->add_subcommand("add", "Add evidence bearing on a claim");
  AddClaimIdArgument(sub, &f->claim_id);
  AddEnumOption<v1::Stance>(sub, "--stance", &f->stance,
                            "Whether it supports or refutes the claim")
      ->required();
  sub->add_option("--source", f->source,
                  "Who says so (person or body); resolved through the source "
                  "registry's names and aliases")
      ->type_name("NAME");
  sub->add_option("--source-id", f->source_id,
                  "Who says so, by source registry id (instead of --source)")
      ->type_name("SOURCE_ID");
  sub->add_option("--credibility", f->credibility,
                  "How credible the information is: 1 (confirmed) to 6 "
                  "(cannot be judged)")
      ->type_name("1-6");
  sub->add_option("--outlet", f->outlet, "Publication that carried it")
      ->type_name("OUTLET");
  sub->add_option("--url", f->url, "Where to read it")->type_name("URL");
  AddTimeOption(sub, "--observed-at", &f->observed_at,
                "When it was observed (default: now)");
  sub->add_option("--note", f->note, "What it says")->type_name("TEXT");
  sub->add_option("--id", f->id,
                  "Evidence id, unique within the claim (default: assigned)")
      ->type_name("EVIDENCE_ID");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog evidence add putin-orders-troops-back-2014-05-19 \\",
      "    --stance refutes \\",
      "    --source NATO --outlet Reuters --observed-at 2014-05-20T09:00:00Z "
      "\\",
      "    --note 'NATO sees no sign of withdrawal' --id nato-no-sign",
  }));
  OnRun(sub, action, [f, g] {
    v1::AddEvidenceRequest request;
    request.set_claim_id(f->claim_id);
    request.set_evidence_id(f->id);
    request.set_stance(ParseEnum<v1::Stance>("--stance", f->stance));
    if (f->source.empty() && f->source_id.empty()) {
      throw UsageError("give --source NAME or --source-id SOURCE_ID");
    }
    *request.mutable_source() = MakeSource(f->source, f->outlet, f->url);
    request.mutable_source()->set_source_id(f->source_id);
    request.set_credibility(f->credibility);
    if (!f->observed_at.empty()) {
      *request.mutable_observed_at() =
          ParseTimeFlag("--observed-at", f->observed_at);
    }
    request.set_note(f->note);
    return RunMutation(
        *g, f->mutation, &Stub::AddEvidence, request,
        [](const v1::CommandResponse& r) {
          return RenderCommandResult(
              absl::StrCat("added evidence ", r.evidence_id(), " to claim"), r);
        });
  });
}

void AddEvidenceWithdraw(CLI::App* evidence, const GlobalOptions* g,
                         Action* action) {
  struct Flags {
    std::string claim_id, evidence_id, reason;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = evidence->add_subcommand(
      "withdraw", "Withdraw evidence (it stays in the history)");
  AddClaimIdArgument(sub, &f->claim_id);
  AddArgument(sub, "EVIDENCE_ID", &f->evidence_id, "Evidence id");
  sub->add_option("--reason", f->reason, "Why it is withdrawn");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog evidence withdraw russia-withdrawal-started-2014-05-19 \\",
      "    nato-rasmussen-no-withdrawal-seen \\",
      "    --reason 'Report was about a different unit'",
  }));
  OnRun(sub, action, [f, g] {
    v1::WithdrawEvidenceRequest request;
    request.set_claim_id(f->claim_id);
    request.set_evidence_id(f->evidence_id);
    request.set_reason(f->reason);
    return RunMutation(*g, f->mutation, &Stub::WithdrawEvidence, request,
                       [&](const v1::CommandResponse& r) {
                         return RenderCommandResult(
                             absl::StrCat("withdrew evidence ",
                                          request.evidence_id(), " from claim"),
                             r);
                       });
  });
}

}  // namespace

void AddEvidenceCommands(CLI::App* app, const GlobalOptions* options,
                         Action* action) {
  CLI::App* evidence = AddCommandGroup(
      app, "evidence", "Add or withdraw evidence on a claim",
      Examples({
          "factlog evidence add ukraine-24-servicemen-killed --stance "
          "supports \\",
          "    --source Reuters",
          "factlog evidence withdraw russia-withdrawal-started-2014-05-19 \\",
          "    nato-rasmussen-no-withdrawal-seen --reason 'Wrong story'",
      }));
  AddEvidenceAdd(evidence, options, action);
  AddEvidenceWithdraw(evidence, options, action);
}

}  // namespace factlog::cli
