#include "storage/bulk_load.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_format.h"
#include "rocksdb/db.h"
#include "rocksdb/sst_file_writer.h"

namespace factlog::storage {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrFormat("%s: %s", what, s.ToString()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BulkLoad>> BulkLoad::Create(
    rocksdb::DB* db, std::string scratch_dir) {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir, ec);
  std::filesystem::create_directories(scratch_dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrFormat(
        "cannot create scratch dir %s: %s", scratch_dir, ec.message()));
  }
  return std::unique_ptr<BulkLoad>(new BulkLoad(db, std::move(scratch_dir)));
}

BulkLoad::BulkLoad(rocksdb::DB* db, std::string scratch_dir)
    : db_(db), scratch_dir_(std::move(scratch_dir)) {}

BulkLoad::~BulkLoad() {
  {
    absl::MutexLock lock(&mu_);
    files_.clear();
  }
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir_, ec);
}

BulkLoad::File::File(rocksdb::ColumnFamilyHandle* family, std::string path,
                     std::unique_ptr<rocksdb::SstFileWriter> writer)
    : family_(family), path_(std::move(path)), writer_(std::move(writer)) {}

absl::Status BulkLoad::File::Put(absl::string_view key,
                                 absl::string_view value) {
  ++entries_;
  return FromRocks(writer_->Put(rocksdb::Slice(key.data(), key.size()),
                                rocksdb::Slice(value.data(), value.size())),
                   "bulk load: put");
}

absl::StatusOr<BulkLoad::File*> BulkLoad::AddFile(
    rocksdb::ColumnFamilyHandle* family) {
  absl::MutexLock lock(&mu_);
  for (const auto& file : files_) {
    if (file->family_ == family) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "bulk load: a second file for column family %s", family->GetName()));
    }
  }
  // The family's own options (comparator, table format), but compressed as
  // a flush is (LZ4) rather than as the bottom level (ZSTD), where the file
  // lands: ZSTD was about half of writing the files and a sixth of a
  // rebuild's CPU. Compactions that later rewrite these files use ZSTD.
  rocksdb::Options options = db_->GetOptions(family);
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  // The page cache keeps what is written: ingesting reads the files back
  // and the server, started next, serves from them (they replace the
  // projections it would otherwise have cached).
  auto writer = std::make_unique<rocksdb::SstFileWriter>(
      rocksdb::EnvOptions(), options, family, /*invalidate_page_cache=*/false);
  std::string path =
      absl::StrFormat("%s/%06d.sst", scratch_dir_, files_.size());
  if (absl::Status s = FromRocks(writer->Open(path), "bulk load: open");
      !s.ok()) {
    return s;
  }
  files_.push_back(std::unique_ptr<File>(
      new File(family, std::move(path), std::move(writer))));
  return files_.back().get();
}

absl::Status BulkLoad::Ingest() {
  absl::MutexLock lock(&mu_);
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (const auto& file : files_) {
    // RocksDB refuses to finish an empty file: leave it out.
    if (file->entries_ == 0) continue;
    if (absl::Status s =
            FromRocks(file->writer_->Finish(), "bulk load: finish");
        !s.ok()) {
      return s;
    }
    rocksdb::IngestExternalFileArg& arg = args.emplace_back();
    arg.column_family = file->family_;
    arg.external_files.push_back(file->path_);
    arg.options.move_files = true;
  }
  if (args.empty()) return absl::OkStatus();
  return FromRocks(db_->IngestExternalFiles(args), "bulk load: ingest");
}

}  // namespace factlog::storage
