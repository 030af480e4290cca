// `factlog source ...`: the source registry (README "Sources"): adding
// sources, their aliases, affiliations and grades, the desk policy,
// re-attributing evidence, and reading sources and their track records.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/format_sources.h"
#include "client/subcommands.h"
#include "domain/sources.h"

namespace factlog::cli {
namespace {

using Stub = v1::ClaimService::Stub;

// Prints a source command's outcome: "`verb` source ID vN (position P)".
DescribeResult Described(std::string verb) {
  return [verb = std::move(verb)](const v1::CommandResponse& r) {
    return RenderSourceResult(verb, r);
  };
}

CLI::Option* AddSourceIdArgument(CLI::App* sub, std::string* id) {
  return AddArgument(sub, "SOURCE", id, "Source id");
}

void AddSourceAdd(CLI::App* source, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string name, kind, id, url, parent;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand("add", "Register a source");
  AddArgument(sub, "NAME", &f->name,
              "Its name, unique among every source's names and aliases");
  AddEnumOption<v1::SourceKind>(sub, "--kind", &f->kind, "What it is")
      ->required();
  sub->add_option("--id", f->id, "Source id (default: assigned)")
      ->type_name("SOURCE_ID");
  sub->add_option("--url", f->url, "Where it publishes")->type_name("URL");
  sub->add_option("--parent", f->parent,
                  "The organisation it belongs to (a source id)")
      ->type_name("SOURCE_ID");
  AddMutationFlags(sub, &f->mutation, /*with_expected_version=*/false);
  sub->footer(Examples({
      "factlog source add NATO --kind organisation --id nato",
      "factlog source add 'Anders Fogh Rasmussen' --kind person \\",
      "    --id rasmussen --parent nato",
  }));
  OnRun(sub, action, [f, g] {
    v1::RegisterSourceRequest request;
    request.set_source_id(f->id);
    request.set_name(f->name);
    request.set_kind(ParseEnum<v1::SourceKind>("--kind", f->kind));
    request.set_url(f->url);
    request.set_parent_id(f->parent);
    return RunMutation(*g, f->mutation, &Stub::RegisterSource, request,
                       Described("registered source"));
  });
}

void AddSourceAlias(CLI::App* source, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string id, alias;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "alias", "Add another name evidence may give for a source");
  AddSourceIdArgument(sub, &f->id);
  AddArgument(sub, "ALIAS", &f->alias,
              "The name, unique among every source's names and aliases");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples(
      {"factlog source alias rasmussen 'NATO (Anders Fogh Rasmussen)'"}));
  OnRun(sub, action, [f, g] {
    v1::AddSourceAliasRequest request;
    request.set_source_id(f->id);
    request.set_alias(f->alias);
    return RunMutation(*g, f->mutation, &Stub::AddSourceAlias, request,
                       Described("added an alias to source"));
  });
}

void AddSourceRename(CLI::App* source, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string id, name;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "rename", "Rename a source (the former name stays an alias)");
  AddSourceIdArgument(sub, &f->id);
  AddArgument(sub, "NAME", &f->name, "The new name");
  AddMutationFlags(sub, &f->mutation);
  OnRun(sub, action, [f, g] {
    v1::RenameSourceRequest request;
    request.set_source_id(f->id);
    request.set_name(f->name);
    return RunMutation(*g, f->mutation, &Stub::RenameSource, request,
                       Described("renamed source"));
  });
}

void AddSourceAffiliate(CLI::App* source, const GlobalOptions* g,
                        Action* action) {
  struct Flags {
    std::string id, parent;
    bool none = false;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "affiliate", "Affiliate a source with an organisation");
  AddSourceIdArgument(sub, &f->id);
  sub->add_option("PARENT", f->parent, "The organisation's source id")
      ->type_name("");
  sub->add_flag("--none", f->none, "End its affiliation instead");
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({"factlog source affiliate carney white-house"}));
  OnRun(sub, action, [f, g] {
    if (f->parent.empty() == !f->none) {
      throw UsageError("give the PARENT organisation, or --none");
    }
    v1::AffiliateSourceRequest request;
    request.set_source_id(f->id);
    request.set_parent_id(f->parent);
    return RunMutation(*g, f->mutation, &Stub::AffiliateSource, request,
                       Described("affiliated source"));
  });
}

