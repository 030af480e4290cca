#ifndef FACTLOG_STORAGE_BULK_LOAD_H_
#define FACTLOG_STORAGE_BULK_LOAD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class SstFileWriter;
}  // namespace rocksdb

namespace factlog::storage {

// BulkLoad fills column families without the memtable and the WAL: it
// writes sorted runs of keys as SST files in a scratch directory, then
// ingests them all with one atomic MANIFEST record (RocksDB's
// IngestExternalFiles). Ingested keys take sequence numbers after
// everything written before, so they overlay (or, after a DeleteRange,
// replace) what the families held. Used by RebuildProjections, where it is
// several times faster than WriteBatches through the memtable.
//
// Nothing is visible before Ingest() returns OK; a crash before that leaves
// the families as they were, plus the scratch directory, which the next
// BulkLoad on the same path removes.
//
// AddFile is thread-safe, and different files may be written by different
// threads at once; Ingest must be called once every file is written.
class BulkLoad {
 public:
  // One SST file for one column family. Keys must be added in strictly
  // ascending (bytewise) order. Not thread-safe.
  class File {
   public:
    absl::Status Put(absl::string_view key, absl::string_view value);

   private:
    friend class BulkLoad;
    File(rocksdb::ColumnFamilyHandle* family, std::string path,
         std::unique_ptr<rocksdb::SstFileWriter> writer);
    rocksdb::ColumnFamilyHandle* const family_;
    const std::string path_;
    std::unique_ptr<rocksdb::SstFileWriter> writer_;
    uint64_t entries_ = 0;
  };

  // `scratch_dir` must be on the database's filesystem (files are moved,
  // not copied); it is removed and recreated.
  static absl::StatusOr<std::unique_ptr<BulkLoad>> Create(
      rocksdb::DB* db, std::string scratch_dir);
  BulkLoad(const BulkLoad&) = delete;
  BulkLoad& operator=(const BulkLoad&) = delete;
  ~BulkLoad();  // removes the scratch directory

  // Starts the file for `family`, which must not have one yet (RocksDB
  // ingests no overlapping files in one go). Owned by this BulkLoad.
  absl::StatusOr<File*> AddFile(rocksdb::ColumnFamilyHandle* family);

  // Finishes every file and ingests each into its family, all at once.
  absl::Status Ingest();

 private:
  BulkLoad(rocksdb::DB* db, std::string scratch_dir);

  rocksdb::DB* const db_;
  const std::string scratch_dir_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<File>> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_BULK_LOAD_H_
