#ifndef FACTLOG_STORAGE_CLAIM_INDEXES_H_
#define FACTLOG_STORAGE_CLAIM_INDEXES_H_

// The secondary indexes of the claims, as pure functions of a claim's view:
// the one place that says which entries (key, value) a ClaimView has in each
// index, and which writes move a claim's entries from one view to the next.
// Commit, RebuildProjections and Verify all derive entries here; the keys
// themselves are encoded by storage/keys.h. Knows nothing of RocksDB.

#include <string>
#include <utility>
#include <vector>

#include "factlog/v1/views.pb.h"

namespace factlog::storage {

// Secondary indexes of the claims. kStatus, kSubject, kClaimant and kTag
// map a text value to claim ids (EventStore::ScanIndex, ScanIndexValues);
// kOverdue holds the claims whose ClaimView.overdue_at is set, ordered by
// (overdue_at, claim_id) (EventStore::ScanOverdue). kSource maps a
// registered source's id to the claims with evidence attributed to it that
// supports or refutes and is not withdrawn (a source's track record).
enum class ClaimIndex { kStatus, kSubject, kClaimant, kTag, kOverdue, kSource };

inline constexpr ClaimIndex kAllClaimIndexes[] = {
    ClaimIndex::kStatus, ClaimIndex::kSubject, ClaimIndex::kClaimant,
    ClaimIndex::kTag,    ClaimIndex::kOverdue, ClaimIndex::kSource};

// What a claim's index entries are made of, kept from its view: claim_id,
// status, subject, claimant, text, tags, due_at and overdue_at, and of its
// evidence only the attributed items' stance, withdrawal and source id;
// nothing else. A writer keeps one of the view it read, before changing it, as
// a ClaimUpdate's `before`: it costs a few strings whatever the claim's
// evidence, and the store reads nothing else of the old view.
class ClaimIndexInputs {
 public:
  ClaimIndexInputs() = default;
  explicit ClaimIndexInputs(const v1::ClaimView& view);

  // The kept fields, in a view whose other fields are unset.
  const v1::ClaimView& fields() const { return fields_; }

 private:
  v1::ClaimView fields_;
};

// One index entry: its key and value as stored.
using IndexEntry = std::pair<std::string, std::string>;
using IndexEntryList = std::vector<IndexEntry>;

// Appends `view`'s entries in `index` to `entries`. The claimant index's
// values carry the claim's subject and its text's content-word hashes
// (keys::ClaimantEntryValue); the overdue index's carry due_at; the others
// are empty. A tag listed twice gives one key twice.
void AppendIndexEntries(ClaimIndex index, const v1::ClaimView& view,
                        IndexEntryList* entries);

// One key's write in a commit: a put of `value`, or a delete.
struct KeyWrite {
  std::string key;
  std::string value;
  bool is_delete = false;
};

// Appends to `writes` the deletes and puts that move a claim's entries in
// `index` from those of `before` (null: a new claim) to those of `after`,
// each key once. Appends nothing, without deriving any entry, when the
// fields `index` is made of are equal in both, as on most updates.
void AppendIndexChanges(ClaimIndex index, const ClaimIndexInputs* before,
                        const v1::ClaimView& after,
                        std::vector<KeyWrite>* writes);

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_CLAIM_INDEXES_H_