void AddSourceGrade(CLI::App* source, const GlobalOptions* g, Action* action) {
  struct Flags {
    std::string id, grade, reason;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "grade",
      "Grade a source's reliability, A (reliable) to F (cannot "
      "be judged)");
  AddSourceIdArgument(sub, &f->id);
  sub->add_option("GRADE", f->grade, "a, b, c, d, e or f")
      ->required()
      ->type_name("");
  sub->add_option("--reason", f->reason, "Why")->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(
      Examples({"factlog source grade nato b --reason 'Official "
                "statements, usually borne out'"}));
  OnRun(sub, action, [f, g] {
    v1::GradeSourceRequest request;
    request.set_source_id(f->id);
    request.set_grade(ParseEnum<v1::SourceGrade>("GRADE", f->grade));
    request.set_reason(f->reason);
    return RunMutation(*g, f->mutation, &Stub::GradeSource, request,
                       Described("graded source"));
  });
}

void AddSourcePolicy(CLI::App* source, const GlobalOptions* g, Action* action) {
  struct Flags {
    uint32_t min = 1;
    bool ignore_unreliable = false;
    std::string reason;
    MutationFlags mutation;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "policy",
      "Set the desk policy: independent sources needed before a claim reads "
      "SUPPORTED or CONTRADICTED (from now on)");
  sub->add_option("--min-independent", f->min,
                  "Independent sources (top organisations) needed, 1-10")
      ->required();
  sub->add_flag("--ignore-unreliable", f->ignore_unreliable,
                "Do not count sources graded E or F");
  sub->add_option("--reason", f->reason, "Why")->required();
  AddMutationFlags(sub, &f->mutation);
  sub->footer(Examples({"factlog source policy --min-independent 2 \\",
                        "    --reason 'Two-source rule'"}));
  OnRun(sub, action, [f, g] {
    v1::SetDeskPolicyRequest request;
    request.set_min_independent_sources(f->min);
    request.set_ignore_unreliable(f->ignore_unreliable);
    request.set_reason(f->reason);
    return RunMutation(*g, f->mutation, &Stub::SetDeskPolicy, request,
                       Described("set the desk policy"));
  });
}

