// EventStore: backup and restore, and the figures for monitoring.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/file_system.h"
#include "rocksdb/utilities/checkpoint.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"

namespace factlog::storage {
namespace {

// fsyncs the directory that holds `path`, through the store's file system.
absl::Status SyncParentDirectory(rocksdb::DB* db, const std::string& path) {
  std::string parent =
      std::filesystem::absolute(path).lexically_normal().parent_path();
  if (parent.empty()) parent = ".";
  rocksdb::FileSystem* fs = db->GetFileSystem();
  std::unique_ptr<rocksdb::FSDirectory> directory;
  rocksdb::IOStatus s =
      fs->NewDirectory(parent, rocksdb::IOOptions(), &directory, nullptr);
  if (s.ok()) s = directory->Fsync(rocksdb::IOOptions(), nullptr);
  return FromRocks(s, "backup: syncing the directory that holds it");
}

}  // namespace

absl::StatusOr<uint64_t> EventStore::Backup(const std::string& dir) const {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("backup dir ", dir, " already exists; name a new one"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  if (auto s = FromRocks(rocksdb::Checkpoint::Create(state_->db.get(), &raw),
                         "backup");
      !s.ok()) {
    return s;
  }
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // The position is read first: the checkpoint holds at least this much.
  const uint64_t position = LastPosition();
  if (auto s = FromRocks(checkpoint->CreateCheckpoint(dir), "backup");
      !s.ok()) {
    return s;
  }
  // The checkpoint fsyncs its files and its own directory, but not the
  // directory that holds it: until that is synced, a power cut can take the
  // finished backup away.
  if (auto s = SyncParentDirectory(state_->db.get(), dir); !s.ok()) {
    return s;
  }
  // The checkpoint flushed every memtable.
  state_->PlaceWalGuard();
  return position;
}

absl::StatusOr<VerifyReport> EventStore::Restore(const std::string& backup_dir,
                                                 const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat(
        backup_dir, " is not a factlog backup (no RocksDB CURRENT file)"));
  }
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("restore: data dir ", data_dir,
                     " is not empty; restore into a new directory"));
  }
  fs::create_directories(data_dir, ec);
  fs::copy(backup_dir, data_dir, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat(
        "restore: copying ", backup_dir, " to ", data_dir, ": ", ec.message()));
  }
  StoreOptions options;
  options.repair_projections_on_open = false;
  absl::StatusOr<std::unique_ptr<EventStore>> store = Open(data_dir, options);
  if (!store.ok()) return store.status();
  absl::StatusOr<VerifyReport> report = (*store)->Verify();
  if (report.ok() && !report->ok()) {
    return absl::DataLossError(absl::StrCat(
        "restore: the copy does not verify: ", report->mismatches.front()));
  }
  return report;
}

std::map<std::string, uint64_t> EventStore::Properties() const {
  std::map<std::string, uint64_t> out;
  const std::pair<const char*, const char*> kAggregated[] = {
      {"pending_compaction_bytes", "rocksdb.estimate-pending-compaction-bytes"},
      {"sst_bytes", "rocksdb.total-sst-files-size"},
      {"live_sst_bytes", "rocksdb.live-sst-files-size"},
      {"memtable_bytes", "rocksdb.cur-size-all-mem-tables"},
      {"running_compactions", "rocksdb.num-running-compactions"},
      {"running_flushes", "rocksdb.num-running-flushes"},
      {"delayed_write_rate", "rocksdb.actual-delayed-write-rate"},
      {"write_stopped", "rocksdb.is-write-stopped"},
  };
  for (const auto& [key, property] : kAggregated) {
    uint64_t value = 0;
    if (state_->db->GetAggregatedIntProperty(property, &value))
      out[key] = value;
  }
  // Stall counts are kept per column family, in its "cfstats" map.
  uint64_t stops = 0, slowdowns = 0;
  bool any = false;
  for (rocksdb::ColumnFamilyHandle* cf : state_->families) {
    std::map<std::string, std::string> stats;
    if (!state_->db->GetMapProperty(cf, "rocksdb.cfstats", &stats)) continue;
    any = true;
    stops += std::strtoull(stats["io_stalls.total_stop"].c_str(), nullptr, 10);
    slowdowns +=
        std::strtoull(stats["io_stalls.total_slowdown"].c_str(), nullptr, 10);
  }
  if (any) {
    out["write_stops"] = stops;
    out["write_slowdowns"] = slowdowns;
  }
  std::map<std::string, std::string> db_stats;
  if (state_->db->GetMapProperty("rocksdb.dbstats", &db_stats)) {
    out["write_stall_micros"] = std::strtoull(
        db_stats["db.user_write_stall_micros"].c_str(), nullptr, 10);
    out["wal_syncs"] =
        std::strtoull(db_stats["db.wal_syncs"].c_str(), nullptr, 10);
  }
  out["claim_cache_bytes"] = state_->claim_cache.charge();
  out["claim_cache_capacity_bytes"] = state_->claim_cache.capacity();
  const ClaimCache::Counts counts = state_->claim_cache.counts();
  out["claim_cache_hits"] = counts.hits;
  out["claim_cache_misses"] = counts.misses;
  return out;
}

absl::Status EventStore::SyncWal() {
  return FromRocks(state_->db->SyncWAL(), "syncing the write-ahead log");
}

uint64_t EventStore::ApproximateDiskBytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(state_->db->GetName(), ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace factlog::storage
