// `factlog search`: claims by what they say (ClaimService.SearchClaims).
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client/format.h"
#include "client/format_claims.h"
#include "client/subcommands.h"

namespace factlog::cli {

void AddSearchCommand(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string query, status, kind, rating, claimant, subject, tag, since,
        until, recorded_since, recorded_until;
    bool fts = false, all = false;
    int limit = 20;
    uint64_t min_position = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "search", "Find claims by what they say, best match first");
  sub->add_option("query", f->query,
                  "Words to look for (at least half of them must occur; "
                  "punctuation is ignored), or FTS5 syntax with --fts")
      ->required()
      ->type_name("QUERY");
  sub->add_flag("--fts", f->fts,
                "Read QUERY as SQLite FTS5 syntax: \"a phrase\", AND, OR, "
                "NOT, NEAR(a b, 5), prefix*, column:word (text, "
                "previous_texts, people, topics, evidence, verdict)");
  AddEnumOption<v1::ClaimStatus>(sub, "--status", &f->status,
                                 "Only claims with this status (overdue: "
                                 "as read now)");
  AddEnumOption<v1::ClaimKind>(sub, "--kind", &f->kind,
                               "Only claims of this kind");
  AddEnumOption<v1::Rating>(sub, "--rating", &f->rating,
                            "Only claims whose verdict has this rating");
  sub->add_option("--claimant", f->claimant, "Only claims by this claimant")
      ->type_name("NAME");
  sub->add_option("--subject", f->subject, "Only claims about this subject")
      ->type_name("SLUG");
  sub->add_option("--tag", f->tag, "Only claims with this tag")
      ->type_name("TAG");
  AddTimeOption(sub, "--since", &f->since,
                "Only claims asserted at or after T");
  AddTimeOption(sub, "--until", &f->until, "Only claims asserted before T");
  AddTimeOption(sub, "--recorded-since", &f->recorded_since,
                "Only claims recorded at or after T");
  AddTimeOption(sub, "--recorded-until", &f->recorded_until,
                "Only claims recorded before T");
  sub->add_option("--min-position", f->min_position,
                  "Wait until the index reflects the log up to N (a "
                  "position a command printed)")
      ->type_name("N");
  CLI::Option* limit =
      sub->add_option("--limit", f->limit, "At most N hits (default 20)")
          ->type_name("N")
          ->check(CLI::PositiveNumber.description(""));
  sub->add_flag("--all", f->all, "Every hit (follows all pages)")
      ->excludes(limit);
  sub->footer(Examples({
      "factlog search \"troops withdrawal\"",
      "factlog search \"pull back troops\" --claimant 'Vladimir Putin' "
      "--since 2014-05-01",
      "factlog search --fts '\"routine exercise\" NOT evidence:menacing'",
      "factlog search withdrawal --status contradicted --output json | jq "
      ".claimId",
  }));
  OnRun(sub, action, [f, g] {
    v1::SearchClaimsRequest request;
    request.set_query(f->query);
    request.set_syntax(f->fts ? v1::QUERY_SYNTAX_FTS5 : v1::QUERY_SYNTAX_PLAIN);
    if (!f->status.empty()) {
      request.set_status(ParseEnum<v1::ClaimStatus>("--status", f->status));
    }
    if (!f->kind.empty()) {
      request.set_kind(ParseEnum<v1::ClaimKind>("--kind", f->kind));
    }
    if (!f->rating.empty()) {
      request.set_rating(ParseEnum<v1::Rating>("--rating", f->rating));
    }
    request.set_claimant(f->claimant);
    request.set_subject(f->subject);
    request.set_tag(f->tag);
    if (!f->since.empty()) {
      *request.mutable_asserted_after() = ParseTimeFlag("--since", f->since);
    }
    if (!f->until.empty()) {
      *request.mutable_asserted_before() = ParseTimeFlag("--until", f->until);
    }
    if (!f->recorded_since.empty()) {
      *request.mutable_recorded_after() =
          ParseTimeFlag("--recorded-since", f->recorded_since);
    }
    if (!f->recorded_until.empty()) {
      *request.mutable_recorded_before() =
          ParseTimeFlag("--recorded-until", f->recorded_until);
    }
    request.set_min_position(f->min_position);
    constexpr int kMaxPage = 100;
    Connection connection(*g);
    std::vector<v1::SearchHit> hits;  // table mode only
    int count = 0;
    bool more = false;  // stopped at --limit with hits left
    while (true) {
      request.set_page_size(f->all ? kMaxPage
                                   : std::min(f->limit - count, kMaxPage));
      v1::SearchClaimsResponse page = connection.Call(
          connection.claims(), &v1::ClaimService::Stub::SearchClaims, request);
      for (v1::SearchHit& hit : *page.mutable_hits()) {
        if (g->json()) {
          std::cout << JsonLine(hit);  // one hit per line
        } else {
          hits.push_back(std::move(hit));
        }
        ++count;
      }
      if (page.next_page_token().empty()) break;
      if (!f->all && count >= f->limit) {
        more = true;
        break;
      }
      request.set_page_token(page.next_page_token());
    }
    if (!g->json()) {
      if (hits.empty()) {
        std::cout << "no claims match\n";
      } else {
        std::cout << RenderSearchHits(hits, g->screen_width);
        if (more) std::cout << "(more hits: raise --limit or use --all)\n";
      }
    }
    return kExitOk;
  });
}

}  // namespace factlog::cli
