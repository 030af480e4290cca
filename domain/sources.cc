#include "domain/sources.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace factlog::domain {

std::string SourceNameKey(absl::string_view name) {
  std::string key;
  key.reserve(name.size());
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(name)) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space) key.push_back(' ');
    space = false;
    key.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

bool IsRegistryEvent(const v1::Event& event) {
  switch (event.payload_case()) {
    case v1::Event::kSourceRegistered:
    case v1::Event::kSourceRenamed:
    case v1::Event::kSourceAliasAdded:
    case v1::Event::kSourceAffiliated:
    case v1::Event::kSourceGraded:
    case v1::Event::kDeskPolicySet:
      return true;
    default:
      return false;
  }
}

const v1::SourceView* SourceRegistry::Find(absl::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}

absl::string_view SourceRegistry::IdOfName(absl::string_view key) const {
  auto it = by_name_.find(key);
  return it == by_name_.end() ? absl::string_view() : it->second;
}

std::vector<std::string> SourceRegistry::NameKeys(const v1::SourceView& view) {
  std::vector<std::string> keys;
  keys.push_back(SourceNameKey(view.name()));
  for (const std::string& alias : view.aliases()) {
    keys.push_back(SourceNameKey(alias));
  }
  return keys;
}

void SourceRegistry::Put(v1::SourceView view) {
  for (std::string& key : NameKeys(view)) {
    by_name_.emplace(std::move(key), view.source_id());
  }
  std::string id = view.source_id();
  by_id_[std::move(id)] =
      std::make_shared<const v1::SourceView>(std::move(view));
}

void SourceRegistry::Apply(const v1::Event& event) {
  if (event.has_desk_policy_set()) {
    const v1::DeskPolicySet& p = event.desk_policy_set();
    policy_.Clear();
    *policy_.mutable_policy() = p.policy();
    policy_.set_version(event.version());
    policy_.set_position(event.position());
    *policy_.mutable_set_at() = event.recorded_at();
    policy_.set_set_by(event.actor());
    policy_.set_reason(p.reason());
    return;
  }
  if (!IsRegistryEvent(event)) return;
  const std::string& id = event.source_id();
  v1::SourceView view;
  if (const v1::SourceView* old = Find(id)) {
    view = *old;
  } else if (!event.has_source_registered()) {
    return;  // nothing to change
  }
  auto add_name = [&](const std::string& name) {
    by_name_.emplace(SourceNameKey(name), id);
  };
  switch (event.payload_case()) {
    case v1::Event::kSourceRegistered: {
      const v1::SourceRegistered& r = event.source_registered();
      view.set_source_id(id);
      view.set_name(r.name());
      view.set_kind(r.kind());
      view.set_url(r.url());
      *view.mutable_created_at() = event.recorded_at();
      view.set_created_by(event.actor());
      add_name(r.name());
      break;
    }
    case v1::Event::kSourceRenamed: {
      const v1::SourceRenamed& r = event.source_renamed();
      view.add_former_names(view.name());
      // The former name stays an alias, so it still resolves here.
      if (SourceNameKey(view.name()) != SourceNameKey(r.name())) {
        view.add_aliases(view.name());
      }
      view.set_name(r.name());
      add_name(r.name());
      break;
    }
    case v1::Event::kSourceAliasAdded:
      view.add_aliases(event.source_alias_added().alias());
      add_name(event.source_alias_added().alias());
      break;
    case v1::Event::kSourceAffiliated:
      view.set_parent_id(event.source_affiliated().parent_id());
      break;
    case v1::Event::kSourceGraded: {
      const v1::SourceGraded& g = event.source_graded();
      view.set_grade(g.grade());
      v1::SourceGradeView* history = view.add_grades();
      history->set_grade(g.grade());
      history->set_reason(g.reason());
      history->set_actor(event.actor());
      *history->mutable_graded_at() = event.recorded_at();
      history->set_position(event.position());
      break;
    }
    default:
      break;
  }
  view.set_version(event.version());
  view.set_last_position(event.position());
  *view.mutable_updated_at() = event.recorded_at();
  by_id_[id] = std::make_shared<const v1::SourceView>(std::move(view));
}

const v1::SourceView* TopOrganisation(const SourceRegistry& registry,
                                      absl::string_view id) {
  const v1::SourceView* at = registry.Find(id);
  for (int step = 0; at != nullptr && step < 64; ++step) {
    if (at->parent_id().empty()) return at;
    const v1::SourceView* parent = registry.Find(at->parent_id());
    if (parent == nullptr) return at;
    at = parent;
  }
  return at;
}

