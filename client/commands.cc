#include "client/commands.h"

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/claimreview.h"
#include "client/format.h"
#include "client/format_claims.h"
#include "client/format_events.h"
#include "client/format_stats.h"
#include "client/health.h"
#include "client/import.h"
#include "client/provenance.h"
#include "client/values.h"
#include "client/verify.h"
#include "client/watch.h"
#include "factlog/v1/service.grpc.pb.h"

namespace factlog::cli {
namespace {

namespace v1 = factlog::v1;
using Action = std::function<int()>;
using Stub = v1::ClaimService::Stub;

// ---- Shared plumbing --------------------------------------------------------

// Makes `sub` select `run` when it is the command given.
void OnRun(CLI::App* sub, Action* action, Action run) {
  sub->callback([action, run = std::move(run)] { *action = run; });
}

std::string Examples(std::initializer_list<absl::string_view> lines) {
  std::string out = "\nExamples:";
  for (absl::string_view line : lines) absl::StrAppend(&out, "\n  ", line);
  return out;
}

CLI::Option* AddEnumOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help,
                           const google::protobuf::EnumDescriptor* type) {
  return sub->add_option(name, *value, help)
      ->check(EnumValidator(type))
      ->type_name(
          absl::StrCat("{", absl::StrJoin(EnumFlagValues(type), "|"), "}"));
}

template <typename E>
CLI::Option* AddEnumOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help) {
  return AddEnumOption(sub, name, value, help,
                       google::protobuf::GetEnumDescriptor<E>());
}

CLI::Option* AddTimeOption(CLI::App* sub, const std::string& name,
                           std::string* value, const std::string& help) {
  return sub->add_option(name, *value, help)
      ->check(TimeValidator())
      ->type_name("TIME");
}

// --expected-version and --request-id, common to the mutating commands.
struct MutationFlags {
  uint64_t expected_version = 0;
  CLI::Option* expected_version_option = nullptr;
  std::string request_id;
};

void AddMutationFlags(CLI::App* sub, MutationFlags* flags,
                      bool with_expected_version = true) {
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

template <typename Request>
void ApplyMutationFlags(const MutationFlags& flags, Request* request) {
  if constexpr (!std::is_same_v<Request, v1::RecordClaimRequest>) {
    if (flags.expected_version_option != nullptr &&
        flags.expected_version_option->count() > 0) {
      request->set_expected_version(flags.expected_version);
    }
  }
  request->set_request_id(flags.request_id.empty() ? NewRequestId()
                                                   : flags.request_id);
}

using MutationCall = std::function<grpc::Status(Stub&, grpc::ClientContext*,
                                                v1::CommandResponse*)>;

// Sends one command and prints its result: the CommandResponse as JSON, or
// the line `describe` renders.
int RunMutation(
    const GlobalOptions& options, const MutationCall& call,
    const std::function<std::string(const v1::CommandResponse&)>& describe) {
  Connection connection(options);
  grpc::ClientContext context;
  connection.PrepareUnary(&context);
  v1::CommandResponse response;
  connection.Check(call(connection.claims(), &context, &response));
  std::cout << (options.json() ? JsonLine(response) : describe(response));
  return kExitOk;
}

v1::Source MakeSource(const std::string& name, const std::string& outlet,
                      const std::string& url) {
  v1::Source source;
  source.set_name(name);
  source.set_outlet(outlet);
  source.set_url(url);
  return source;
}

// ---- claim add
// ----------------------------------------------------------------

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
  sub->add_option("--subject", f->subject, "Subject slug")->type_name("SLUG");
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
      "factlog claim add --id putin-orders-withdrawal \\",
      "    --text 'Putin ordered the troops back to their bases' \\",
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
    v1::CommandResponse recorded;
    {
      grpc::ClientContext context;
      connection.PrepareUnary(&context);
      connection.Check(
          connection.claims().RecordClaim(&context, request, &recorded));
    }
    std::cout << (g->json() ? JsonLine(recorded)
                            : RenderCommandResult("recorded claim", recorded) +
                                  RenderSimilarClaims(recorded));
    if (!f->link_repeats) return kExitOk;
    for (const v1::SimilarClaim& similar : recorded.similar_claims()) {
      v1::LinkClaimsRequest link;
      link.set_claim_id(recorded.claim_id());
      link.set_other_claim_id(similar.claim_id());
      link.set_relation(v1::LINK_RELATION_REPEATS);
      // Derived from the claim's request id: a re-run links nothing twice.
      link.set_request_id(absl::StrCat(request.request_id().substr(0, 50),
                                       "/repeats/", similar.claim_id()));
      grpc::ClientContext context;
      connection.PrepareUnary(&context);
      v1::CommandResponse linked;
      connection.Check(connection.claims().LinkClaims(&context, link, &linked));
      std::cout << (g->json()
                        ? JsonLine(linked)
                        : RenderCommandResult(
                              "linked claim", linked,
                              absl::StrCat("REPEATS ", similar.claim_id())));
    }
    return kExitOk;
  });
}

