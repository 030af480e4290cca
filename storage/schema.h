#ifndef FACTLOG_STORAGE_SCHEMA_H_
#define FACTLOG_STORAGE_SCHEMA_H_

// Private to storage/: the schema version a store records in meta
// (keys::kSchemaVersion; storage/keys.h lists the versions), how Open
// refuses a store it cannot read, and the migrations Open runs on an older
// one.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace factlog::storage {

class EventStore;
struct StoreState;

// The schema version of the store in `dir`, read without writing anything
// (a read-write open may already rewrite the MANIFEST and flush the WAL), so
// that a store from a newer factlogd, or a damaged one, is refused
// untouched. nullopt when `dir` holds no store (no RocksDB CURRENT file) or
// the store has no schema record yet. RocksDB's warnings go to `rocksdb_log`
// (StoreOptions::rocksdb_log).
absl::StatusOr<std::optional<uint64_t>> ReadSchemaVersionReadOnly(
    const std::string& dir,
    const std::function<void(absl::string_view)>& rocksdb_log);

// OK when this factlogd reads (and can migrate) a store of `version`;
// otherwise FAILED_PRECONDITION saying which versions it reads.
absl::Status CheckSchemaReadable(const std::string& dir, uint64_t version);

// Whether a store of `version` holds a Merkle tree (from 2), and whether it
// stores every node of it, leaves included (2 to 4; from 5, the nodes below
// keys::kLowestStoredMerkleLevel are hashed from the events).
bool HasMerkleTree(uint64_t version);
bool StoresEveryMerkleNode(uint64_t version);

// Brings the store in `dir`, of readable schema `version`, to
// keys::kCurrentSchemaVersion, one migration step after the other, each
// recording the version it reaches (so an interrupted migration resumes
// from the last step done), and logs each step (common/logging.h). `state`
// is `store`'s; its frontier must be loaded when the store has a tree.
absl::Status MigrateSchema(EventStore& store, StoreState& state,
                           const std::string& dir, uint64_t version);

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_SCHEMA_H_
