#include "storage/claim_indexes.h"

#include <algorithm>
#include <vector>

#include "absl/strings/string_view.h"
#include "domain/similarity.h"
#include "domain/time_util.h"
#include "storage/keys.h"

namespace factlog::storage {
namespace {

// Calls `fn` with each text value of `view` in `index` (any but kOverdue),
// as views into `view` or static storage.
template <typename Fn>
void ForEachTextValue(ClaimIndex index, const v1::ClaimView& view, Fn fn) {
  switch (index) {
    case ClaimIndex::kStatus:
      fn(absl::string_view(v1::ClaimStatus_Name(view.status())));
      return;
    case ClaimIndex::kSubject:
      if (!view.subject().empty()) fn(absl::string_view(view.subject()));
      return;
    case ClaimIndex::kClaimant:
      fn(absl::string_view(view.claimant()));
      return;
    case ClaimIndex::kTag:
      for (const std::string& tag : view.tags()) fn(absl::string_view(tag));
      return;
    case ClaimIndex::kSource:
      for (const v1::EvidenceView& e : view.evidence()) {
        if (!e.withdrawn() && e.has_attribution() &&
            (e.stance() == v1::STANCE_SUPPORTS ||
             e.stance() == v1::STANCE_REFUTES)) {
          fn(absl::string_view(e.attribution().source_id()));
        }
      }
      return;
    case ClaimIndex::kOverdue:
      return;
  }
}

// The sources kSource lists for `view`, in evidence order (repeats kept).
std::vector<absl::string_view> IndexedSources(const v1::ClaimView& view) {
  std::vector<absl::string_view> ids;
  ForEachTextValue(ClaimIndex::kSource, view,
                   [&](absl::string_view id) { ids.push_back(id); });
  return ids;
}

// The value of `view`'s entries in `index` (any but kOverdue): the claimant
// index's carries what the similar-claims search needs; the others are
// empty.
std::string TextEntryValue(ClaimIndex index, const v1::ClaimView& view) {
  if (index != ClaimIndex::kClaimant) return {};
  return keys::ClaimantEntryValue(view.subject(),
                                  domain::ContentWordHashes(view.text()));
}

// True when `index`'s entries of a claim cannot differ between `before` and
// `after`, judged from the fields AppendIndexEntries reads (the claim_id is
// the same): spares the writer building and comparing them, and the
// claimant entry's tokenizing, on most updates.
bool SameIndexInputs(ClaimIndex index, const v1::ClaimView& before,
                     const v1::ClaimView& after) {
  switch (index) {
    case ClaimIndex::kStatus:
      return before.status() == after.status();
    case ClaimIndex::kSubject:
      return before.subject() == after.subject();
    case ClaimIndex::kClaimant:
      return before.claimant() == after.claimant() &&
             before.subject() == after.subject() &&
             before.text() == after.text();
    case ClaimIndex::kTag:
      return std::equal(before.tags().begin(), before.tags().end(),
                        after.tags().begin(), after.tags().end());
    case ClaimIndex::kSource:
      return IndexedSources(before) == IndexedSources(after);
    case ClaimIndex::kOverdue:
      return before.has_overdue_at() == after.has_overdue_at() &&
             (!after.has_overdue_at() ||
              (domain::FromProto(before.overdue_at()) ==
                   domain::FromProto(after.overdue_at()) &&
               domain::FromProto(before.due_at()) ==
                   domain::FromProto(after.due_at())));
  }
  return false;
}

}  // namespace

ClaimIndexInputs::ClaimIndexInputs(const v1::ClaimView& view) {
  fields_.set_claim_id(view.claim_id());
  fields_.set_status(view.status());
  fields_.set_subject(view.subject());
  fields_.set_claimant(view.claimant());
  fields_.set_text(view.text());
  *fields_.mutable_tags() = view.tags();
  if (view.has_due_at()) *fields_.mutable_due_at() = view.due_at();
  if (view.has_overdue_at()) *fields_.mutable_overdue_at() = view.overdue_at();
  for (const v1::EvidenceView& e : view.evidence()) {
    if (!e.has_attribution()) continue;
    v1::EvidenceView* kept = fields_.add_evidence();
    kept->set_stance(e.stance());
    kept->set_withdrawn(e.withdrawn());
    kept->mutable_attribution()->set_source_id(e.attribution().source_id());
  }
}

void AppendIndexEntries(ClaimIndex index, const v1::ClaimView& view,
                        IndexEntryList* entries) {
  if (index == ClaimIndex::kOverdue) {
    // The value lets ListClaims judge OVERDUE without reading the claim.
    if (view.has_overdue_at()) {
      entries->emplace_back(
          keys::OverdueKey(domain::FromProto(view.overdue_at()),
                           view.claim_id()),
          keys::EncodeTime(domain::FromProto(view.due_at())));
    }
    return;
  }
  ForEachTextValue(index, view, [&](absl::string_view value) {
    entries->emplace_back(keys::IndexKey(value, view.claim_id()),
                          TextEntryValue(index, view));
  });
}

void AppendIndexChanges(ClaimIndex index, const ClaimIndexInputs* before,
                        const v1::ClaimView& after,
                        std::vector<KeyWrite>* writes) {
  if (before && SameIndexInputs(index, before->fields(), after)) return;
  IndexEntryList old_entries;
  if (before) AppendIndexEntries(index, before->fields(), &old_entries);
  IndexEntryList new_entries;
  AppendIndexEntries(index, after, &new_entries);
  auto find = [](const IndexEntryList& entries, const std::string& key) {
    return std::find_if(entries.begin(), entries.end(),
                        [&](const IndexEntry& e) { return e.first == key; });
  };
  // A claim's entries hold its id, and differ from each other.
  for (const auto& [key, value] : old_entries) {
    if (find(new_entries, key) == new_entries.end()) {
      writes->push_back({key, std::string(), true});
    }
  }
  // Last use of new_entries: its strings move into the writes.
  for (auto& [key, value] : new_entries) {
    auto old = find(old_entries, key);
    if (old == old_entries.end() || old->second != value) {
      writes->push_back({std::move(key), std::move(value), false});
    }
  }
}

}  // namespace factlog::storage
