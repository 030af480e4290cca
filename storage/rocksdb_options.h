#ifndef FACTLOG_STORAGE_ROCKSDB_OPTIONS_H_
#define FACTLOG_STORAGE_ROCKSDB_OPTIONS_H_

// How EventStore sets RocksDB up: its column families and their options, the
// logger RocksDB's diagnostics go through, the listener that watches its
// background errors, and how a rocksdb::Status maps to an absl::Status.

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "storage/claim_indexes.h"
#include "storage/event_store.h"

namespace factlog::storage {

// The column families, in the order the store opens them (storage/keys.h
// says what each holds).
enum Family {
  kDefault,
  kEvents,
  kClaimEvents,
  kClaims,
  kByStatus,
  kBySubject,
  kByClaimant,
  kByTag,
  kRequests,
  kMeta,
  kMerkle,
  kByOverdue,
  kSources,   // the source registry's projection (schema 6)
  kBySource,  // ClaimIndex::kSource (schema 6)
  kFamilyCount
};

// The column family of an index.
Family FamilyOf(ClaimIndex index);

// The RocksDB settings of an EventStore that bear on writing and syncing:
// background jobs, incremental syncs of new files and the WAL's bound for
// the database; memtable size and flush compression for each column family.
// factlog-bench's durable floors (bench/durable_log.h) store with them too.
void ApplyDatabaseWriteSettings(rocksdb::DBOptions* db);
void ApplyFamilyWriteSettings(rocksdb::ColumnFamilyOptions* family);

// RocksDB reports its errors here, on the thread that hit them.
//
// A failed write to the WAL (reason kWriteCallback) leaves RocksDB's WAL
// writer unusable: it must not be written to again, and Debian's build
// asserts if it is. Resume() replaces it only when it switches to a new WAL,
// which it does only when it has a memtable to flush; EventStore's write
// resumption checks for that before resuming.
//
// RocksDB would also resume by itself (its SstFileManager polls free
// space), possibly onto that same WAL writer. The listener turns that off
// for errors that stop writes, so that only the store's writer resumes,
// after its checks.
class WriteErrorListener final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                         rocksdb::Status* error) override;
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason,
                            rocksdb::Status error,
                            bool* auto_recovery) override;

  // Whether a WAL write failed since the last Clear.
  bool wal_write_failed() const {
    return wal_write_failed_.load(std::memory_order_acquire);
  }
  void Clear() { wal_write_failed_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> wal_write_failed_{false};
};

// A logger for RocksDB's own lines: its errors go to `sink`, or, when it is
// empty, to stderr prefixed "rocksdb: " (StoreOptions::rocksdb_log); its
// warnings, routine for factlogd, to `routine`, or nowhere when it is empty
// (StoreOptions::rocksdb_routine_log); nothing below.
std::shared_ptr<rocksdb::Logger> NewRocksDbLogger(
    std::function<void(absl::string_view)> sink,
    std::function<void(absl::string_view)> routine = {});

// The database options EventStore::Open opens with; `listener` is added to
// its listeners.
rocksdb::DBOptions StoreDatabaseOptions(
    const StoreOptions& options, std::shared_ptr<WriteErrorListener> listener);

// The descriptors of every column family, in Family order, sharing a block
// cache of `block_cache_bytes`.
std::vector<rocksdb::ColumnFamilyDescriptor> StoreFamilyDescriptors(
    size_t block_cache_bytes);

// Whether `s` says the database's lock file is held (by another process).
bool IsLockError(const rocksdb::Status& s);

// `s` as an absl::Status whose message starts with `context`: OK;
// FAILED_PRECONDITION when the directory is locked; DATA_LOSS for
// corruption; UNAVAILABLE for I/O errors, busy, time-outs and a full disk;
// INTERNAL otherwise.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context);

inline rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
inline absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_ROCKSDB_OPTIONS_H_
