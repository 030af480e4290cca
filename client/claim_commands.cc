// `factlog claim ...`: recording, reading and correcting claims.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/claim_history.h"
#include "client/format.h"
#include "client/format_claims.h"
#include "client/format_events.h"
#include "client/provenance.h"
#include "client/subcommands.h"

namespace factlog::cli {
namespace {

using Stub = v1::ClaimService::Stub;

void AddClaimAdd(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string id, text, claimant, reported_by, reported_outlet, reported_url,
        subject, kind = "fact", asserted_at, due_at;
    std::vector<std::string> tags;
    MutationFlags mutation;
    bool link_repeats = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand("add", "Record a new claim");
  sub->add_option("--id", f->id, "Claim id slug (default: server-assigned)")
      ->type_name("ID");
  sub->add_option("--text", f->text, "What was claimed")->required();
  sub->add_option("--claimant", f->claimant, "Who made the claim")
      ->required()
      ->type_name("NAME");
  sub->add_option("--reported-by", f->reported_by,
                  "Source through which it was heard")
      ->type_name("NAME");
  sub->add_option("--reported-outlet", f->reported_outlet,
                  "Outlet that carried it")
      ->type_name("OUTLET");
  sub->add_option("--reported-url", f->reported_url, "URL of the report")
      ->type_name("URL");
  sub->add_option("--subject", f->subject,
                  "Subject slug; optional, but a claim without one is not "
                  "listed under `factlog subjects`, and repeats are only "
                  "looked for among claims of the same subject")
      ->type_name("SLUG");
  AddEnumOption<v1::ClaimKind>(sub, "--kind", &f->kind,
                               "Kind of claim (default: fact)");
  AddTimeOption(sub, "--asserted-at", &f->asserted_at,
                "When the claim was made (default: now)");
  AddTimeOption(sub, "--due-at", &f->due_at,
                "When a promise/prediction should be observable");
  sub->add_option("--tag", f->tags, "Label (repeatable)")
      ->type_name("TAG")
      ->allow_extra_args(false);
  AddMutationFlags(sub, &f->mutation, /*with_expected_version=*/false);
  sub->add_flag("--link-repeats", f->link_repeats,
                "Link the new claim REPEATS each earlier claim of the same "
                "claimant and subject the server finds similar");
  sub->footer(Examples({
      "factlog claim add --id peskov-withdrawal-under-way-2014-05-20 \\",
      "    --text 'The troops are on their way back to their bases' \\",
      "    --claimant 'Vladimir Putin' --reported-by 'Dmitry Peskov' \\",
      "    --reported-outlet CNN --subject russia-troops-ukraine-border \\",
      "    --kind fact --asserted-at 2014-05-19 --tag ukraine",
      "factlog claim add --text 'Russian troops are pulling back to their "
      "bases' \\",
      "    --claimant 'Vladimir Putin' --subject russia-troops-ukraine-border "
      "--link-repeats",
  }));
  OnRun(sub, action, [f, g] {
    v1::RecordClaimRequest request;
    request.set_claim_id(f->id);
    request.set_text(f->text);
    request.set_claimant(f->claimant);
    if (!f->reported_by.empty() || !f->reported_outlet.empty() ||
        !f->reported_url.empty()) {
      *request.mutable_reported_by() =
          MakeSource(f->reported_by, f->reported_outlet, f->reported_url);
    }
    request.set_subject(f->subject);
    request.set_kind(ParseEnum<v1::ClaimKind>("--kind", f->kind));
    if (!f->asserted_at.empty()) {
      *request.mutable_asserted_at() =
          ParseTimeFlag("--asserted-at", f->asserted_at);
    }
    if (!f->due_at.empty()) {
      *request.mutable_due_at() = ParseTimeFlag("--due-at", f->due_at);
    }
    for (const std::string& tag : f->tags) request.add_tags(tag);
    ApplyMutationFlags(f->mutation, &request);
    Connection connection(*g);
    const v1::CommandResponse recorded =
        connection.Call(connection.claims(), &Stub::RecordClaim, request);
    if (!f->link_repeats) {
      PrintCommandResult(*g, recorded, [](const v1::CommandResponse& r) {
        return RenderCommandResult("recorded claim", r) +
               RenderSimilarClaims(r);
      });
      return kExitOk;
    }
    // With links, -o json prints one array: the claim's response, then each
    // link's.
    JsonList json(g->json_lines());
    if (g->json()) {
      std::cout << json.Add(recorded);
    } else {
      std::cout << RenderCommandResult("recorded claim", recorded)
                << RenderSimilarClaims(recorded);
    }
    for (const v1::SimilarClaim& similar : recorded.similar_claims()) {
      // Only the claimant's own statements are repeats.
      if (similar.match() != v1::SIMILAR_MATCH_OWN_STATEMENT) continue;
      v1::LinkClaimsRequest link;
      link.set_claim_id(recorded.claim_id());
      link.set_other_claim_id(similar.claim_id());
      link.set_relation(v1::LINK_RELATION_REPEATS);
      // Derived from the claim's request id: a re-run links nothing twice.
      link.set_request_id(absl::StrCat(request.request_id().substr(0, 50),
                                       "/repeats/", similar.claim_id()));
      const v1::CommandResponse linked =
          connection.Call(connection.claims(), &Stub::LinkClaims, link);
      if (g->json()) {
        std::cout << json.Add(linked);
      } else {
        std::cout << RenderCommandResult(
            "linked claim", linked,
            absl::StrCat("REPEATS ", similar.claim_id()));
      }
    }
    if (g->json()) std::cout << json.Finish();
    return kExitOk;
  });
}

void AddClaimShow(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, as_of_time, known_at;
    uint64_t as_of_position = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "show", "Show a claim: fields, status, evidence timeline, links");
  AddClaimIdArgument(sub, &f->claim_id);
  CLI::Option* position =
      sub->add_option("--as-of-position", f->as_of_position,
                      "The claim as the log had recorded it at position N "
                      "(beyond the log: OUT_OF_RANGE, as for watch --from)")
          ->type_name("N");
  AddTimeOption(sub, "--as-of-time", &f->as_of_time,
                "The claim as the log had recorded it at time T (recorded "
                "time; for what was known in the world then, --known-at)")
      ->excludes(position);
  AddKnownAtOption(sub, &f->known_at);
  sub->footer(Examples({
      "factlog claim show russia-withdrawal-started-2014-05-19",
      "factlog claim show russia-withdrawal-started-2014-05-19 "
      "--as-of-position 2",
      "factlog claim show russia-withdrawal-claim-2014-03 --known-at "
      "2014-04-15",
      "factlog claim show putin-orders-troops-back-2014-05-19 --output json "
      "| jq .status",
  }));
  OnRun(sub, action, [f, g, position] {
    v1::GetClaimRequest request;
    request.set_claim_id(f->claim_id);
    if (position->count() > 0) request.set_as_of_position(f->as_of_position);
    if (!f->as_of_time.empty()) {
      *request.mutable_as_of_time() =
          ParseTimeFlag("--as-of-time", f->as_of_time);
    }
    if (!f->known_at.empty()) {
      *request.mutable_known_at() = ParseTimeFlag("--known-at", f->known_at);
    }
    Connection connection(*g);
    const v1::ClaimView claim =
        connection.Call(connection.claims(), &Stub::GetClaim, request);
    std::cout << (g->json() ? JsonLine(claim) : RenderClaim(claim));
    return kExitOk;
  });
}

void AddClaimList(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string status, subject, claimant, tag, kind, known_at;
    int limit = 50;
    bool all = false, overdue = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub =
      claim->add_subcommand("list", "List claims, ordered by claim id");
  CLI::Option* status = AddEnumOption<v1::ClaimStatus>(
      sub, "--status", &f->status, "Only claims with this status");
  sub->add_flag("--overdue", f->overdue,
                "Only promises and predictions past their due date with no "
                "verdict (same as --status overdue)")
      ->excludes(status);
  sub->add_option("--subject", f->subject, "Only claims about this subject")
      ->type_name("SLUG");
  sub->add_option("--claimant", f->claimant, "Only claims by this claimant")
      ->type_name("NAME");
  sub->add_option("--tag", f->tag, "Only claims with this tag")
      ->type_name("TAG");
  AddEnumOption<v1::ClaimKind>(sub, "--kind", &f->kind,
                               "Only claims of this kind");
  AddKnownAtOption(sub, &f->known_at);
  CLI::Option* limit =
      sub->add_option("--limit", f->limit, "At most N claims (default 50)")
          ->type_name("N")
          ->check(CLI::PositiveNumber.description(""));
  sub->add_flag("--all", f->all, "Every matching claim (follows all pages)")
      ->excludes(limit);
  sub->footer(Examples({
      "factlog claim list --subject russia-troops-ukraine-border",
      "factlog claim list --status contradicted --all",
      "factlog claim list --overdue --all",
      "factlog claim list --claimant 'Vladimir Putin' --output json | jq "
      "'.[].claimId'",
  }));
  OnRun(sub, action, [f, g] {
    v1::ListClaimsRequest request;
    if (!f->status.empty()) {
      request.set_status(ParseEnum<v1::ClaimStatus>("--status", f->status));
    }
    if (f->overdue) request.set_status(v1::CLAIM_STATUS_OVERDUE);
    request.set_subject(f->subject);
    request.set_claimant(f->claimant);
    request.set_tag(f->tag);
    if (!f->kind.empty()) {
      request.set_kind(ParseEnum<v1::ClaimKind>("--kind", f->kind));
    }
    if (!f->known_at.empty()) {
      *request.mutable_known_at() = ParseTimeFlag("--known-at", f->known_at);
    }
    constexpr int kMaxPage = 1000;
    Connection connection(*g);
    std::vector<v1::ClaimView> claims;  // table mode only
    JsonList json(g->json_lines());
    int count = 0;
    bool more = false;  // stopped at --limit with claims left
    while (true) {
      request.set_page_size(f->all ? kMaxPage
                                   : std::min(f->limit - count, kMaxPage));
      v1::ListClaimsResponse page =
          connection.Call(connection.claims(), &Stub::ListClaims, request);
      for (v1::ClaimView& c : *page.mutable_claims()) {
        if (!f->all && count >= f->limit) {
          more = true;
          break;
        }
        if (g->json()) {
          std::cout << json.Add(c);
        } else {
          claims.push_back(std::move(c));
        }
        ++count;
      }
      if (more || page.next_page_token().empty()) break;
      if (!f->all && count >= f->limit) {
        more = true;
        break;
      }
      request.set_page_token(page.next_page_token());
    }
    if (g->json()) {
      std::cout << json.Finish();
    } else {
      if (claims.empty()) {
        std::cout << "no claims\n";
        if (!f->claimant.empty()) {
          std::cout << FindClaimantHint(connection, f->claimant);
        }
      } else {
        std::cout << RenderClaimList(claims, g->screen_width);
        if (more) {
          std::cout << "(more claims: raise --limit or use --all)\n";
        }
      }
    }
    return kExitOk;
  });
}

// Every event of `claim_id`, in version order, one page at a time.
void AddClaimHistory(CLI::App* claim, const GlobalOptions* g, Action* action) {
  auto claim_id = std::make_shared<std::string>();
  CLI::App* sub =
      claim->add_subcommand("history", "Every event of a claim, oldest first");
  AddClaimIdArgument(sub, claim_id.get());
  sub->footer(Examples({
      "factlog claim history putin-troops-pulled-back-2014-05",
      "factlog claim history putin-troops-pulled-back-2014-05 --output json",
  }));
  OnRun(sub, action, [claim_id, g] {
    Connection connection(*g);
    const std::vector<v1::Event> events = FetchHistory(connection, *claim_id);
    if (g->json()) {
      JsonList json(g->json_lines());
      for (const v1::Event& e : events) std::cout << json.Add(e);
      std::cout << json.Finish();
    } else {
      std::cout << RenderHistory(events, g->screen_width);
    }
    return kExitOk;
  });
}

void AddClaimProvenance(CLI::App* claim, const GlobalOptions* g,
                        Action* action) {
  auto claim_id = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("prov-jsonld");
  CLI::App* sub = claim->add_subcommand(
      "provenance", "A claim's history as W3C PROV (JSON-LD)");
  AddClaimIdArgument(sub, claim_id.get());
  sub->add_option("--format", *format, "prov-jsonld")
      ->check(CLI::IsMember({"prov-jsonld"}))
      ->capture_default_str();
  sub->footer(
      "\nEntities for each version of the claim, activities for each event,\n"
      "agents for who appended them; see client/provenance.h.\n" +
      Examples({
          "factlog claim provenance putin-orders-troops-back-2014-05-19",
          "factlog claim provenance ukraine-24-servicemen-killed | jq "
          "'.\"@graph\"[] | "
          "select(.\"@type\" == \"prov:Activity\")'",
      }));
  // The lambda owns `format` too: CLI11 writes into it while parsing.
  OnRun(sub, action, [claim_id, format, g] {
    Connection connection(*g);
    std::cout << ProvenanceJsonLd(FetchHistory(connection, *claim_id)).dump(2)
              << "\n";
    return kExitOk;
  });
}

void AddClaimCorrect(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, text, subject, due_at, reason;
    std::vector<std::string> tags;
    bool clear_tags = false, clear_due_at = false;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "correct", "Correct a claim's text, subject, tags or due time");
  AddClaimIdArgument(sub, &f->claim_id);
  CLI::Option* text = sub->add_option("--text", f->text, "New text");
  CLI::Option* subject =
      sub->add_option("--subject", f->subject, "New subject slug")
          ->type_name("SLUG");
  CLI::Option* tags =
      sub->add_option("--tag", f->tags,
                      "New tags, replacing the old ones (repeatable)")
          ->type_name("TAG")
          ->allow_extra_args(false);
  CLI::Option* clear_tags =
      sub->add_flag("--clear-tags", f->clear_tags, "Remove all tags")
          ->excludes(tags);
  CLI::Option* due_at =
      AddTimeOption(sub, "--due-at", &f->due_at, "New due time");
  CLI::Option* clear_due_at =
      sub->add_flag("--clear-due-at", f->clear_due_at, "Remove the due time")
          ->excludes(due_at);
  sub->add_option("--reason", f->reason, "Why the claim is corrected")
      ->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog claim correct putin-orders-troops-back-2014-05-19 \\",
      "    --due-at 2014-05-26 --reason 'Peskov: within a week'",
      "factlog claim correct putin-orders-troops-back-2014-05-19 "
      "--clear-due-at \\",
      "    --reason 'No date was given'",
  }));
  OnRun(sub, action,
        [f, g, text, subject, tags, clear_tags, due_at, clear_due_at] {
          if (text->count() + subject->count() + tags->count() +
                  clear_tags->count() + due_at->count() +
                  clear_due_at->count() ==
              0) {
            throw UsageError(
                "nothing to correct: give --text, --subject, --tag, "
                "--clear-tags, --due-at or --clear-due-at");
          }
          v1::CorrectClaimRequest request;
          request.set_claim_id(f->claim_id);
          if (text->count() > 0) request.set_text(f->text);
          if (subject->count() > 0) request.set_subject(f->subject);
          if (tags->count() > 0 || f->clear_tags) {
            v1::TagList* list = request.mutable_tags();
            for (const std::string& tag : f->tags) list->add_tags(tag);
          }
          if (due_at->count() > 0) {
            *request.mutable_due_at() = ParseTimeFlag("--due-at", f->due_at);
          }
          request.set_clear_due_at(f->clear_due_at);
          request.set_reason(f->reason);
          return RunMutation(*g, f->mutation, &Stub::CorrectClaim, request,
                             [](const v1::CommandResponse& r) {
                               return RenderCommandResult("corrected claim", r);
                             });
        });
}

