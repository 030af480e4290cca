// `factlog subjects`: every subject with its claims by status.
#include <iostream>
#include <string>
#include <vector>

#include "client/format.h"
#include "client/format_claims.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {}  // namespace

void AddSubjectsCommand(CLI::App* app, const GlobalOptions* g, Action* action) {
  CLI::App* sub = app->add_subcommand(
      "subjects", "Every subject with its number of claims by status");
  sub->footer(Examples({
      "factlog subjects",
      "factlog subjects --output json | jq -r '.[].subject'",
  }));
  OnRun(sub, action, [g] {
    Connection connection(*g);
    v1::ListSubjectsRequest request;
    request.set_page_size(1000);
    std::vector<v1::SubjectSummary> subjects;
    JsonList json(g->json_lines());
    while (true) {
      v1::ListSubjectsResponse page = connection.Call(
          connection.claims(), &v1::ClaimService::Stub::ListSubjects, request);
      for (v1::SubjectSummary& s : *page.mutable_subjects()) {
        if (g->json()) {
          std::cout << json.Add(s);
        } else {
          subjects.push_back(std::move(s));
        }
      }
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    if (g->json()) {
      std::cout << json.Finish();
    } else {
      std::cout << (subjects.empty()
                        ? std::string("no subjects\n")
                        : RenderSubjects(subjects, g->screen_width));
    }
    return kExitOk;
  });
}

}  // namespace factlog::cli
