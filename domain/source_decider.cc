#include "domain/source_decider.h"

#include <string>

#include "absl/strings/str_format.h"
#include "domain/enum_words.h"
#include "domain/validation.h"

namespace factlog::domain {
namespace {

const SourceRegistry& Registry(const DecideContext& ctx) {
  static const SourceRegistry* const kEmpty = new SourceRegistry();
  return ctx.sources != nullptr ? *ctx.sources : *kEmpty;
}

// A source that must exist, at expected_version when given.
absl::StatusOr<const v1::SourceView*> Target(const SourceRegistry& registry,
                                             const std::string& source_id,
                                             bool has_expected,
                                             uint64_t expected) {
  const v1::SourceView* view = registry.Find(source_id);
  if (view == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "source_id: no source \"%s\" is registered", source_id));
  }
  if (has_expected && expected != view->version()) {
    return absl::AbortedError(absl::StrFormat(
        "expected_version: source \"%s\" is at version %d, not %d", source_id,
        view->version(), expected));
  }
  return view;
}

// ALREADY_EXISTS when `name` is a name or alias of a source (`self` too:
// it would add nothing).
absl::Status CheckNameFree(const SourceRegistry& registry,
                           absl::string_view field, const std::string& name) {
  const absl::string_view holder = registry.IdOfName(SourceNameKey(name));
  if (holder.empty()) return absl::OkStatus();
  const v1::SourceView* other = registry.Find(holder);
  return absl::AlreadyExistsError(absl::StrFormat(
      "%s: \"%s\" is already a name of source \"%s\" (%s)", field, name, holder,
      other != nullptr ? other->name() : ""));
}

// The parent a source may be affiliated with: a registered organisation
// whose own chain does not lead back to `source_id`.
absl::Status CheckParent(const SourceRegistry& registry,
                         const std::string& source_id,
                         const std::string& parent_id) {
  const v1::SourceView* parent = registry.Find(parent_id);
  if (parent == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "parent_id: no source \"%s\" is registered", parent_id));
  }
  if (parent->kind() != v1::SOURCE_KIND_ORGANISATION) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "parent_id: \"%s\" is a %s; sources are affiliated with "
        "organisations",
        parent_id, EnumWord(parent->kind())));
  }
  const v1::SourceView* at = parent;
  for (int step = 0; at != nullptr && step < 64; ++step) {
    if (at->source_id() == source_id) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "parent_id: affiliating \"%s\" with \"%s\" would make a cycle "
          "(\"%s\" is already under \"%s\")",
          source_id, parent_id, parent_id, source_id));
    }
    if (at->parent_id().empty()) break;
    at = registry.Find(at->parent_id());
  }
  return absl::OkStatus();
}

// An event of `source_id` at `version`.
v1::Event& NextEvent(Decision& d, const std::string& source_id,
                     uint64_t version) {
  v1::Event& event = d.events.emplace_back();
  event.set_source_id(source_id);
  event.set_version(version);
  return event;
}

absl::StatusOr<Decision> DecideRegister(const v1::RegisterSourceRequest& req,
                                        const DecideContext& ctx) {
  if (auto s = ValidateRegisterSource(req, ctx.limits); !s.ok()) return s;
  const SourceRegistry& registry = Registry(ctx);
  const std::string id =
      req.source_id().empty() ? ctx.assigned_source_id : req.source_id();
  if (registry.Find(id) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrFormat("source_id: source \"%s\" already exists", id));
  }
  if (auto s = CheckNameFree(registry, "name", req.name()); !s.ok()) return s;
  if (!req.parent_id().empty()) {
    if (auto s = CheckParent(registry, id, req.parent_id()); !s.ok()) return s;
  }
  Decision d;
  d.source_id = id;
  v1::SourceRegistered* r = NextEvent(d, id, 1).mutable_source_registered();
  r->set_name(req.name());
  r->set_kind(req.kind());
  r->set_url(req.url());
  if (!req.parent_id().empty()) {
    NextEvent(d, id, 2).mutable_source_affiliated()->set_parent_id(
        req.parent_id());
  }
  return d;
}

absl::StatusOr<Decision> DecideRename(const v1::RenameSourceRequest& req,
                                      const DecideContext& ctx) {
  if (auto s = ValidateRenameSource(req, ctx.limits); !s.ok()) return s;
  const SourceRegistry& registry = Registry(ctx);
  absl::StatusOr<const v1::SourceView*> view =
      Target(registry, req.source_id(), req.has_expected_version(),
             req.expected_version());
  if (!view.ok()) return view.status();
  if (req.name() == (*view)->name()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("name: source \"%s\" is already called \"%s\"",
                        req.source_id(), req.name()));
  }
  // A new spelling of one of its own names is fine; another's is not.
  const absl::string_view holder = registry.IdOfName(SourceNameKey(req.name()));
  if (!holder.empty() && holder != req.source_id()) {
    if (auto s = CheckNameFree(registry, "name", req.name()); !s.ok()) return s;
  }
  Decision d;
  d.source_id = req.source_id();
  v1::SourceRenamed* r = NextEvent(d, req.source_id(), (*view)->version() + 1)
                             .mutable_source_renamed();
  r->set_name(req.name());
  r->set_previous((*view)->name());
  return d;
}