void AddClaimRetract(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, reason;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "retract",
      "Retract a claim: it stays readable, takes no more evidence/verdicts");
  AddClaimIdArgument(sub, &f->claim_id);
  sub->add_option("--reason", f->reason, "Why the claim is retracted")
      ->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog claim retract putin-amassed-40000-troops \\",
      "    --reason 'Misattributed: the statement was by Peskov'",
  }));
  OnRun(sub, action, [f, g] {
    v1::RetractClaimRequest request;
    request.set_claim_id(f->claim_id);
    request.set_reason(f->reason);
    return RunMutation(*g, f->mutation, &Stub::RetractClaim, request,
                       [](const v1::CommandResponse& r) {
                         return RenderCommandResult("retracted claim", r);
                       });
  });
}

void AddClaimLink(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, other, relation;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "link", "Link CLAIM -> OTHER; both claims' histories show the link");
  AddClaimIdArgument(sub, &f->claim_id);
  AddArgument(sub, "OTHER", &f->other, "The other claim's id");
  AddEnumOption<v1::LinkRelation>(sub, "--relation", &f->relation,
                                  "How CLAIM relates to OTHER")
      ->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog claim link putin-troops-pulled-back-2014-05 \\",
      "    russia-withdrawal-claim-2014-03 --relation repeats",
  }));
  OnRun(sub, action, [f, g] {
    v1::LinkClaimsRequest request;
    request.set_claim_id(f->claim_id);
    request.set_other_claim_id(f->other);
    request.set_relation(
        ParseEnum<v1::LinkRelation>("--relation", f->relation));
    const std::string detail =
        absl::StrCat("-> ", f->other, " (", ShortName(request.relation()), ")");
    return RunMutation(*g, f->mutation, &Stub::LinkClaims, request,
                       [&](const v1::CommandResponse& r) {
                         return RenderCommandResult("linked claim", r, detail);
                       });
  });
}

}  // namespace

void AddClaimCommands(CLI::App* app, const GlobalOptions* options,
                      Action* action) {
  CLI::App* claim = AddCommandGroup(
      app, "claim", "Record, read and correct claims",
      Examples({
          "factlog claim add --text 'Unemployment fell to 5%' \\",
          "    --claimant 'Minister' --kind statistic",
          "factlog claim show russia-withdrawal-started-2014-05-19",
          "factlog claim list --status contradicted",
      }));
  AddClaimAdd(claim, options, action);
  AddClaimShow(claim, options, action);
  AddClaimList(claim, options, action);
  AddClaimHistory(claim, options, action);
  AddClaimTimeline(claim, options, action);
  AddClaimProvenance(claim, options, action);
  AddClaimCorrect(claim, options, action);
  AddClaimRetract(claim, options, action);
  AddClaimLink(claim, options, action);
}

}  // namespace factlog::cli