// ---- claim show / list / history
// ----------------------------------------------

void AddClaimShow(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, as_of_time;
    uint64_t as_of_position = 0;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = claim->add_subcommand(
      "show", "Show a claim: fields, status, evidence timeline, links");
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
  CLI::Option* position =
      sub->add_option("--as-of-position", f->as_of_position,
                      "The claim as it stood at log position N")
          ->type_name("N");
  AddTimeOption(sub, "--as-of-time", &f->as_of_time,
                "The claim as it stood at time T")
      ->excludes(position);
  sub->footer(Examples({
      "factlog claim show putin-orders-withdrawal",
      "factlog claim show putin-orders-withdrawal --as-of-time 2014-05-20",
      "factlog claim show putin-orders-withdrawal --output json | jq .status",
  }));
  OnRun(sub, action, [f, g, position] {
    v1::GetClaimRequest request;
    request.set_claim_id(f->claim_id);
    if (position->count() > 0) request.set_as_of_position(f->as_of_position);
    if (!f->as_of_time.empty()) {
      *request.mutable_as_of_time() =
          ParseTimeFlag("--as-of-time", f->as_of_time);
    }
    Connection connection(*g);
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::ClaimView claim;
    connection.Check(connection.claims().GetClaim(&context, request, &claim));
    std::cout << (g->json() ? JsonLine(claim) : RenderClaim(claim));
    return kExitOk;
  });
}

