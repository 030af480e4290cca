// `factlog claimant show`: a claimant's track record.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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
    v1::ClaimantView view;
    try {
      view = connection.Call(connection.claims(),
                             &v1::ClaimService::Stub::GetClaimant, request);
    } catch (const CommandError& e) {
      // With --known-at the claimant may exist and only have had no claims
      // yet; the refusal says so.
      if (e.code() != "NOT_FOUND" || !f->known_at.empty()) throw;
      // Say which names there are: the refusal says only that none match.
      std::string hint = FindClaimantHint(connection, f->name);
      hint.pop_back();  // its newline
      throw CommandError(e.exit_code(), absl::StrCat(e.what(), "; ", hint),
                         e.code());
    }
    std::cout << (g->json() ? JsonLine(view) : RenderClaimant(view));
    if (!g->json() && view.claim_count() == 0) {
      std::cout << FindClaimantHint(connection, f->name);
    }
    return kExitOk;
  });
}

}  // namespace

std::string FindClaimantHint(Connection& connection, const std::string& name) {
  // A contains-match over the claimants of the claims, in pages: enough
  // for a hint, bounded for a large log.
  constexpr int kPage = 1000, kMaxClaims = 10000;
  v1::ListClaimsRequest request;
  request.set_page_size(kPage);
  std::vector<std::string> claimants;
  int seen = 0;
  bool complete = false;
  while (seen < kMaxClaims) {
    const v1::ListClaimsResponse page = connection.Call(
        connection.claims(), &v1::ClaimService::Stub::ListClaims, request);
    for (const v1::ClaimView& claim : page.claims()) {
      claimants.push_back(claim.claimant());
    }
    seen += page.claims_size();
    if (page.next_page_token().empty()) {
      complete = true;
      break;
    }
    request.set_page_token(page.next_page_token());
  }
  return ClaimantHint(name, ClaimantsContaining(name, claimants), complete);
}

void AddClaimantCommands(CLI::App* app, const GlobalOptions* options,
                         Action* action) {
  CLI::App* claimant =
      AddCommandGroup(app, "claimant", "Track records of claimants",
                      Examples({"factlog claimant show 'Vladimir Putin'"}));
  AddClaimantShow(claimant, options, action);
}

}  // namespace factlog::cli