absl::StatusOr<std::optional<v1::SourceAttribution>> Attribute(
    const SourceRegistry& registry, const v1::Source& source) {
  const v1::SourceView* found = nullptr;
  if (!source.source_id().empty()) {
    found = registry.Find(source.source_id());
    if (found == nullptr) {
      return absl::NotFoundError(
          absl::StrFormat("source.source_id: no source \"%s\" is registered",
                          source.source_id()));
    }
  } else if (registry.size() > 0) {
    const absl::string_view id =
        registry.IdOfName(SourceNameKey(source.name()));
    if (!id.empty()) found = registry.Find(id);
  }
  if (found == nullptr) return std::nullopt;
  const v1::SourceView* top = TopOrganisation(registry, found->source_id());
  v1::SourceAttribution a;
  a.set_source_id(found->source_id());
  a.set_source_name(found->name());
  a.set_organisation_id(top->source_id());
  a.set_organisation_name(top->name());
  a.set_grade(found->grade());
  return a;
}

v1::DeskPolicy RecordedPolicy(const SourceRegistry& registry) {
  v1::DeskPolicy p = registry.policy().policy();
  if (p.min_independent_sources() <= 1) p.clear_min_independent_sources();
  return p;
}

namespace {

// +1 when `rating` says the claim holds, -1 when it says it does not, 0
// when it takes no side.
int RatingSide(v1::Rating rating) {
  switch (rating) {
    case v1::RATING_TRUE:
    case v1::RATING_MOSTLY_TRUE:
    case v1::RATING_KEPT:
      return 1;
    case v1::RATING_FALSE:
    case v1::RATING_MOSTLY_FALSE:
    case v1::RATING_PANTS_ON_FIRE:
    case v1::RATING_BROKEN:
      return -1;
    default:
      return 0;
  }
}

}  // namespace

v1::SourceTrackRecord TrackRecord(absl::string_view source_id,
                                  const std::vector<v1::ClaimView>& claims) {
  v1::SourceTrackRecord record;
  for (const v1::ClaimView& claim : claims) {
    bool supports = false, refutes = false;
    for (const v1::EvidenceView& e : claim.evidence()) {
      if (e.withdrawn() || e.attribution().source_id() != source_id) continue;
      supports |= e.stance() == v1::STANCE_SUPPORTS;
      refutes |= e.stance() == v1::STANCE_REFUTES;
    }
    if (!supports && !refutes) continue;
    if (supports) record.set_supported(record.supported() + 1);
    if (refutes) record.set_refuted(record.refuted() + 1);
    if (!claim.has_verdict()) continue;
    record.set_rated(record.rated() + 1);
    const int side = RatingSide(claim.verdict().rating());
    // A source that both supported and refuted one claim took no side.
    if (side == 0 || supports == refutes) continue;
    const bool agreed = (side > 0) == supports;
    if (agreed) {
      record.set_agreed(record.agreed() + 1);
    } else {
      record.set_disagreed(record.disagreed() + 1);
    }
  }
  return record;
}

namespace {

// "nato" for "NATO (Anders Fogh Rasmussen)"; "" when the name has no part
// in parentheses after some text.
std::string OrganisationBeforeParentheses(absl::string_view name) {
  const size_t open = name.find('(');
  if (open == absl::string_view::npos || open == 0) return "";
  return SourceNameKey(name.substr(0, open));
}

}  // namespace

std::vector<std::vector<std::string>> SuggestSameSources(
    const std::vector<std::string>& names) {
  // Union-find over the distinct spellings, joined by either key.
  std::vector<std::string> spellings(names.begin(), names.end());
  std::sort(spellings.begin(), spellings.end());
  spellings.erase(std::unique(spellings.begin(), spellings.end()),
                  spellings.end());
  std::vector<size_t> parent(spellings.size());
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto find = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::map<std::string, size_t> first_with_key;
  for (size_t i = 0; i < spellings.size(); ++i) {
    for (const std::string& key :
         {SourceNameKey(spellings[i]),
          OrganisationBeforeParentheses(spellings[i])}) {
      if (key.empty()) continue;
      auto [it, inserted] = first_with_key.emplace(key, i);
      if (!inserted) parent[find(i)] = find(it->second);
    }
  }
  std::map<size_t, std::vector<std::string>> groups;
  for (size_t i = 0; i < spellings.size(); ++i) {
    groups[find(i)].push_back(spellings[i]);
  }
  std::vector<std::vector<std::string>> out;
  for (auto& [root, group] : groups) {
    if (group.size() >= 2) out.push_back(std::move(group));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace factlog::domain
