#ifndef FACTLOG_STORAGE_SOURCE_PROJECTION_H_
#define FACTLOG_STORAGE_SOURCE_PROJECTION_H_

// Private to storage/: the source registry's projection in the `sources`
// column family (keys in storage/keys.h), for commit, open, rebuild and
// verify.

#include <map>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "domain/sources.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace factlog::storage {

// Every entry the family holds for `registry`, by key.
std::map<std::string, std::string> SourceEntries(
    const domain::SourceRegistry& registry);

// Puts into `wb` (family `cf`) the views of the sources in `touched` as
// `after` has them, and the desk policy when `policy_touched`.
void PutSourceChanges(const domain::SourceRegistry& after,
                      const absl::flat_hash_set<std::string>& touched,
                      bool policy_touched, rocksdb::WriteBatch* wb,
                      rocksdb::ColumnFamilyHandle* cf);

// The registry the family holds. DATA_LOSS for an entry that does not
// parse; UNAVAILABLE/INTERNAL for a failed read.
absl::StatusOr<domain::SourceRegistry> ReadSourceRegistry(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf);

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_SOURCE_PROJECTION_H_