void AddClaimList(CLI::App* claim, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string status, subject, claimant, tag, kind;
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
      ".claimId",
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
    constexpr int kMaxPage = 1000;
    Connection connection(*g);
    std::vector<v1::ClaimView> claims;  // table mode only
    int count = 0;
    bool more = false;  // stopped at --limit with claims left
    while (true) {
      request.set_page_size(f->all ? kMaxPage
                                   : std::min(f->limit - count, kMaxPage));
      grpc::ClientContext context;
      connection.PrepareUnary(&context);
      v1::ListClaimsResponse page;
      connection.Check(
          connection.claims().ListClaims(&context, request, &page));
      for (v1::ClaimView& c : *page.mutable_claims()) {
        if (!f->all && count >= f->limit) {
          more = true;
          break;
        }
        if (g->json()) {
          std::cout << JsonLine(c);  // one claim per line
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
    if (!g->json()) {
      if (claims.empty()) {
        std::cout << "no claims\n";
      } else {
        std::cout << RenderClaimList(claims);
        if (more) {
          std::cout << "(more claims: raise --limit or use --all)\n";
        }
      }
    }
    return kExitOk;
  });
}

// Every event of `claim_id`, in version order, one page at a time.
std::vector<v1::Event> FetchHistory(Connection& connection,
                                    const std::string& claim_id) {
  v1::GetClaimHistoryRequest request;
  request.set_claim_id(claim_id);
  std::vector<v1::Event> events;
  while (true) {
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::GetClaimHistoryResponse page;
    connection.Check(
        connection.claims().GetClaimHistory(&context, request, &page));
    for (v1::Event& e : *page.mutable_events()) events.push_back(std::move(e));
    if (page.next_version() == 0 ||
        page.next_version() <= request.from_version()) {
      break;
    }
    request.set_from_version(page.next_version());
  }
  return events;
}

void AddClaimHistory(CLI::App* claim, const GlobalOptions* g, Action* action) {
  auto claim_id = std::make_shared<std::string>();
  CLI::App* sub =
      claim->add_subcommand("history", "Every event of a claim, oldest first");
  sub->add_option("CLAIM", *claim_id, "Claim id")->required()->type_name("");
  sub->footer(Examples({
      "factlog claim history putin-orders-withdrawal",
      "factlog claim history putin-orders-withdrawal --output json",
  }));
  OnRun(sub, action, [claim_id, g] {
    Connection connection(*g);
    const std::vector<v1::Event> events = FetchHistory(connection, *claim_id);
    if (g->json()) {
      for (const v1::Event& e : events) std::cout << JsonLine(e);
    } else {
      std::cout << RenderHistory(events);
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
  sub->add_option("CLAIM", *claim_id, "Claim id")->required()->type_name("");
  sub->add_option("--format", *format, "prov-jsonld")
      ->check(CLI::IsMember({"prov-jsonld"}))
      ->capture_default_str();
  sub->footer(
      "\nEntities for each version of the claim, activities for each event,\n"
      "agents for who appended them; see client/provenance.h.\n" +
      Examples({
          "factlog claim provenance putin-orders-troops-back-2014-05-19",
          "factlog claim provenance ID | jq '.\"@graph\"[] | "
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

// ---- claim correct / retract / link -----------------------------------------

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
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
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
      "factlog claim correct putin-orders-withdrawal \\",
      "    --text 'Putin said he ordered the troops back' \\",
      "    --reason 'Quote was paraphrased'",
      "factlog claim correct some-promise --clear-due-at --reason 'No date'",
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
          ApplyMutationFlags(f->mutation, &request);
          return RunMutation(
              *g,
              [&](Stub& stub, grpc::ClientContext* ctx,
                  v1::CommandResponse* resp) {
                return stub.CorrectClaim(ctx, request, resp);
              },
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
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
  sub->add_option("--reason", f->reason, "Why the claim is retracted")
      ->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog claim retract putin-orders-withdrawal \\",
      "    --reason 'Misattributed: the statement was by Peskov'",
  }));
  OnRun(sub, action, [f, g] {
    v1::RetractClaimRequest request;
    request.set_claim_id(f->claim_id);
    request.set_reason(f->reason);
    ApplyMutationFlags(f->mutation, &request);
    return RunMutation(
        *g,
        [&](Stub& stub, grpc::ClientContext* ctx, v1::CommandResponse* resp) {
          return stub.RetractClaim(ctx, request, resp);
        },
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
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
  sub->add_option("OTHER", f->other, "The other claim's id")
      ->required()
      ->type_name("");
  AddEnumOption<v1::LinkRelation>(sub, "--relation", &f->relation,
                                  "How CLAIM relates to OTHER")
      ->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog claim link peskov-repeats-withdrawal putin-orders-withdrawal \\",
      "    --relation repeats",
  }));
  OnRun(sub, action, [f, g] {
    v1::LinkClaimsRequest request;
    request.set_claim_id(f->claim_id);
    request.set_other_claim_id(f->other);
    request.set_relation(
        ParseEnum<v1::LinkRelation>("--relation", f->relation));
    ApplyMutationFlags(f->mutation, &request);
    const std::string detail =
        absl::StrCat("-> ", f->other, " (", ShortName(request.relation()), ")");
    return RunMutation(
        *g,
        [&](Stub& stub, grpc::ClientContext* ctx, v1::CommandResponse* resp) {
          return stub.LinkClaims(ctx, request, resp);
        },
        [&](const v1::CommandResponse& r) {
          return RenderCommandResult("linked claim", r, detail);
        });
  });
}

// ---- evidence
// -------------------------------------------------------------------

void AddEvidenceAdd(CLI::App* evidence, const GlobalOptions* g,
                    Action* action) {
  struct Flags {
    std::string claim_id, id, stance, source, outlet, url, observed_at, note;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub =
      evidence->add_subcommand("add", "Add evidence bearing on a claim");
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
  AddEnumOption<v1::Stance>(sub, "--stance", &f->stance,
                            "Whether it supports or refutes the claim")
      ->required();
  sub->add_option("--source", f->source, "Who says so (person or body)")
      ->required()
      ->type_name("NAME");
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
      "factlog evidence add putin-orders-withdrawal --stance refutes \\",
      "    --source NATO --outlet Reuters --observed-at 2014-05-20T09:00:00Z "
      "\\",
      "    --note 'NATO sees no sign of withdrawal' --id nato-no-sign",
  }));
  OnRun(sub, action, [f, g] {
    v1::AddEvidenceRequest request;
    request.set_claim_id(f->claim_id);
    request.set_evidence_id(f->id);
    request.set_stance(ParseEnum<v1::Stance>("--stance", f->stance));
    *request.mutable_source() = MakeSource(f->source, f->outlet, f->url);
    if (!f->observed_at.empty()) {
      *request.mutable_observed_at() =
          ParseTimeFlag("--observed-at", f->observed_at);
    }
    request.set_note(f->note);
    ApplyMutationFlags(f->mutation, &request);
    return RunMutation(
        *g,
        [&](Stub& stub, grpc::ClientContext* ctx, v1::CommandResponse* resp) {
          return stub.AddEvidence(ctx, request, resp);
        },
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
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
  sub->add_option("EVIDENCE_ID", f->evidence_id, "Evidence id")
      ->required()
      ->type_name("");
  sub->add_option("--reason", f->reason, "Why it is withdrawn");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({
      "factlog evidence withdraw putin-orders-withdrawal nato-no-sign \\",
      "    --reason 'Report was about a different unit'",
  }));
  OnRun(sub, action, [f, g] {
    v1::WithdrawEvidenceRequest request;
    request.set_claim_id(f->claim_id);
    request.set_evidence_id(f->evidence_id);
    request.set_reason(f->reason);
    ApplyMutationFlags(f->mutation, &request);
    return RunMutation(
        *g,
        [&](Stub& stub, grpc::ClientContext* ctx, v1::CommandResponse* resp) {
          return stub.WithdrawEvidence(ctx, request, resp);
        },
        [&](const v1::CommandResponse& r) {
          return RenderCommandResult(
              absl::StrCat("withdrew evidence ", request.evidence_id(),
                           " from claim"),
              r);
        });
  });
}

// ---- verdict
// --------------------------------------------------------------------

void AddVerdict(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string claim_id, rating, summary, reviewer;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "verdict", "Issue a verdict on a claim (supersedes earlier verdicts)");
  sub->add_option("CLAIM", f->claim_id, "Claim id")->required()->type_name("");
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
          "factlog verdict putin-orders-withdrawal --rating false \\",
          "    --summary 'No withdrawal observed' --reviewer 'Desk A'",
          "factlog verdict build-the-bridge --rating kept \\",
          "    --summary 'Opened on time' --reviewer 'Desk B'",
      }));
  OnRun(sub, action, [f, g] {
    v1::IssueVerdictRequest request;
    request.set_claim_id(f->claim_id);
    request.set_rating(ParseEnum<v1::Rating>("--rating", f->rating));
    request.set_summary(f->summary);
    request.set_reviewer(f->reviewer);
    ApplyMutationFlags(f->mutation, &request);
    return RunMutation(
        *g,
        [&](Stub& stub, grpc::ClientContext* ctx, v1::CommandResponse* resp) {
          return stub.IssueVerdict(ctx, request, resp);
        },
        [&](const v1::CommandResponse& r) {
          return RenderCommandResult(
              absl::StrCat("issued verdict ", ShortName(request.rating()),
                           " on claim"),
              r);
        });
  });
}

// ---- claimant, subjects, events, watch --------------------------------------

// --type for events and watch: lower-case names with dashes, repeatable or
// comma-separated; an unknown name is a usage error.
void AddEventTypeOption(CLI::App* sub, std::vector<std::string>* types) {
  sub->add_option("--type", *types,
                  "Only these event types (repeatable or comma-separated)")
      ->check(EnumValidator<v1::EventType>())
      ->type_name(absl::StrCat(
          "{",
          absl::StrJoin(
              EnumFlagValues(
                  google::protobuf::GetEnumDescriptor<v1::EventType>()),
              "|"),
          "}"))
      ->delimiter(',')
      ->allow_extra_args(false);
}

v1::EventFilter MakeEventFilter(const std::string& claim_id,
                                const std::string& subject,
                                const std::string& claimant,
                                const std::vector<std::string>& types) {
  v1::EventFilter filter;
  filter.set_claim_id(claim_id);
  filter.set_subject(subject);
  filter.set_claimant(claimant);
  for (const std::string& type : types) {
    filter.add_types(ParseEnum<v1::EventType>("--type", type));
  }
  return filter;
}

void AddClaimantShow(CLI::App* claimant, const GlobalOptions* g,
                     Action* action) {
  auto name = std::make_shared<std::string>();
  CLI::App* sub = claimant->add_subcommand(
      "show", "A claimant's track record: claims by status and rating");
  sub->add_option("name", *name, "Claimant name")
      ->required()
      ->type_name("NAME");
  sub->footer(Examples({
      "factlog claimant show 'Vladimir Putin'",
      "factlog claimant show 'Vladimir Putin' --output json | jq .byStatus",
  }));
  OnRun(sub, action, [name, g] {
    Connection connection(*g);
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::GetClaimantRequest request;
    request.set_claimant(*name);
    v1::ClaimantView view;
    connection.Check(connection.claims().GetClaimant(&context, request, &view));
    std::cout << (g->json() ? JsonLine(view) : RenderClaimant(view));
    return kExitOk;
  });
}

void AddSubjects(CLI::App* app, const GlobalOptions* g, Action* action) {
  CLI::App* sub = app->add_subcommand(
      "subjects", "Every subject with its number of claims by status");
  sub->footer(Examples({
      "factlog subjects",
      "factlog subjects --output json | jq -r .subject",
  }));
  OnRun(sub, action, [g] {
    Connection connection(*g);
    v1::ListSubjectsRequest request;
    request.set_page_size(1000);
    std::vector<v1::SubjectSummary> subjects;
    while (true) {
      grpc::ClientContext context;
      connection.PrepareUnary(&context);
      v1::ListSubjectsResponse page;
      connection.Check(
          connection.claims().ListSubjects(&context, request, &page));
      for (v1::SubjectSummary& s : *page.mutable_subjects()) {
        if (g->json()) {
          std::cout << JsonLine(s);
        } else {
          subjects.push_back(std::move(s));
        }
      }
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    if (!g->json()) {
      std::cout << (subjects.empty() ? std::string("no subjects\n")
                                     : RenderSubjects(subjects));
    }
    return kExitOk;
  });
}

void AddEvents(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    uint64_t from = 0, limit = 0;
    std::string claim_id, subject, claimant;
    std::vector<std::string> types;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "events", "Read the event log in position order (a snapshot)");
  sub->add_option("--from", f->from, "First position (inclusive; default 1)")
      ->type_name("N");
  sub->add_option("--limit", f->limit, "At most N events (default: all)")
      ->type_name("N");
  sub->add_option("--claim", f->claim_id, "Only events of this claim")
      ->type_name("CLAIM");
  sub->add_option("--subject", f->subject, "Only events about this subject")
      ->type_name("SLUG");
  sub->add_option("--claimant", f->claimant,
                  "Only events of this claimant's claims")
      ->type_name("NAME");
  AddEventTypeOption(sub, &f->types);
  sub->footer(Examples({
      "factlog events --from 100 --limit 20",
      "factlog events --claim putin-orders-withdrawal",
      "factlog events --type evidence-added,verdict-issued --output json",
  }));
  OnRun(sub, action, [f, g] {
    v1::ReadEventsRequest request;
    request.set_from_position(f->from);
    request.set_max_count(f->limit);
    *request.mutable_filter() =
        MakeEventFilter(f->claim_id, f->subject, f->claimant, f->types);
    Connection connection(*g);
    connection.AwaitConnected();
    grpc::ClientContext context;
    connection.PrepareStream(&context);
    auto reader = connection.events().ReadEvents(&context, request);
    v1::Event event;
    size_t count = 0;
    while (reader->Read(&event)) {
      if (g->json()) {
        std::cout << JsonLine(event);
      } else {
        if (count == 0) std::cout << EventsHeader();
        std::cout << EventRow(event);
      }
      ++count;
    }
    connection.Check(reader->Finish());
    if (!g->json() && count == 0) std::cout << "no events\n";
    return kExitOk;
  });
}

void AddWatch(CLI::App* app, const GlobalOptions* g, Action* action) {
  struct Flags {
    uint64_t from = 0;
    bool from_end = false;
    std::string claim_id, subject, claimant;
    std::vector<std::string> types;
    bool overdue = false, overdue_only = false;
    std::string overdue_after;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = app->add_subcommand(
      "watch", "Follow the event log live (until Ctrl-C), across restarts");
  CLI::Option* from =
      sub->add_option("--from", f->from,
                      "Start after position N (0 = the whole history)")
          ->type_name("N");
  sub->add_flag("--from-end", f->from_end,
                "Only events committed from now on (the default)")
      ->excludes(from);
  sub->add_option("--claim", f->claim_id, "Only events of this claim")
      ->type_name("CLAIM");
  sub->add_option("--subject", f->subject, "Only events about this subject")
      ->type_name("SLUG");
  sub->add_option("--claimant", f->claimant,
                  "Only events of this claimant's claims")
      ->type_name("NAME");
  AddEventTypeOption(sub, &f->types);
  sub->add_flag("--overdue", f->overdue,
                "Also tell when a promise or prediction becomes overdue (its "
                "due date passed with no verdict and no support)");
  sub->add_flag("--overdue-only", f->overdue_only,
                "Only the overdue notices, no events");
  sub->add_option("--overdue-after", f->overdue_after,
                  "Overdue notices after this cursor, as printed with each "
                  "notice (TIME or TIME/CLAIM; 1970-01-01 = every claim "
                  "overdue now); implies --overdue. Default: from now on")
      ->check(OverdueCursorValidator())
      ->type_name("CURSOR");
  sub->footer(
      "\nTable output: one line per event (position, recorded time, claim,\n"
      "what happened, \"\u2192 STATUS\" when the server knows the status\n"
      "after it); \"-- caught up --\" and reconnection notices go to stderr.\n"
      "JSON output: every SubscribeResponse as one line (events, checkpoints,\n"
      "caughtUp, fellBehind, overdue), flushed as it arrives.\n"
      "\n"
      "Overdue notices (--overdue, --overdue-only): \"OVERDUE CLAIM ...\" "
      "when\n"
      "a promise or prediction's due date has passed with no verdict and no\n"
      "support, once per claim (again only if it becomes overdue anew, e.g.\n"
      "its only support withdrawn), followed by the cursor to resume after\n"
      "it. They are not events: nothing is added to the log. The server\n"
      "looks about once a second, while the watch is live; a claim that was\n"
      "overdue only between two looks, or only while the watch was away, is\n"
      "not reported (claim list --overdue shows what is overdue now).\n"
      "\n"
      "Resuming: when the server goes away (restart, UNAVAILABLE, dropped\n"
      "connection) watch reconnects with backoff (0.1s doubling to 5s) and\n"
      "resumes after the last position it received (last event, checkpoint\n"
      "or caughtUp), so no event is missed or printed twice. A script that\n"
      "stops can do the same: keep the highest position of the JSON lines\n"
      "(event.position, checkpoint/caughtUp/fellBehind.position) and pass it\n"
      "to --from next time; for overdue notices, keep the last\n"
      "overdue.cursor or checkpoint.overdueCursor and pass it to\n"
      "--overdue-after.\n"
      "\n"
      "--timeout bounds only the first connection (exit 3 when the server is\n"
      "not reached); the stream itself runs until Ctrl-C or SIGTERM (exit 0).\n"
      "Other errors (e.g. OUT_OF_RANGE when --from is beyond the server's\n"
      "log) exit 1.\n" +
      Examples({
          "factlog watch",
          "factlog watch --from 0 --claim putin-orders-withdrawal",
          "factlog watch --subject russia-troops-ukraine-border \\",
          "    --type evidence-added,verdict-issued",
          "factlog watch --from 1200 -o json | jq -c 'select(.event)'",
          "factlog watch --overdue-only --claimant 'Vladimir Putin'",
          "factlog watch --overdue-only \\",
          "    --overdue-after 2026-11-25T15:10:11.5Z/putin-promise",
      }));
  OnRun(sub, action, [f, g, from] {
    WatchOptions watch;
    if (from->count() > 0) watch.from_position = f->from;
    watch.filter =
        MakeEventFilter(f->claim_id, f->subject, f->claimant, f->types);
    if (f->overdue || f->overdue_only || !f->overdue_after.empty()) {
      watch.overdue.set_notify(true);
      watch.overdue.set_only(f->overdue_only);
      if (!f->overdue_after.empty()) {
        *watch.overdue.mutable_after() = *ParseOverdueCursor(f->overdue_after);
      }
    }
    return RunWatch(watch, *g);
  });
}

// ---- admin
// ------------------------------------------------------------------------

void AddAdminStats(CLI::App* admin, const GlobalOptions* g, Action* action) {
  CLI::App* sub = admin->add_subcommand(
      "stats",
      "Server statistics: log position, disk, live subscribers, and since "
      "start the commands, events, refusals, commit latency, RocksDB and "
      "memory figures /metrics shows");
  sub->footer(Examples({
      "factlog admin stats",
      "factlog admin stats -o json | jq '.subscriber[] | {peer, lag}'",
  }));
  OnRun(sub, action, [g] {
    Connection connection(*g);
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::GetStatsResponse stats;
    connection.Check(
        connection.admin().GetStats(&context, v1::GetStatsRequest(), &stats));
    std::cout << (g->json() ? JsonLine(stats) : RenderStats(stats));
    return kExitOk;
  });
}

void AddAdminBackup(CLI::App* admin, const GlobalOptions* g, Action* action) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = admin->add_subcommand(
      "backup",
      "Online, consistent backup of the server's data into a new directory "
      "on the server's filesystem (writes go on meanwhile)");
  sub->add_option("DIR", *dir,
                  "directory on the server host; must not exist yet")
      ->required()
      ->type_name("");
  sub->footer(
      "\nRestore on the server host with:\n"
      "  factlogd --restore-from DIR --data-dir NEW-DIR\n" +
      Examples({"factlog admin backup /var/backups/factlog/2026-11-25"}));
  OnRun(sub, action, [g, dir] {
    Connection connection(*g);
    grpc::ClientContext context;
    connection.PrepareUnary(&context);
    v1::BackupRequest request;
    request.set_dir(*dir);
    v1::BackupResponse response;
    connection.Check(connection.admin().Backup(&context, request, &response));
    if (g->json()) {
      std::cout << JsonLine(response);
    } else {
      std::cout << "backed up events 1.." << response.last_position() << " to "
                << response.dir() << " (on the server host)\n";
    }
    return kExitOk;
  });
}

// ---- import
// -----------------------------------------------------------------------

void AddImport(CLI::App* app, const GlobalOptions* g, Action* action) {
  auto path = std::make_shared<std::string>();
  CLI::App* sub = app->add_subcommand(
      "import", "Bulk-load commands from a JSON Lines file");
  sub->add_option("FILE", *path, "JSON Lines file (FILE.jsonl), or - for stdin")
      ->required()
      ->type_name("");
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
      "On success prints: imported N commands (M already applied), last\n"
      "position P.\n" +
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
    connection.AwaitConnected();
    grpc::ClientContext context;
    connection.PrepareStream(&context);
    auto reader = connection.claims().ExportClaimReviews(&context, request);
    v1::ClaimView claim;
    while (reader->Read(&claim)) {
      std::cout << ToClaimReview(claim, options).dump() << "\n";
    }
    connection.Check(reader->Finish());
    return kExitOk;
  });
}

}  // namespace

