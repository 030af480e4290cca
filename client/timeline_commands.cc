// `factlog claim timeline`: a claim's story in valid time.
#include <iostream>
#include <memory>
#include <string>

#include "client/format.h"
#include "client/format_events.h"
#include "client/subcommands.h"

namespace factlog::cli {

void AddClaimTimeline(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id;
    uint64_t as_of_position = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "timeline",
      "A claim's status at each change of observed time: the steps of the "
      "story, as known at each moment (see --known-at)");
  AddClaimIdArgument(sub, &f->claim_id);
  sub->add_option("--as-of-position", f->as_of_position,
                  "As the log had recorded it at position N")
      ->type_name("N");
  sub->footer(Examples({
      "factlog claim timeline russia-withdrawal-claim-2014-03",
      "factlog claim timeline russia-withdrawal-claim-2014-03 --output json",
  }));
  OnRun(sub, action, [f, g] {
    v1::GetClaimTimelineRequest request;
    request.set_claim_id(f->claim_id);
    request.set_as_of_position(f->as_of_position);
    Connection connection(*g);
    const v1::ClaimTimeline timeline =
        connection.Call(connection.claims(),
                        &v1::ClaimService::Stub::GetClaimTimeline, request);
    std::cout << (g->json() ? JsonLine(timeline)
                            : RenderTimeline(timeline, g->screen_width));
    return kExitOk;
  });
}

}  // namespace factlog::cli
