#include "storage/rocksdb_options.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace factlog::storage {
namespace {

constexpr const char* kFamilyNames[] = {
    "default",  // rocksdb::kDefaultColumnFamilyName
    "events",      "claim_events", "claims",    "by_status", "by_subject",
    "by_claimant", "by_tag",       "requests",  "meta",      "merkle",
    "by_overdue",  "sources",      "by_source",
};
static_assert(sizeof(kFamilyNames) / sizeof(kFamilyNames[0]) == kFamilyCount);

// Whether `family` is read with Get (meta, claims, events, requests, Merkle
// nodes) rather than only with iterators (the claim-event index, every
// claim index, and the sources, loaded whole on open).
bool IsReadByKey(Family family) {
  if (family == kClaimEvents || family == kSources) return false;
  for (ClaimIndex index : kAllClaimIndexes) {
    if (FamilyOf(index) == family) return false;
  }
  return true;
}

// `point_reads`: whether the family is read by key (Get), where a Bloom
// filter spares reading blocks for keys it does not hold. Families only
// ever scanned (the indexes) consult no filter, so they build none: less
// CPU in every flush, compaction and rebuild, and fewer bytes on disk.
rocksdb::ColumnFamilyOptions FamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache, bool point_reads) {
  rocksdb::ColumnFamilyOptions cf;
  ApplyFamilyWriteSettings(&cf);
  // Explicit rather than relying on 7.8's defaults.
  cf.level_compaction_dynamic_level_bytes = true;
  cf.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  if (point_reads) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  }
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// RocksDB's own diagnostics go to stderr, not to a LOG file in the data
// dir: a LOG file shares the data dir's disk, and Debian's RocksDB asserts
// when it keeps logging to a file whose last write failed (disk full).
//
// RocksDB's WARN lines are routine for factlogd: "File Deletions
// Disabled" on every backup, "DB::Open() failed" for a locked data dir that
// factlogd reports itself. They go to `routine` (factlogd: its debug
// level), or nowhere; ERROR and FATAL go to `sink`.
class StderrLogger final : public rocksdb::Logger {
 public:
  StderrLogger(std::function<void(absl::string_view)> sink,
               std::function<void(absl::string_view)> routine)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL),
        sink_(std::move(sink)),
        routine_(std::move(routine)) {}

  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < rocksdb::InfoLogLevel::WARN_LEVEL ||
        level == rocksdb::InfoLogLevel::HEADER_LEVEL) {
      return;
    }
    // Files from SstFileWriter (a rebuild's) carry no unique id in 7.8, so
    // RocksDB warns once per process that it opened one it cannot check
    // against the MANIFEST. Expected here, and not the operator's concern.
    if (std::strstr(format, "opened without unique ID to verify") != nullptr) {
      return;
    }
    const bool routine = level == rocksdb::InfoLogLevel::WARN_LEVEL;
    if (routine && !routine_) return;
    char message[1024];
    std::vsnprintf(message, sizeof(message), format, ap);
    if (routine) {
      routine_(message);
    } else if (sink_) {
      sink_(message);
    } else {
      std::fprintf(stderr, "rocksdb: %s\n", message);
    }
  }
  // Lines without a level are informational: not logged.
  void Logv(const char* /*format*/, va_list /*ap*/) override {}

 private:
  const std::function<void(absl::string_view)> sink_;
  const std::function<void(absl::string_view)> routine_;
};

}  // namespace

Family FamilyOf(ClaimIndex index) {
  switch (index) {
    case ClaimIndex::kStatus:
      return kByStatus;
    case ClaimIndex::kSubject:
      return kBySubject;
    case ClaimIndex::kClaimant:
      return kByClaimant;
    case ClaimIndex::kTag:
      return kByTag;
    case ClaimIndex::kOverdue:
      return kByOverdue;
    case ClaimIndex::kSource:
      return kBySource;
  }
  return kByStatus;  // unreachable: every ClaimIndex is handled above
}

void ApplyDatabaseWriteSettings(rocksdb::DBOptions* db) {
  db->IncreaseParallelism(2);
  db->max_background_jobs = 2;
  db->bytes_per_sync = 1 << 20;
  // Memtables are flushed once the WALs hold this much, which bounds the
  // replay on open after a crash (all column families share the WAL).
  db->max_total_wal_size = 64 << 20;
}

void ApplyFamilyWriteSettings(rocksdb::ColumnFamilyOptions* family) {
  family->write_buffer_size = 32 << 20;
  family->compression = rocksdb::kLZ4Compression;
}

void WriteErrorListener::OnBackgroundError(
    rocksdb::BackgroundErrorReason reason, rocksdb::Status* /*error*/) {
  if (reason == rocksdb::BackgroundErrorReason::kWriteCallback) {
    wal_write_failed_.store(true, std::memory_order_release);
  }
}

void WriteErrorListener::OnErrorRecoveryBegin(
    rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status error,
    bool* auto_recovery) {
  if (error.severity() >= rocksdb::Status::Severity::kHardError) {
    *auto_recovery = false;
  }
}

std::shared_ptr<rocksdb::Logger> NewRocksDbLogger(
    std::function<void(absl::string_view)> sink,
    std::function<void(absl::string_view)> routine) {
  return std::make_shared<StderrLogger>(std::move(sink), std::move(routine));
}

rocksdb::DBOptions StoreDatabaseOptions(
    const StoreOptions& options, std::shared_ptr<WriteErrorListener> listener) {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  ApplyDatabaseWriteSettings(&db);
  db.keep_log_file_num = 5;
  db.paranoid_checks = true;
  db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db.info_log =
      NewRocksDbLogger(options.rocksdb_log, options.rocksdb_routine_log);
  if (options.env != nullptr) db.env = options.env;
  // Every flush commits all column families in one MANIFEST write. Without
  // it, a crash while Resume() flushes them one by one after a failed write
  // could replay part of the failed batch from the old WAL (for the
  // families not yet flushed) and not the rest.
  db.atomic_flush = true;
  // The only unlogged data is keys::kWalGuard; nothing to flush for it.
  db.avoid_flush_during_shutdown = true;
  db.listeners.push_back(std::move(listener));
  return db;
}

std::vector<rocksdb::ColumnFamilyDescriptor> StoreFamilyDescriptors(
    size_t block_cache_bytes) {
  auto cache = rocksdb::NewLRUCache(block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int family = 0; family < kFamilyCount; ++family) {
    descriptors.emplace_back(kFamilyNames[family],
                             FamilyOptions(cache, IsReadByKey(Family(family))));
  }
  // Events and Merkle nodes are appended in key order (position; level,
  // index): with a hint per prefix the memtable inserts each right after the
  // previous one instead of searching the skip list.
  descriptors[kEvents].options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(4));
  descriptors[kMerkle].options.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(1));
  // The writer looks up every command's request_id and every new claim id,
  // and almost all of these are misses: a bloom filter over the memtable's
  // keys answers those without a skip-list search (about a tenth of the
  // writer's CPU per command in bench append@64).
  for (int family : {kClaims, kRequests}) {
    descriptors[family].options.memtable_whole_key_filtering = true;
    descriptors[family].options.memtable_prefix_bloom_size_ratio = 0.02;
  }
  return descriptors;
}

bool IsLockError(const rocksdb::Status& s) {
  return s.IsIOError() && absl::StrContains(s.ToString(), "lock");
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", s.ToString());
  if (IsLockError(s)) return absl::FailedPreconditionError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() ||
      s.IsNoSpace()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

}  // namespace factlog::storage
