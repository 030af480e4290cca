#include "storage/schema.h"

#include <filesystem>
#include <iterator>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"
#include "storage/rocksdb_options.h"

namespace factlog::storage {
namespace {

// Schema 1 -> 2: computes the tree over the existing log, stores its nodes
// from keys::kLowestStoredMerkleLevel up and its tail, and makes it the
// store's frontier.
absl::Status BuildMerkleTree(EventStore& /*store*/, StoreState& state) {
  merkle::Frontier frontier;
  MerkleNodes nodes;
  rocksdb::WriteBatch wb;
  rocksdb::WriteOptions wo;
  absl::Status status;
  absl::Status read =
      state.ScanLogBytes([&](uint64_t position, absl::string_view bytes) {
        if (position != frontier.size() + 1) {
          status = absl::DataLossError(
              absl::StrFormat("merkle: the log jumps from position %d to %d",
                              frontier.size(), position));
          return false;
        }
        frontier.Append(merkle::LeafHash(bytes), &nodes);
        state.PutMerkleNodes(&wb, nodes);
        nodes.clear();
        if (wb.Count() >= 10000) {
          status =
              FromRocks(state.db->Write(wo, &wb), "building the merkle tree");
          wb.Clear();
        }
        return status.ok();
      });
  if (!read.ok()) return read;
  if (!status.ok()) return status;
  MerkleTail tail = MerkleTail::Of(frontier);
  wb.Put(state.family(kMeta), keys::kMerkleTail, tail.Encode());
  wo.sync = true;
  if (auto s = FromRocks(state.db->Write(wo, &wb), "building the merkle tree");
      !s.ok()) {
    return s;
  }
  state.frontier = std::move(frontier);
  absl::MutexLock lock(&state.tail_mu);
  state.tail = std::move(tail);
  return absl::OkStatus();
}

// Schema 2 or 3 -> 4: ClaimView.overdue_at and the overdue index (from 2),
// and the claimant index's values (from 3): the projections rebuilt.
absl::Status RebuildProjections(EventStore& store, StoreState& /*state*/) {
  return store.RebuildProjections().status();
}

// Schema 4 -> 5: deletes the nodes below keys::kLowestStoredMerkleLevel and
// records the tail of the (loaded) frontier.
absl::Status PruneLowMerkleNodes(EventStore& /*store*/, StoreState& state) {
  rocksdb::WriteBatch wb;
  wb.DeleteRange(state.family(kMerkle), keys::MerkleLevelPrefix(0),
                 keys::MerkleLevelPrefix(keys::kLowestStoredMerkleLevel));
  wb.Put(state.family(kMeta), keys::kMerkleTail,
         MerkleTail::Of(state.frontier).Encode());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto s = FromRocks(state.db->Write(wo, &wb), "pruning the merkle tree");
      !s.ok()) {
    return s;
  }
  // Gives the deleted nodes' disk back now rather than at some compaction.
  return FromRocks(
      state.db->CompactRange(rocksdb::CompactRangeOptions(),
                             state.family(kMerkle), nullptr, nullptr),
      "compacting the merkle tree");
}

// Schema 5 -> 6: the sources family, which Open created (it creates every
// missing family). A store of schema 5 holds no source events, so the
// empty family is its projection: nothing to write.
absl::Status AddSourcesFamily(EventStore& /*store*/, StoreState& /*state*/) {
  return absl::OkStatus();
}

// One migration: from schema `from` (or any version between it and `to`)
// to schema `to`. The steps are contiguous, oldest first, and the last one
// reaches keys::kCurrentSchemaVersion.
struct MigrationStep {
  uint64_t from;
  uint64_t to;
  const char* what;  // for the log
  absl::Status (*run)(EventStore& store, StoreState& state);
};

constexpr MigrationStep kMigrations[] = {
    {1, 2, "building the tamper-evident Merkle tree over the log",
     &BuildMerkleTree},
    {2, 4,
     "rebuilding the projections (the overdue index; similar-claims data in "
     "the claimant index)",
     &RebuildProjections},
    {4, 5,
     "deleting the Merkle tree's nodes below level 4, which are now hashed "
     "from the events when read",
     &PruneLowMerkleNodes},
    {5, 6,
     "adding the source registry's family (empty: no source events "
     "before schema 6)",
     &AddSourcesFamily},
};
static_assert(kMigrations[0].from == keys::kOldestMigratableSchemaVersion);
static_assert(std::size(kMigrations) > 0 &&
              kMigrations[std::size(kMigrations) - 1].to ==
                  keys::kCurrentSchemaVersion);

}  // namespace

absl::StatusOr<std::optional<uint64_t>> ReadSchemaVersionReadOnly(
    const std::string& dir,
    const std::function<void(absl::string_view)>& rocksdb_log) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot read data dir ", dir));
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& n : names) {
    families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions options;
  options.info_log = NewRocksDbLogger(rocksdb_log);
  s = rocksdb::DB::OpenForReadOnly(options, dir, families, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot read data dir ", dir));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::optional<uint64_t> version;
  absl::Status status;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != "meta") continue;
    std::string value;
    s = db->Get(rocksdb::ReadOptions(), handles[i], keys::kSchemaVersion,
                &value);
    if (s.ok()) {
      version = keys::DecodeU64(value).value_or(0);
    } else if (!s.IsNotFound()) {
      status = FromRocks(s, "reading schema_version");
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h);
  }
  if (!status.ok()) return status;
  return version;
}

absl::Status CheckSchemaReadable(const std::string& dir, uint64_t version) {
  if (version >= keys::kOldestMigratableSchemaVersion &&
      version <= keys::kCurrentSchemaVersion) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrFormat(
      "data dir %s has schema version %d; this factlogd reads versions %d to "
      "%d (nothing was changed)",
      dir, version, keys::kOldestMigratableSchemaVersion,
      keys::kCurrentSchemaVersion));
}

bool HasMerkleTree(uint64_t version) { return version >= 2; }

bool StoresEveryMerkleNode(uint64_t version) {
  return version >= 2 && version < 5;
}

absl::Status MigrateSchema(EventStore& store, StoreState& state,
                           const std::string& dir, uint64_t version) {
  for (const MigrationStep& step : kMigrations) {
    if (version >= step.to) continue;
    log::Info("migrating data dir", {{"dir", dir},
                                     {"from", version},
                                     {"to", step.to},
                                     {"events", store.LastPosition()},
                                     {"step", step.what}});
    const absl::Time start = absl::Now();
    if (auto s = step.run(store, state); !s.ok()) return s;
    // Only now: an interrupted step is redone on the next open.
    if (auto s = state.PutMeta(keys::kSchemaVersion, keys::EncodeU64(step.to),
                               "recording the schema version");
        !s.ok()) {
      return s;
    }
    log::Info("migrated data dir",
              {{"dir", dir},
               {"to", step.to},
               {"took", absl::FormatDuration(absl::Now() - start)}});
    version = step.to;
  }
  return absl::OkStatus();
}

}  // namespace factlog::storage
