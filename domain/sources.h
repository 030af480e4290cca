#ifndef FACTLOG_DOMAIN_SOURCES_H_
#define FACTLOG_DOMAIN_SOURCES_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/views.pb.h"

// The source registry (docs/ARCHITECTURE.md, "Sources"): sources, their
// names and aliases, affiliations and grades, and the desk policy, all
// projected from source events in the log. Pure: no clock, no storage.
namespace factlog::domain {

// The key under which names and aliases are unique and resolved: trimmed,
// lower-cased (ASCII), runs of whitespace as one space.
std::string SourceNameKey(absl::string_view name);

// True for the events of the registry (a source's or the desk policy's):
// those with neither claim nor claim payload.
bool IsRegistryEvent(const v1::Event& event);

// The registry as it stands: sources by id, every name and alias by
// SourceNameKey, and the desk policy. A value: copy it to change it aside
// (copies share the unchanged source views). Not thread-safe; callers share
// it as a const snapshot (storage/ keeps one behind a shared_ptr).
class SourceRegistry {
 public:
  // The source with `id`, or nullptr; valid until this registry changes.
  const v1::SourceView* Find(absl::string_view id) const;
  // The id whose name or alias has `key` (SourceNameKey); "" when none.
  absl::string_view IdOfName(absl::string_view key) const;
  const v1::DeskPolicyView& policy() const { return policy_; }
  size_t size() const { return by_id_.size(); }

  // Calls `fn` with each source in id order after `start_after` ("" = from
  // the first) until it returns false.
  template <typename Fn>
  void ForEachAfter(absl::string_view start_after, Fn fn) const {
    for (auto it = by_id_.upper_bound(start_after); it != by_id_.end(); ++it) {
      if (!fn(*it->second)) return;
    }
  }

  // Applies one registry event (IsRegistryEvent; others are ignored), with
  // its envelope filled in. Events are facts: an event the registry cannot
  // account for (a rename of an unknown source) is applied as far as it
  // makes sense. Same events in the same order, same registry.
  void Apply(const v1::Event& event);

  // Loading a stored projection: puts `view` as it is (with its names) and
  // the policy.
  void Put(v1::SourceView view);
  void SetPolicy(v1::DeskPolicyView policy) { policy_ = std::move(policy); }

  // The name keys `view` holds (its name and aliases).
  static std::vector<std::string> NameKeys(const v1::SourceView& view);

 private:
  absl::btree_map<std::string, std::shared_ptr<const v1::SourceView>> by_id_;
  absl::flat_hash_map<std::string, std::string> by_name_;
  v1::DeskPolicyView policy_;
};

// The top organisation of `id`'s affiliation chain: the last source
// reached by following parent_id (itself when it has none); nullptr when
// `id` is unknown. Stops after 64 steps (a chain cannot be a cycle: the
// decider refuses them).
const v1::SourceView* TopOrganisation(const SourceRegistry& registry,
                                      absl::string_view id);

// Who `source` resolves to in `registry`: by source.source_id when given,
// else by source.name through names and aliases. nullopt when it resolves
// to none; NOT_FOUND ("source.source_id: ...") for an unknown source_id.
absl::StatusOr<std::optional<v1::SourceAttribution>> Attribute(
    const SourceRegistry& registry, const v1::Source& source);

// The policy as events record it: unset fields when it is the default.
v1::DeskPolicy RecordedPolicy(const SourceRegistry& registry);

// The track record of `source_id` over `claims` (any claims; those where
// its evidence does not count are skipped): see v1::SourceTrackRecord.
// Evidence counts for the source when its attribution names it.
v1::SourceTrackRecord TrackRecord(absl::string_view source_id,
                                  const std::vector<v1::ClaimView>& claims);

// Names that look like the same source, for an editor to confirm
// (`factlog source suggest`): groups of distinct spellings among `names`
// whose SourceNameKey, or the organisation in parentheses ("NATO
// (Anders Fogh Rasmussen)" -> "nato"), is the same; only groups of two or
// more, each sorted, the groups by their first name.
std::vector<std::vector<std::string>> SuggestSameSources(
    const std::vector<std::string>& names);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_SOURCES_H_
