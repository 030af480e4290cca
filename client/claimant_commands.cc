// `factlog claimant show`: a claimant's track record.
#include <iostream>
#include <memory>
#include <string>

#include "client/format.h"
#include "client/format_claims.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

void AddClaimantShow(CLI::App* claimant, const GlobalOptions* g,
                     Action* action) {
  struct Flags {
    std::string name, known_at;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claimant->add_subcommand(
      "show", "A claimant's track record: claims by status and rating");
  sub->add_option("name", f->name, "Claimant name")
      ->required()
      ->type_name("NAME");
  AddKnownAtOption(sub, &f->known_at);
  sub->footer(Examples({
      "factlog claimant show 'Vladimir Putin'",
      "factlog claimant show 'Vladimir Putin' --output json | jq .byStatus",
      "factlog claimant show 'Vladimir Putin' --known-at 2014-05-20",
  }));
  OnRun(sub, action, [f, g] {
    v1::GetClaimantRequest request;
    request.set_claimant(f->name);
    if (!f->known_at.empty()) {
      *request.mutable_known_at() = ParseTimeFlag("--known-at", f->known_at);
    }
    Connection connection(*g);
    const v1::ClaimantView view = connection.Call(
        connection.claims(), &v1::ClaimService::Stub::GetClaimant, request);
    std::cout << (g->json() ? JsonLine(view) : RenderClaimant(view));
    return kExitOk;
  });
}

}  // namespace

void AddClaimantCommands(CLI::App* app, const GlobalOptions* options,
                         Action* action) {
  CLI::App* claimant =
      AddCommandGroup(app, "claimant", "Track records of claimants",
                      Examples({"factlog claimant show 'Vladimir Putin'"}));
  AddClaimantShow(claimant, options, action);
}

}  // namespace factlog::cli