void AddSourceReattribute(CLI::App* source, const GlobalOptions* g,
                          Action* action) {
  struct Flags {
    std::vector<std::string> claims;
    std::string reason;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = source->add_subcommand(
      "reattribute",
      "Attribute claims' evidence again as the registry and policy stand "
      "now (one event per claim that changes)");
  sub->add_option("CLAIM", f->claims, "Claim ids")->required()->type_name("");
  sub->add_option("--reason", f->reason, "Why");
  sub->footer(Examples({"factlog source reattribute c-000000000001 \\",
                        "    --reason 'alias NATO (Rasmussen) added'"}));
  OnRun(sub, action, [f, g] {
    Connection connection(*g);
    for (const std::string& claim : f->claims) {
      v1::ReattributeEvidenceRequest request;
      request.set_claim_id(claim);
      request.set_reason(f->reason);
      request.set_request_id(NewRequestId());
      try {
        const v1::CommandResponse r = connection.Call(
            connection.claims(), &Stub::ReattributeEvidence, request);
        std::cout << (g->json() ? JsonLine(r)
                                : absl::StrCat("re-attributed claim ", claim,
                                               " v", r.version(), "\n"));
      } catch (const CommandError& e) {
        if (e.code() != "FAILED_PRECONDITION") throw;
        if (!g->json()) std::cout << claim << ": unchanged\n";
      }
    }
    return kExitOk;
  });
}

void AddSourceShow(CLI::App* source, const GlobalOptions* g, Action* action) {
  auto id = std::make_shared<std::string>();
  CLI::App* sub = source->add_subcommand(
      "show", "A source: names, affiliation, grades and track record");
  AddSourceIdArgument(sub, id.get());
  sub->footer(Examples({"factlog source show nato"}));
  OnRun(sub, action, [id, g] {
    v1::GetSourceRequest request;
    request.set_source_id(*id);
    Connection connection(*g);
    const v1::GetSourceResponse response =
        connection.Call(connection.claims(), &Stub::GetSource, request);
    std::cout << (g->json() ? JsonLine(response) : RenderSource(response));
    return kExitOk;
  });
}

// Every page of ListSources, the policy with the last.
v1::ListSourcesResponse AllSources(Connection& connection) {
  v1::ListSourcesRequest request;
  request.set_page_size(1000);
  v1::ListSourcesResponse all;
  for (;;) {
    v1::ListSourcesResponse page =
        connection.Call(connection.claims(), &Stub::ListSources, request);
    for (v1::SourceView& s : *page.mutable_sources()) {
      *all.add_sources() = std::move(s);
    }
    *all.mutable_policy() = page.policy();
    if (page.next_page_token().empty()) return all;
    request.set_page_token(page.next_page_token());
  }
}

void AddSourceList(CLI::App* source, const GlobalOptions* g, Action* action) {
  CLI::App* sub = source->add_subcommand(
      "list", "The registered sources, and the desk policy");
  OnRun(sub, action, [g] {
    Connection connection(*g);
    const v1::ListSourcesResponse all = AllSources(connection);
    if (g->json()) {
      for (const v1::SourceView& s : all.sources()) std::cout << JsonLine(s);
    } else {
      std::cout << RenderSourceList(all, g->screen_width);
    }
    return kExitOk;
  });
}

void AddSourceSuggest(CLI::App* source, const GlobalOptions* g,
                      Action* action) {
  CLI::App* sub = source->add_subcommand(
      "suggest",
      "Names that look like the same source (case, spacing, the same "
      "organisation before parentheses), for an editor to confirm with "
      "`source alias`");
  OnRun(sub, action, [g] {
    Connection connection(*g);
    // The registry's names, and the names evidence gave that resolved to
    // no source, over at most the first 10,000 claims.
    std::vector<std::string> names;
    const v1::ListSourcesResponse sources = AllSources(connection);
    for (const v1::SourceView& s : sources.sources()) names.push_back(s.name());
    constexpr int kPage = 1000, kMaxClaims = 10000;
    v1::ListClaimsRequest request;
    request.set_page_size(kPage);
    for (int seen = 0; seen < kMaxClaims;) {
      const v1::ListClaimsResponse page =
          connection.Call(connection.claims(), &Stub::ListClaims, request);
      for (const v1::ClaimView& claim : page.claims()) {
        for (const v1::EvidenceView& e : claim.evidence()) {
          if (!e.has_attribution()) names.push_back(e.source().name());
        }
      }
      seen += page.claims_size();
      if (page.next_page_token().empty()) break;
      request.set_page_token(page.next_page_token());
    }
    std::cout << RenderSuggestions(domain::SuggestSameSources(names));
    return kExitOk;
  });
}

}  // namespace

void AddSourceCommands(CLI::App* app, const GlobalOptions* options,
                       Action* action) {
  CLI::App* source = AddCommandGroup(
      app, "source",
      "The source registry: who is independent of whom, how reliable",
      Examples({"factlog source add NATO --kind organisation --id nato",
                "factlog source show nato", "factlog source suggest"}));
  AddSourceAdd(source, options, action);
  AddSourceAlias(source, options, action);
  AddSourceRename(source, options, action);
  AddSourceAffiliate(source, options, action);
  AddSourceGrade(source, options, action);
  AddSourcePolicy(source, options, action);
  AddSourceReattribute(source, options, action);
  AddSourceShow(source, options, action);
  AddSourceList(source, options, action);
  AddSourceSuggest(source, options, action);
}

}  // namespace factlog::cli