void BuildCli(CLI::App& app, GlobalOptions* options, Action* action) {
  app.name("factlog");
  app.description(
      "factlog: record claims, the evidence on them and verdicts, in an "
      "event-sourced log served by factlogd.");
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", "factlog 0.1.0");
  app.add_option("--server", options->server,
                 "factlogd address; prefix https:// for TLS "
                 "(env FACTLOG_SERVER)")
      ->envname("FACTLOG_SERVER")
      ->capture_default_str()
      ->type_name("HOST:PORT");
  app.add_option("-o,--output", options->output, "Output format")
      ->check(CLI::IsMember({"table", "json"}).description(""))
      ->capture_default_str()
      ->type_name("{table|json}");
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
      "2 usage error, 3 server unreachable.\n"
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
          "factlog claim add --id x --text 'The bridge opens in May' \\",
          "    --claimant Mayor --kind prediction --due-at 2025-05-31",
          "factlog evidence add x --stance refutes --source 'City Hall'",
          "factlog claim show x",
          "FACTLOG_SERVER=factlog.example:50051 factlog claim list -o json",
      }));

  CLI::App* claim =
      app.add_subcommand("claim", "Record, read and correct claims");
  claim->require_subcommand(1);
  claim->footer(Examples({
      "factlog claim add --text 'Unemployment fell to 5%' \\",
      "    --claimant 'Minister' --kind statistic",
      "factlog claim show putin-orders-withdrawal",
      "factlog claim list --status contradicted",
  }));
  AddClaimAdd(claim, options, action);
  AddClaimShow(claim, options, action);
  AddClaimList(claim, options, action);
  AddClaimHistory(claim, options, action);
  AddClaimProvenance(claim, options, action);
  AddClaimCorrect(claim, options, action);
  AddClaimRetract(claim, options, action);
  AddClaimLink(claim, options, action);

  CLI::App* evidence =
      app.add_subcommand("evidence", "Add or withdraw evidence on a claim");
  evidence->require_subcommand(1);
  evidence->footer(Examples({
      "factlog evidence add x --stance supports --source 'Reuters'",
      "factlog evidence withdraw x ev-1 --reason 'Wrong story'",
  }));
  AddEvidenceAdd(evidence, options, action);
  AddEvidenceWithdraw(evidence, options, action);

  AddVerdict(&app, options, action);

  CLI::App* claimant =
      app.add_subcommand("claimant", "Track records of claimants");
  claimant->require_subcommand(1);
  claimant->footer(Examples({"factlog claimant show 'Vladimir Putin'"}));
  AddClaimantShow(claimant, options, action);

  AddSubjects(&app, options, action);
  AddEvents(&app, options, action);
  AddWatch(&app, options, action);
  AddImport(&app, options, action);
  AddExport(&app, options, action);
  AddHealth(&app, options, action);
  AddVerify(&app, options, action);

  CLI::App* admin = app.add_subcommand("admin", "Server administration");
  admin->require_subcommand(1);
  admin->footer(Examples({"factlog admin stats",
                          "factlog admin backup /var/backups/factlog/today"}));
  AddAdminStats(admin, options, action);
  AddAdminBackup(admin, options, action);
}

}  // namespace factlog::cli