absl::StatusOr<Decision> DecideAlias(const v1::AddSourceAliasRequest& req,
                                     const DecideContext& ctx) {
  if (auto s = ValidateAddSourceAlias(req, ctx.limits); !s.ok()) return s;
  const SourceRegistry& registry = Registry(ctx);
  absl::StatusOr<const v1::SourceView*> view =
      Target(registry, req.source_id(), req.has_expected_version(),
             req.expected_version());
  if (!view.ok()) return view.status();
  if (auto s = CheckNameFree(registry, "alias", req.alias()); !s.ok()) return s;
  Decision d;
  d.source_id = req.source_id();
  NextEvent(d, req.source_id(), (*view)->version() + 1)
      .mutable_source_alias_added()
      ->set_alias(req.alias());
  return d;
}

absl::StatusOr<Decision> DecideAffiliate(const v1::AffiliateSourceRequest& req,
                                         const DecideContext& ctx) {
  if (auto s = ValidateAffiliateSource(req, ctx.limits); !s.ok()) return s;
  const SourceRegistry& registry = Registry(ctx);
  absl::StatusOr<const v1::SourceView*> view =
      Target(registry, req.source_id(), req.has_expected_version(),
             req.expected_version());
  if (!view.ok()) return view.status();
  if (!req.parent_id().empty()) {
    if (auto s = CheckParent(registry, req.source_id(), req.parent_id());
        !s.ok()) {
      return s;
    }
  }
  if (req.parent_id() == (*view)->parent_id()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "parent_id: source \"%s\" is already %s", req.source_id(),
        req.parent_id().empty()
            ? std::string("independent")
            : absl::StrFormat("affiliated with \"%s\"", req.parent_id())));
  }
  Decision d;
  d.source_id = req.source_id();
  v1::SourceAffiliated* a =
      NextEvent(d, req.source_id(), (*view)->version() + 1)
          .mutable_source_affiliated();
  a->set_parent_id(req.parent_id());
  a->set_previous_parent_id((*view)->parent_id());
  return d;
}

absl::StatusOr<Decision> DecideGrade(const v1::GradeSourceRequest& req,
                                     const DecideContext& ctx) {
  if (auto s = ValidateGradeSource(req, ctx.limits); !s.ok()) return s;
  const SourceRegistry& registry = Registry(ctx);
  absl::StatusOr<const v1::SourceView*> view =
      Target(registry, req.source_id(), req.has_expected_version(),
             req.expected_version());
  if (!view.ok()) return view.status();
  Decision d;
  d.source_id = req.source_id();
  v1::SourceGraded* g = NextEvent(d, req.source_id(), (*view)->version() + 1)
                            .mutable_source_graded();
  g->set_grade(req.grade());
  g->set_reason(req.reason());
  g->set_previous((*view)->grade());
  return d;
}

absl::StatusOr<Decision> DecidePolicy(const v1::SetDeskPolicyRequest& req,
                                      const DecideContext& ctx) {
  if (auto s = ValidateSetDeskPolicy(req, ctx.limits); !s.ok()) return s;
  const v1::DeskPolicyView& current = Registry(ctx).policy();
  if (req.has_expected_version() &&
      req.expected_version() != current.version()) {
    return absl::AbortedError(absl::StrFormat(
        "expected_version: the desk policy is at version %d, not %d",
        current.version(), req.expected_version()));
  }
  Decision d;
  v1::DeskPolicySet* p =
      NextEvent(d, "", current.version() + 1).mutable_desk_policy_set();
  p->mutable_policy()->set_min_independent_sources(
      req.min_independent_sources());
  p->mutable_policy()->set_ignore_unreliable(req.ignore_unreliable());
  p->set_reason(req.reason());
  return d;
}

}  // namespace

bool IsSourceCommand(const v1::Command& command) {
  switch (command.command_case()) {
    case v1::Command::kRegisterSource:
    case v1::Command::kRenameSource:
    case v1::Command::kAddSourceAlias:
    case v1::Command::kAffiliateSource:
    case v1::Command::kGradeSource:
    case v1::Command::kSetDeskPolicy:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<Decision> DecideSourceCommand(const v1::Command& command,
                                             const DecideContext& context) {
  switch (command.command_case()) {
    case v1::Command::kRegisterSource:
      return DecideRegister(command.register_source(), context);
    case v1::Command::kRenameSource:
      return DecideRename(command.rename_source(), context);
    case v1::Command::kAddSourceAlias:
      return DecideAlias(command.add_source_alias(), context);
    case v1::Command::kAffiliateSource:
      return DecideAffiliate(command.affiliate_source(), context);
    case v1::Command::kGradeSource:
      return DecideGrade(command.grade_source(), context);
    case v1::Command::kSetDeskPolicy:
      return DecidePolicy(command.set_desk_policy(), context);
    default:
      return absl::InvalidArgumentError("command: not a source command");
  }
}

}  // namespace factlog::domain
