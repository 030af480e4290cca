#include "storage/event_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/evolve.h"
#include "domain/similarity.h"
#include "domain/time_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "storage/bulk_load.h"
#include "storage/claim_cache.h"
#include "storage/keys.h"
#include "storage/merkle_tail.h"
#include "storage/replay.h"

namespace factlog::storage {
namespace {

using rocksdb::ColumnFamilyHandle;

constexpr const char* kFamilies[] = {
    "default",  // rocksdb::kDefaultColumnFamilyName
    "events",     "claim_events", "claims",     "by_status",
    "by_subject", "by_claimant",  "by_tag",     "requests",
    "meta",       "merkle",       "by_overdue",
};
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
  kFamilyCount
};
static_assert(sizeof(kFamilies) / sizeof(kFamilies[0]) == kFamilyCount);

constexpr ClaimIndex kAllIndexes[] = {ClaimIndex::kStatus, ClaimIndex::kSubject,
                                      ClaimIndex::kClaimant, ClaimIndex::kTag,
                                      ClaimIndex::kOverdue};

// The column family of an index.
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
  }
  return kByStatus;  // unreachable: every ClaimIndex is handled above
}

// Whether `family` is read with Get (meta, claims, events, requests, Merkle
// nodes) rather than only with iterators (the claim-event index and every
// claim index).
bool IsReadByKey(Family family) {
  if (family == kClaimEvents) return false;
  for (ClaimIndex index : kAllIndexes) {
    if (FamilyOf(index) == family) return false;
  }
  return true;
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", s.ToString());
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::FailedPreconditionError(message);
  }
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() ||
      s.IsNoSpace()) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

template <typename Message>
absl::Status Parse(absl::string_view bytes, Message* out,
                   absl::string_view what) {
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("cannot parse stored ", what));
  }
  return absl::OkStatus();
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}
absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace

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

namespace {

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
class StderrLogger final : public rocksdb::Logger {
 public:
  explicit StderrLogger(std::function<void(absl::string_view)> sink = nullptr)
      : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL),
        sink_(std::move(sink)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    // Files from SstFileWriter (a rebuild's) carry no unique id in 7.8, so
    // RocksDB warns once per process that it opened one it cannot check
    // against the MANIFEST. Expected here, and not the operator's concern.
    if (std::strstr(format, "opened without unique ID to verify") != nullptr) {
      return;
    }
    if (sink_) {
      char message[1024];
      std::vsnprintf(message, sizeof(message), format, ap);
      sink_(message);
      return;
    }
    std::fputs("rocksdb: ", stderr);
    std::vfprintf(stderr, format, ap);
    std::fputc('\n', stderr);
  }

 private:
  const std::function<void(absl::string_view)> sink_;
};

// Replays events into views ordered by claim_id.
using ViewMap = std::map<std::string, v1::ClaimView>;

}  // namespace

// RocksDB reports its errors here, on the thread that hit them.
//
// A failed write to the WAL (reason kWriteCallback) leaves RocksDB's WAL
// writer unusable: it must not be written to again, and Debian's build
// asserts if it is. Resume() replaces it only when it switches to a new WAL,
// which it does only when it has a memtable to flush; ResumeWrites checks
// for that before resuming.
//
// RocksDB would also resume by itself (its SstFileManager polls free
// space), possibly onto that same WAL writer. The listener turns that off
// for errors that stop writes, so that only ResumeWrites, on the writer,
// resumes, after its checks.
class EventStore::ErrorListener final : public rocksdb::EventListener {
 public:
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                         rocksdb::Status* /*error*/) override {
    if (reason == rocksdb::BackgroundErrorReason::kWriteCallback) {
      wal_write_failed_.store(true, std::memory_order_release);
    }
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status error,
                            bool* auto_recovery) override {
    if (error.severity() >= rocksdb::Status::Severity::kHardError) {
      *auto_recovery = false;
    }
  }

  bool wal_write_failed() const {
    return wal_write_failed_.load(std::memory_order_acquire);
  }
  void Clear() { wal_write_failed_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> wal_write_failed_{false};
};

struct EventStore::Handles {
  std::vector<ColumnFamilyHandle*> h;
  ColumnFamilyHandle* operator[](int family) const { return h[family]; }
};

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
    case ClaimIndex::kOverdue:
      return;
  }
}

// The value of `view`'s entries in `index`: the claimant index's carries
// what the similar-claims search needs; the others are empty.
std::string IndexEntryValue(ClaimIndex index, const v1::ClaimView& view) {
  if (index != ClaimIndex::kClaimant) return {};
  return keys::ClaimantEntryValue(view.subject(),
                                  domain::ContentWordHashes(view.text()));
}

using IndexEntryList = std::vector<std::pair<std::string, std::string>>;

// Appends the stored entries (key, value) of `view` in `index`.
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
                          IndexEntryValue(index, view));
  });
}

// The stored entries (key, value) of `view` in `index`.
IndexEntryList IndexEntries(ClaimIndex index, const v1::ClaimView& view) {
  IndexEntryList entries;
  AppendIndexEntries(index, view, &entries);
  return entries;
}

// Runs fn(0) .. fn(count - 1) on `threads` threads, this one among them,
// each taking the next i in turn.
void ParallelFor(unsigned threads, size_t count,
                 const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < count;) fn(i);
  };
  std::vector<std::thread> helpers;
  for (unsigned k = 1; k < threads; ++k) helpers.emplace_back(work);
  work();
  for (std::thread& t : helpers) t.join();
}

}  // namespace

v1::ClaimView IndexedFields(const v1::ClaimView& view) {
  v1::ClaimView fields;
  fields.set_claim_id(view.claim_id());
  fields.set_status(view.status());
  fields.set_subject(view.subject());
  fields.set_claimant(view.claimant());
  fields.set_text(view.text());
  *fields.mutable_tags() = view.tags();
  if (view.has_due_at()) *fields.mutable_due_at() = view.due_at();
  if (view.has_overdue_at()) *fields.mutable_overdue_at() = view.overdue_at();
  return fields;
}

namespace {

// True when `index`'s entries of a claim cannot differ between `before` and
// `after`, judged from the fields IndexEntries reads (the claim_id is the
// same): spares the writer building and comparing them, and the claimant
// entry's tokenizing, on most updates.
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

// How an index entry reads in a Verify mismatch.
std::string DescribeIndexEntry(ClaimIndex index, absl::string_view key) {
  if (index == ClaimIndex::kOverdue) {
    absl::Time at;
    absl::string_view claim_id;
    if (!keys::DecodeOverdueKey(key, &at, &claim_id)) return "(short key)";
    return absl::StrCat("\"", domain::Rfc3339(at), "\" -> \"", claim_id, "\"");
  }
  return absl::StrCat("\"", keys::IndexValue(key), "\" -> \"",
                      keys::IndexClaimId(key), "\"");
}

// One key's write in a commit: a put, or a delete.
struct KeyWrite {
  std::string key;
  std::string value;
  bool is_delete = false;
};

// Adds `writes` to `wb` in key order. A memtable inserts each key after
// searching its skip list from the previous insert's place down, level by
// level, only as far as the key lies outside that place; keys in order
// stay near it, random ones start almost from the top. Writes to one key
// keep their order, so the last still wins.
void PutInKeyOrder(rocksdb::WriteBatch* wb, ColumnFamilyHandle* cf,
                   std::vector<KeyWrite>* writes) {
  std::stable_sort(
      writes->begin(), writes->end(),
      [](const KeyWrite& a, const KeyWrite& b) { return a.key < b.key; });
  for (const KeyWrite& w : *writes) {
    if (w.is_delete) {
      wb->Delete(cf, w.key);
    } else {
      wb->Put(cf, w.key, w.value);
    }
  }
}

// Adds the index puts and deletes that move `before` to `after`, each key
// once (a claim's entries hold its id, and differ from each other).
void UpdateIndexes(std::vector<KeyWrite>* writes, ClaimIndex index,
                   const v1::ClaimView* before, const v1::ClaimView& after) {
  using Entries = std::vector<std::pair<std::string, std::string>>;
  if (before && SameIndexInputs(index, *before, after)) return;
  const Entries old_entries = before ? IndexEntries(index, *before) : Entries{};
  Entries new_entries = IndexEntries(index, after);
  auto find = [](const Entries& entries, const std::string& key) {
    return std::find_if(entries.begin(), entries.end(),
                        [&](const auto& e) { return e.first == key; });
  };
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

using MerkleNodes = std::vector<std::pair<merkle::NodeId, merkle::Hash>>;

// Adds the puts of those `nodes` that are stored (keys.h).
void PutMerkleNodes(rocksdb::WriteBatch* wb, ColumnFamilyHandle* merkle_cf,
                    const MerkleNodes& nodes) {
  for (const auto& [id, hash] : nodes) {
    if (id.level < keys::kLowestStoredMerkleLevel) continue;
    wb->Put(merkle_cf, keys::MerkleNodeKey(id.level, id.index),
            merkle::ToBytes(hash));
  }
}

// The full key range of a column family whose keys never start with 0xff.
const std::string& RangeEnd() {
  static const std::string* const end = new std::string(9, '\xff');
  return *end;
}

}  // namespace

namespace {

// Reads the schema version of an existing store without writing anything
// (a read-write open may already rewrite the MANIFEST and flush the WAL), so
// that a store from a newer factlogd, or a damaged one, is refused
// untouched. nullopt when the store has no schema record yet.
absl::StatusOr<std::optional<uint64_t>> ReadSchemaVersion(
    const std::string& dir) {
  std::vector<std::string> names;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot read data dir ", dir));
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& n : names)
    families.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions options;
  options.info_log = std::make_shared<StderrLogger>();
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
  for (ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
  if (!status.ok()) return status;
  return version;
}

bool SchemaReadable(uint64_t version) {
  return version >= keys::kOldestMigratableSchemaVersion &&
         version <= keys::kCurrentSchemaVersion;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(
    const std::string& dir, const StoreOptions& options) {
  std::error_code ec;
  namespace fs = std::filesystem;
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) &&
      !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not a factlog data dir (it holds other files and no RocksDB "
        "CURRENT file); refusing to write into it",
        dir));
  }
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) {
    absl::StatusOr<std::optional<uint64_t>> version = ReadSchemaVersion(dir);
    if (!version.ok()) return version.status();
    if (version->has_value() && !SchemaReadable(**version)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "data dir %s has schema version %d; this factlogd reads versions "
          "%d to %d (nothing was changed)",
          dir, **version, keys::kOldestMigratableSchemaVersion,
          keys::kCurrentSchemaVersion));
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot create data dir %s: %s", dir, ec.message()));
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  ApplyDatabaseWriteSettings(&db_options);
  db_options.keep_log_file_num = 5;
  db_options.paranoid_checks = true;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.info_log = std::make_shared<StderrLogger>(options.rocksdb_log);
  if (options.env != nullptr) db_options.env = options.env;
  // Every flush commits all column families in one MANIFEST write. Without
  // it, a crash while Resume() flushes them one by one after a failed write
  // could replay part of the failed batch from the old WAL (for the
  // families not yet flushed) and not the rest.
  db_options.atomic_flush = true;
  // The only unlogged data is keys::kWalGuard; nothing to flush for it.
  db_options.avoid_flush_during_shutdown = true;
  auto listener = std::make_shared<ErrorListener>();
  db_options.listeners.push_back(listener);

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int family = 0; family < kFamilyCount; ++family) {
    descriptors.emplace_back(kFamilies[family],
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
  auto handles = std::make_unique<Handles>();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles->h, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "data dir %s is locked: is another factlogd using it? (%s)", dir,
          s.ToString()));
    }
    return FromRocks(s, absl::StrCat("cannot open data dir ", dir));
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  auto close = [&] {
    for (ColumnFamilyHandle* h : handles->h) db->DestroyColumnFamilyHandle(h);
    handles->h.clear();
  };

  // Schema version and the log's end, cross-checked against the meta record.
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), (*handles)[kMeta], keys::kSchemaVersion,
              &value);
  uint64_t last_key = 0;
  uint64_t schema_version = keys::kCurrentSchemaVersion;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), (*handles)[kEvents]));
    it->SeekToLast();
    if (it->Valid()) last_key = keys::DecodeU64(ToView(it->key())).value_or(0);
    if (!it->status().ok()) {
      close();
      return FromRocks(it->status(), "reading the event log");
    }
  }
  if (s.IsNotFound()) {
    if (last_key != 0) {
      close();
      return absl::DataLossError(
          absl::StrCat("data dir ", dir, " has events but no schema_version"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, (*handles)[kMeta], keys::kSchemaVersion,
                keys::EncodeU64(keys::kCurrentSchemaVersion));
    if (!s.ok()) {
      close();
      return FromRocks(s, "writing schema_version");
    }
  } else if (!s.ok()) {
    close();
    return FromRocks(s, "reading schema_version");
  } else if (!SchemaReadable(keys::DecodeU64(value).value_or(0))) {
    close();
    return absl::FailedPreconditionError(absl::StrFormat(
        "data dir %s has schema version %d; this factlogd reads versions %d "
        "to %d",
        dir, keys::DecodeU64(value).value_or(0),
        keys::kOldestMigratableSchemaVersion, keys::kCurrentSchemaVersion));
  } else {
    schema_version = *keys::DecodeU64(value);
  }

  uint64_t last_position = 0, projection_position = 0;
  if (db->Get(rocksdb::ReadOptions(), (*handles)[kMeta], keys::kLastPosition,
              &value)
          .ok()) {
    last_position = keys::DecodeU64(value).value_or(0);
  }
  if (db->Get(rocksdb::ReadOptions(), (*handles)[kMeta],
              keys::kProjectionPosition, &value)
          .ok()) {
    projection_position = keys::DecodeU64(value).value_or(0);
  }
  if (last_position != last_key) {
    close();
    return absl::DataLossError(absl::StrFormat(
        "data dir %s: meta last_position %d but the last event is %d", dir,
        last_position, last_key));
  }

  std::string token_secret;
  s = db->Get(rocksdb::ReadOptions(), (*handles)[kMeta], keys::kTokenSecret,
              &token_secret);
  if (s.IsNotFound()) {
    std::random_device device;  // /dev/urandom
    token_secret.resize(32);
    for (char& c : token_secret) c = static_cast<char>(device());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, (*handles)[kMeta], keys::kTokenSecret, token_secret);
  }
  if (!s.ok()) {
    close();
    return FromRocks(s, "token secret");
  }

  std::unique_ptr<EventStore> store(
      new EventStore(std::move(db), std::move(handles), options, last_position,
                     std::move(token_secret), std::move(listener)));
  if (schema_version < 2) {
    std::fprintf(stderr,
                 "factlogd: data dir %s is schema %llu: building the "
                 "tamper-evident Merkle tree over its %llu events (schema "
                 "2)...\n",
                 dir.c_str(), static_cast<unsigned long long>(schema_version),
                 static_cast<unsigned long long>(last_position));
    const absl::Time start = absl::Now();
    if (absl::Status s = store->BuildMerkleTree(); !s.ok()) return s;
    std::fprintf(stderr, "factlogd: Merkle tree built in %s\n",
                 absl::FormatDuration(absl::Now() - start).c_str());
  }
  if (absl::Status s = store->LoadMerkleTail(); !s.ok()) return s;
  // Schema 2 to 4 stores hold every node (or, when a migration to 5 was cut
  // short after pruning them, the tail); their stored leaves are the ones to
  // trust, not the events.
  const merkle::NodeReader read = store->MerkleReader();
  const bool every_node_stored = schema_version >= 2 && schema_version < 5;
  absl::StatusOr<merkle::Frontier> frontier = merkle::Frontier::Load(
      last_position,
      every_node_stored ? merkle::NodeReader([&](merkle::NodeId id) {
        absl::StatusOr<merkle::Hash> stored = store->StoredMerkleNode(id);
        return stored.ok() ? stored : read(id);
      })
                        : read);
  if (!frontier.ok()) return frontier.status();
  store->frontier_ = *std::move(frontier);
  {
    absl::MutexLock lock(&store->tail_mu_);
    store->tail_ = MerkleTail::Of(store->frontier_);
  }
  if (schema_version < 5) {
    if (schema_version >= 2) {
      std::fprintf(stderr,
                   "factlogd: data dir %s is schema %llu: deleting the Merkle "
                   "tree's nodes below level %d, which are now hashed from "
                   "the events when read (schema 5)\n",
                   dir.c_str(), static_cast<unsigned long long>(schema_version),
                   keys::kLowestStoredMerkleLevel);
    }
    // From schema 4 this is the whole migration; older ones record the
    // version when their projections are rebuilt below.
    if (absl::Status s = store->PruneLowMerkleNodes(schema_version >= 4);
        !s.ok()) {
      return s;
    }
  }
  if (schema_version < 4) {
    std::fprintf(stderr,
                 "factlogd: data dir %s is schema %llu: rebuilding the "
                 "projections over its %llu events for schema 5 (%s)...\n",
                 dir.c_str(), static_cast<unsigned long long>(schema_version),
                 static_cast<unsigned long long>(last_position),
                 schema_version < 3 ? "the overdue index; similar-claims "
                                      "data in the claimant index"
                                    : "similar-claims data in the claimant "
                                      "index");
    const absl::Time start = absl::Now();
    if (absl::Status s = store->MigrateProjections(); !s.ok()) return s;
    std::fprintf(stderr, "factlogd: projections rebuilt in %s\n",
                 absl::FormatDuration(absl::Now() - start).c_str());
    projection_position = last_position;
  }
  if (projection_position != last_position) {
    if (!options.repair_projections_on_open) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "projections are at position %d but the log at %d; run factlogd "
          "--rebuild",
          projection_position, last_position));
    }
    absl::StatusOr<RebuildStats> rebuilt = store->RebuildProjections();
    if (!rebuilt.ok()) return rebuilt.status();
  }
  store->PlaceWalGuard();
  if (absl::Status s = store->WarmClaimCache(); !s.ok()) return s;
  return store;
}

absl::Status EventStore::WarmClaimCache() {
  if (claim_cache_.capacity() == 0) return absl::OkStatus();
  // Tickets first, then the iterator's snapshot: a commit in between
  // moves its shard's ticket on and its claim is left to the writer.
  const std::vector<uint64_t> tickets = claim_cache_.TakeTickets();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once; the claim cache holds them now
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, (*cf_)[kClaims]));
  const size_t enough = claim_cache_.capacity() / 10 * 9;
  size_t seen = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    claim_cache_.FillFromScan(tickets, ToView(it->key()), ToView(it->value()));
    if (++seen % 1024 == 0 && claim_cache_.charge() >= enough) break;
  }
  return FromRocks(it->status(), "warming the claim cache");
}

EventStore::EventStore(std::unique_ptr<rocksdb::DB> db,
                       std::unique_ptr<Handles> cfs, StoreOptions options,
                       uint64_t last_position, std::string token_secret,
                       std::shared_ptr<ErrorListener> listener)
    : db_(std::move(db)),
      cf_(std::move(cfs)),
      options_(options),
      last_position_(last_position),
      token_secret_(std::move(token_secret)),
      listener_(std::move(listener)),
      claim_cache_(options_.claim_cache_bytes) {}

EventStore::~EventStore() {
  if (!write_failed_) {
    // Write the memtables out, so the next open has no WAL to replay (it
    // reads the log's end and meta before anything else, and a replay of
    // up to max_total_wal_size costs seconds). After a failed write the
    // WAL is the only durable copy and stays as it is.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    flush.allow_write_stall = true;
    db_->Flush(flush, cf_->h).PermitUncheckedError();
    if (options_.sync) db_->FlushWAL(/*sync=*/true).PermitUncheckedError();
  }
  for (ColumnFamilyHandle* h : cf_->h) db_->DestroyColumnFamilyHandle(h);
  cf_->h.clear();
  db_->Close().PermitUncheckedError();
}

ColumnFamilyHandle* EventStore::IndexFamily(ClaimIndex index) const {
  return (*cf_)[FamilyOf(index)];
}

absl::Status EventStore::Commit(const CommitBatch& batch, StoredBytes* stored) {
  const uint64_t first = LastPosition() + 1;
  uint64_t next = first;
  rocksdb::WriteBatch wb;
  std::vector<std::string> event_bytes;
  event_bytes.reserve(batch.events.size());
  merkle::Frontier frontier = frontier_;
  MerkleNodes nodes;
  // Written in key order, family by family, after the events (whose keys
  // come in order anyway).
  std::vector<KeyWrite> claim_events;
  claim_events.reserve(batch.events.size());
  std::vector<KeyWrite> index_writes[std::size(kAllIndexes)];
  for (const v1::Event& e : batch.events) {
    if (e.position() != next) {
      return absl::InternalError(absl::StrFormat(
          "commit: event position %d, expected %d", e.position(), next));
    }
    ++next;
    const std::string& bytes =
        event_bytes.emplace_back(merkle::CanonicalEventBytes(e));
    wb.Put((*cf_)[kEvents], keys::EventKey(e.position()), bytes);
    frontier.Append(merkle::LeafHash(bytes), &nodes);
    claim_events.push_back({keys::ClaimEventKey(e.claim_id(), e.version()),
                            keys::EncodeU64(e.position())});
  }
  PutInKeyOrder(&wb, (*cf_)[kClaimEvents], &claim_events);
  std::vector<std::string> claim_bytes;
  claim_bytes.reserve(batch.claims.size());
  for (const ClaimUpdate& u : batch.claims) {
    const std::string& bytes =
        claim_bytes.emplace_back(u.after->SerializeAsString());
    wb.Put((*cf_)[kClaims], u.after->claim_id(), bytes);
    for (size_t i = 0; i < std::size(kAllIndexes); ++i) {
      UpdateIndexes(&index_writes[i], kAllIndexes[i], u.before, *u.after);
    }
  }
  for (size_t i = 0; i < std::size(kAllIndexes); ++i) {
    PutInKeyOrder(&wb, IndexFamily(kAllIndexes[i]), &index_writes[i]);
  }
  std::string bytes;
  for (const auto& [request_id, record] : batch.requests) {
    record.SerializeToString(&bytes);
    wb.Put((*cf_)[kRequests], request_id, bytes);
  }
  PutMerkleNodes(&wb, (*cf_)[kMerkle], nodes);
  MerkleTail tail = MerkleTail::Of(frontier);
  wb.Put((*cf_)[kMeta], keys::kMerkleTail, tail.Encode());
  const uint64_t last = next - 1;
  wb.Put((*cf_)[kMeta], keys::kLastPosition, keys::EncodeU64(last));
  wb.Put((*cf_)[kMeta], keys::kProjectionPosition, keys::EncodeU64(last));

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  if (write_failed_.load(std::memory_order_acquire)) {
    if (absl::Status s = ResumeWrites(); !s.ok()) return s;
  }
  if (auto s = FromRocks(db_->Write(wo, &wb), "commit"); !s.ok()) {
    // Nothing of the batch reached the memtables, so readers, frontier_ and
    // last_position_ are as before. What reached the WAL is left behind
    // with that WAL by ResumeWrites; on a reopen instead, a torn record is
    // dropped and a whole one replayed whole.
    write_failed_.store(true, std::memory_order_release);
    write_error_ = s;
    failed_wal_ = CurrentWalNumber();
    next_resume_ = absl::Now() + options_.resume_interval;
    return s;
  }
  for (size_t i = 0; i < batch.claims.size(); ++i) {
    claim_cache_.Put(batch.claims[i].after->claim_id(), claim_bytes[i]);
  }
  frontier_ = std::move(frontier);
  {
    absl::MutexLock lock(&tail_mu_);
    tail_ = std::move(tail);
  }
  last_position_.store(last, std::memory_order_release);
  if (stored != nullptr) {
    stored->events = std::move(event_bytes);
    stored->claims = std::move(claim_bytes);
  }
  return absl::OkStatus();
}

absl::Status EventStore::ResumeWrites() {
  if (!resumable_) return write_error_;
  const absl::Time now = absl::Now();
  if (now < next_resume_) {
    return absl::UnavailableError(absl::StrCat(
        "writes are stopped since a write failed (", write_error_.message(),
        "); they resume by themselves once that is fixed (disk full: free "
        "space) — nothing acknowledged was lost"));
  }
  next_resume_ = now + options_.resume_interval;

  // After a failed WAL write, RocksDB must move to a new WAL before anything
  // is written again. Resume() does so only when some active memtable holds
  // data to flush (an earlier attempt may already have moved).
  const bool wal_write_failed = listener_->wal_write_failed();
  const auto on_failed_wal = [&] {
    const uint64_t wal = CurrentWalNumber();
    return failed_wal_ == 0 || wal == 0 || wal == failed_wal_;
  };
  uint64_t memtable_entries = 0;
  if (wal_write_failed && on_failed_wal() &&
      (!db_->GetAggregatedIntProperty("rocksdb.num-entries-active-mem-table",
                                      &memtable_entries) ||
       memtable_entries == 0)) {
    return StopWritesUntilReopen(
        "the write failed with nothing in the memtables, so RocksDB cannot "
        "move off the failed WAL");
  }
  // Room to create the new WAL and append to the MANIFEST, which RocksDB
  // cannot recover from failing. If the flush itself then runs out of
  // space, Resume() fails and a later Commit tries again.
  constexpr uint64_t kMinFreeBytes = 8 << 20;
  uint64_t free_bytes = 0;
  if (db_->GetEnv()->GetFreeSpace(db_->GetName(), &free_bytes).ok() &&
      free_bytes < kMinFreeBytes) {
    return absl::UnavailableError(absl::StrFormat(
        "writes are stopped since a write failed (%s); %d bytes are free, "
        "they resume by themselves once %d are — nothing acknowledged was "
        "lost",
        write_error_.message(), free_bytes, kMinFreeBytes));
  }
  const rocksdb::Status resumed = db_->Resume();
  if (!resumed.ok()) {
    if (resumed.severity() >= rocksdb::Status::Severity::kFatalError) {
      return StopWritesUntilReopen(
          absl::StrCat("RocksDB cannot resume: ", resumed.ToString()));
    }
    return absl::UnavailableError(absl::StrCat(
        "writes are stopped since a write failed (", write_error_.message(),
        "); resuming failed, retrying: ", resumed.ToString()));
  }
  if (wal_write_failed && on_failed_wal()) {
    return StopWritesUntilReopen(absl::StrFormat(
        "RocksDB resumed but did not move off the failed WAL %d", failed_wal_));
  }
  // Nothing of the failed batch may be visible: the log still ends where
  // the last acknowledged commit left it.
  uint64_t last_key = 0, meta_last = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), (*cf_)[kEvents]));
    it->SeekToLast();
    if (it->Valid()) last_key = keys::DecodeU64(ToView(it->key())).value_or(0);
    if (!it->status().ok()) return FromRocks(it->status(), "resume");
  }
  std::string value;
  if (db_->Get(rocksdb::ReadOptions(), (*cf_)[kMeta], keys::kLastPosition,
               &value)
          .ok()) {
    meta_last = keys::DecodeU64(value).value_or(0);
  }
  if (last_key != LastPosition() || meta_last != LastPosition()) {
    return StopWritesUntilReopen(absl::StrFormat(
        "after resuming, the log ends at %d (meta %d), not at the last "
        "commit %d",
        last_key, meta_last, LastPosition()));
  }
  listener_->Clear();
  write_failed_.store(false, std::memory_order_release);
  write_error_ = absl::OkStatus();
  PlaceWalGuard();
  return absl::OkStatus();
}

absl::Status EventStore::StopWritesUntilReopen(absl::string_view why) {
  resumable_ = false;
  write_error_ = absl::UnavailableError(absl::StrCat(
      "writes are stopped until factlogd restarts: ", why,
      " (after: ", write_error_.message(),
      "); fix the cause (disk full: free space) and restart — nothing "
      "acknowledged was lost"));
  return write_error_;
}

void EventStore::PlaceWalGuard() const {
  // Resume() moves to a new WAL only when some memtable is not empty. Our
  // commits fill the memtables, but a flush (on open, for a backup) empties
  // them all; a failed first write after it would leave nothing to flush.
  // The guard, written without the WAL, never reaches the failed WAL and
  // stays in the memtable until the next flush.
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  db_->Put(wo, (*cf_)[kDefault], keys::kWalGuard, rocksdb::Slice())
      .PermitUncheckedError();
}

uint64_t EventStore::CurrentWalNumber() const {
  std::unique_ptr<rocksdb::LogFile> wal;
  if (!db_->GetCurrentWalFile(&wal).ok() || wal == nullptr) return 0;
  return wal->LogNumber();
}

namespace {

// Reads `key` of `family` into `value`; false when there is none.
absl::StatusOr<bool> ReadValue(rocksdb::DB* db, ColumnFamilyHandle* family,
                               absl::string_view key, absl::string_view what,
                               rocksdb::PinnableSlice* value) {
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), family, ToSlice(key), value);
  if (s.IsNotFound()) return false;
  if (auto st = FromRocks(s, absl::StrCat("reading ", what)); !st.ok()) {
    return st;
  }
  return true;
}

// The stored `Message` under `key` of `family`, or nullopt.
template <typename Message>
absl::StatusOr<std::optional<Message>> ReadMessage(rocksdb::DB* db,
                                                   ColumnFamilyHandle* family,
                                                   absl::string_view key,
                                                   absl::string_view what) {
  rocksdb::PinnableSlice value;
  absl::StatusOr<bool> found = ReadValue(db, family, key, what, &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  Message message;
  if (auto st = Parse(ToView(value), &message, what); !st.ok()) return st;
  return message;
}

}  // namespace

absl::StatusOr<std::optional<v1::ClaimView>> EventStore::GetClaim(
    absl::string_view claim_id) const {
  absl::StatusOr<std::optional<std::string>> bytes = GetClaimBytes(claim_id);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::nullopt;
  v1::ClaimView view;
  if (auto s = Parse(**bytes, &view, "claim"); !s.ok()) return s;
  return view;
}

absl::StatusOr<std::optional<std::string>> EventStore::GetClaimBytes(
    absl::string_view claim_id) const {
  std::string bytes;
  uint64_t ticket = 0;
  if (claim_cache_.Get(claim_id, &bytes, &ticket)) return bytes;
  rocksdb::PinnableSlice value;
  absl::StatusOr<bool> found =
      ReadValue(db_.get(), (*cf_)[kClaims], claim_id, "claim", &value);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  claim_cache_.Fill(claim_id, ToView(value), ticket);
  return value.ToString();
}

absl::StatusOr<std::optional<v1::RequestRecord>> EventStore::GetRequest(
    absl::string_view request_id) const {
  return ReadMessage<v1::RequestRecord>(db_.get(), (*cf_)[kRequests],
                                        request_id, "request");
}

absl::Status EventStore::ReadEvents(
    uint64_t from_position,
    const std::function<bool(const v1::Event&)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, (*cf_)[kEvents]));
  v1::Event event;
  for (it->Seek(keys::EventKey(std::max<uint64_t>(from_position, 1)));
       it->Valid(); it->Next()) {
    if (auto s = Parse(ToView(it->value()), &event, "event"); !s.ok()) return s;
    if (!fn(event)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "reading events");
}

absl::Status EventStore::ReadClaimEvents(
    absl::string_view claim_id, uint64_t from_version,
    const std::function<bool(const v1::Event&)>& fn) const {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  const std::string prefix = keys::ClaimEventPrefix(claim_id);
  absl::Status status;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(ro, (*cf_)[kClaimEvents]));
    v1::Event event;
    std::string bytes;
    for (it->Seek(keys::ClaimEventKey(claim_id, from_version));
         it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::optional<uint64_t> position =
          keys::DecodeU64(ToView(it->value()));
      if (!position) {
        status = absl::DataLossError("claim_events: bad position value");
        break;
      }
      status = FromRocks(
          db_->Get(ro, (*cf_)[kEvents], keys::EventKey(*position), &bytes),
          absl::StrCat("reading event ", *position));
      if (status.ok()) status = Parse(bytes, &event, "event");
      if (!status.ok() || !fn(event)) break;
    }
    if (status.ok()) status = FromRocks(it->status(), "reading claim events");
  }
  db_->ReleaseSnapshot(snapshot);
  return status;
}

absl::Status EventStore::ScanClaims(
    absl::string_view start_after,
    const std::function<bool(v1::ClaimView)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), (*cf_)[kClaims]));
  for (it->Seek(ToSlice(start_after)); it->Valid(); it->Next()) {
    if (!start_after.empty() && ToView(it->key()) == start_after) continue;
    v1::ClaimView view;
    if (auto s = Parse(ToView(it->value()), &view, "claim"); !s.ok()) return s;
    if (!fn(std::move(view))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning claims");
}

absl::Status EventStore::ScanIndex(
    ClaimIndex index, absl::string_view value, absl::string_view start_after,
    const std::function<bool(absl::string_view claim_id)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), IndexFamily(index)));
  const std::string prefix = keys::IndexPrefix(value);
  const std::string start = keys::IndexKey(value, start_after);
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (!start_after.empty() && ToView(it->key()) == start) continue;
    if (!fn(keys::IndexClaimId(ToView(it->key())))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning index");
}

absl::Status EventStore::ScanClaimant(
    absl::string_view claimant,
    const std::function<bool(const ClaimantEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), (*cf_)[kByClaimant]));
  const std::string prefix = keys::IndexPrefix(claimant);
  ClaimantEntry entry;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    entry.claim_id = keys::IndexClaimId(ToView(it->key()));
    if (!keys::DecodeClaimantEntryValue(ToView(it->value()), &entry.subject,
                                        &entry.word_hashes)) {
      return absl::DataLossError(absl::StrFormat(
          "by_claimant: malformed entry for claim \"%s\"", entry.claim_id));
    }
    if (!fn(entry)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning the claimant index");
}

absl::Status EventStore::ScanIndexValues(
    ClaimIndex index, absl::string_view start_after,
    const std::function<bool(absl::string_view value,
                             const std::vector<std::string>& claim_ids)>& fn)
    const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), IndexFamily(index)));
  std::string current;
  std::vector<std::string> ids;
  it->Seek(start_after.empty() ? std::string()
                               : keys::IndexKey(start_after, RangeEnd()));
  for (; it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    const absl::string_view value = keys::IndexValue(key);
    if (!ids.empty() && value != current) {
      if (!fn(current, ids)) return absl::OkStatus();
      ids.clear();
    }
    current = std::string(value);
    ids.emplace_back(keys::IndexClaimId(key));
  }
  if (auto s = FromRocks(it->status(), "scanning index"); !s.ok()) return s;
  if (!ids.empty()) fn(current, ids);
  return absl::OkStatus();
}

absl::Status EventStore::WriteClaimsFile(
    const std::vector<const v1::ClaimView*>& sorted, BulkLoad& out) const {
  absl::StatusOr<BulkLoad::File*> claims = out.AddFile((*cf_)[kClaims]);
  if (!claims.ok()) return claims.status();
  std::string bytes;
  for (const v1::ClaimView* view : sorted) {
    view->SerializeToString(&bytes);
    if (auto s = (*claims)->Put(view->claim_id(), bytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EventStore::WriteClaimEventsFile(
    const std::vector<const ReplayedClaim*>& sorted, BulkLoad& out) const {
  absl::StatusOr<BulkLoad::File*> file = out.AddFile((*cf_)[kClaimEvents]);
  if (!file.ok()) return file.status();
  // Keys are claim_id 0x00 version: claims in id order, each one's events
  // in version order, is key order.
  std::vector<std::pair<uint64_t, uint64_t>> reordered;
  for (const ReplayedClaim* claim : sorted) {
    const std::vector<std::pair<uint64_t, uint64_t>>* events = &claim->events;
    if (!std::is_sorted(events->begin(), events->end())) {
      // Versions grow along the log; sorted all the same, whatever it holds.
      reordered = *events;
      std::sort(reordered.begin(), reordered.end());
      events = &reordered;
    }
    for (const auto& [version, position] : *events) {
      if (auto s = (*file)->Put(
              keys::ClaimEventKey(claim->view->claim_id(), version),
              keys::EncodeU64(position));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

namespace {

// RebuildProjections' file for `index` (whose family is `family`), from
// its entries in runs that are each in claim_id order and in claim_id order
// one after the other.
absl::Status WriteIndexFile(ClaimIndex index, ColumnFamilyHandle* family,
                            const std::vector<const IndexEntryList*>& runs,
                            BulkLoad& out) {
  absl::StatusOr<BulkLoad::File*> file = out.AddFile(family);
  if (!file.ok()) return file.status();
  using Entry = std::pair<std::string, std::string>;
  auto put = [&file](const Entry& entry) {
    return (*file)->Put(entry.first, entry.second);
  };
  if (index == ClaimIndex::kOverdue) {
    // Keyed by time first; few claims are overdue.
    std::vector<const Entry*> entries;
    for (const IndexEntryList* run : runs) {
      for (const Entry& entry : *run) entries.push_back(&entry);
    }
    std::sort(
        entries.begin(), entries.end(),
        [](const Entry* a, const Entry* b) { return a->first < b->first; });
    for (const Entry* entry : entries) {
      if (auto s = put(*entry); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // Keys are value 0x00 claim_id, so their order is (value, claim_id): the
  // entries of each value, gathered in claim_id order, taken value by value
  // in order, are the keys in order. A value a claim lists twice (a tag) is
  // one entry.
  absl::flat_hash_map<absl::string_view, std::vector<const Entry*>> by_value;
  for (const IndexEntryList* run : runs) {
    for (const Entry& entry : *run) {
      std::vector<const Entry*>& entries =
          by_value[keys::IndexValue(entry.first)];
      if (entries.empty() || entries.back()->first != entry.first) {
        entries.push_back(&entry);
      }
    }
  }
  std::vector<absl::string_view> values;
  values.reserve(by_value.size());
  for (const auto& [value, entries] : by_value) values.push_back(value);
  std::sort(values.begin(), values.end());
  for (absl::string_view value : values) {
    for (const Entry* entry : by_value[value]) {
      if (auto s = put(*entry); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EventStore::ScanOverdue(
    const domain::OverdueCursor& after, absl::Time until,
    const std::function<bool(const OverdueEntry&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), (*cf_)[kByOverdue]));
  // Claim ids are slugs, so 0xff sorts after every id at the same time.
  it->Seek(after.claim_id.empty()
               ? absl::StrCat(keys::EncodeTime(after.at), "\xff")
               : keys::OverdueKey(after.at, after.claim_id));
  OverdueEntry entry;
  for (; it->Valid(); it->Next()) {
    if (!keys::DecodeOverdueKey(ToView(it->key()), &entry.overdue_at,
                                &entry.claim_id)) {
      return absl::DataLossError("by_overdue: malformed key");
    }
    if (after.Covers(entry.overdue_at, entry.claim_id)) continue;
    if (entry.overdue_at > until) break;
    const std::optional<absl::Time> due = keys::DecodeTime(ToView(it->value()));
    if (!due) return absl::DataLossError("by_overdue: malformed value");
    entry.due_at = *due;
    if (!fn(entry)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning the overdue index");
}

absl::Status EventStore::MigrateProjections() {
  absl::StatusOr<RebuildStats> rebuilt = RebuildProjections();
  if (!rebuilt.ok()) return rebuilt.status();
  // Only now: an interrupted migration is redone on the next open.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, (*cf_)[kMeta], keys::kSchemaVersion,
                            keys::EncodeU64(keys::kCurrentSchemaVersion)),
                   "recording the schema version");
}

absl::Status EventStore::RecreateProjectionFamilies() {
  std::vector<Family> projections = {kClaimEvents, kClaims};
  for (ClaimIndex index : kAllIndexes) projections.push_back(FamilyOf(index));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<ColumnFamilyHandle*> dropped;
  for (Family family : projections) {
    rocksdb::ColumnFamilyDescriptor descriptor;
    if (auto s = FromRocks((*cf_)[family]->GetDescriptor(&descriptor),
                           "rebuild: reading a family's options");
        !s.ok()) {
      return s;
    }
    descriptors.push_back(std::move(descriptor));
    dropped.push_back((*cf_)[family]);
  }
  if (auto s = FromRocks(db_->DropColumnFamilies(dropped),
                         "rebuild: dropping the projections");
      !s.ok()) {
    return s;
  }
  // From here until the families exist again, a crash leaves them missing;
  // Open creates missing families, and the stale mark has it rebuild them.
  std::vector<ColumnFamilyHandle*> created;
  if (auto s = FromRocks(db_->CreateColumnFamilies(descriptors, &created),
                         "rebuild: recreating the projections");
      !s.ok()) {
    // The dropped handles stay valid objects for the destructor to free.
    for (ColumnFamilyHandle* h : created) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    return s;
  }
  for (size_t i = 0; i < created.size(); ++i) {
    db_->DestroyColumnFamilyHandle(dropped[i]).PermitUncheckedError();
    cf_->h[projections[i]] = created[i];
  }
  return absl::OkStatus();
}

absl::StatusOr<RebuildStats> EventStore::RebuildProjections() {
  RebuildStats stats;
  absl::Time phase = absl::Now();
  auto lap = [&phase](absl::Duration* d) {
    const absl::Time now = absl::Now();
    *d = now - phase;
    phase = now;
  };
  const uint64_t last = LastPosition();
  {
    // Mark projections as stale first, so an interrupted rebuild is redone
    // on the next open.
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto s =
            FromRocks(db_->Put(wo, (*cf_)[kMeta], keys::kProjectionPosition,
                               keys::EncodeU64(0)),
                      "rebuild: marking projections stale");
        !s.ok()) {
      return s;
    }
  }
  if (auto s = RecreateProjectionFamilies(); !s.ok()) return s;
  claim_cache_.Clear();
  lap(&stats.clear);

  // Replay the log in memory on as many threads as cores beside the one
  // reading: every claim's view, and where its events are.
  const unsigned cores =
      std::clamp(std::thread::hardware_concurrency(), 2u, 4u);
  ParallelReplay replay(cores);
  absl::Status read =
      ScanLogBytes([&](uint64_t position, absl::string_view bytes) {
        return replay.Add(position, bytes);
      });
  if (absl::Status s = replay.Finish(); !s.ok()) return s;
  if (!read.ok()) return read;
  const std::vector<const ReplayedClaim*> claims = replay.SortedClaims();
  stats.events_replayed = replay.events();
  stats.claims_written = claims.size();
  lap(&stats.replay);

  // Write each projection family as one sorted file and swap them in. Every
  // file is written in claim_id order or from it, so nothing is sorted
  // whole here, and the files are independent: threads take them in turn.
  absl::StatusOr<std::unique_ptr<BulkLoad>> load =
      BulkLoad::Create(db_.get(), db_->GetName() + "/rebuild.tmp");
  if (!load.ok()) return load.status();
  BulkLoad& out = **load;
  std::vector<const v1::ClaimView*> views;
  views.reserve(claims.size());
  for (const ReplayedClaim* claim : claims) views.push_back(claim->view);

  // Every index's entries, gathered in one pass over the views, a slice of
  // them per thread: the views lie scattered over the replay's arenas, so
  // each pass over them in claim_id order costs a cache miss or more per
  // claim. Slice k's lists come before slice k+1's in claim_id order. They
  // are held until the files are written: ~450 bytes per claim.
  constexpr size_t kIndexes = std::size(kAllIndexes);
  std::vector<std::array<IndexEntryList, kIndexes>> slices(cores);
  ParallelFor(cores, cores, [&](size_t k) {
    const size_t begin = views.size() * k / cores;
    const size_t end = views.size() * (k + 1) / cores;
    for (size_t v = begin; v < end; ++v) {
      for (size_t i = 0; i < kIndexes; ++i) {
        AppendIndexEntries(kAllIndexes[i], *views[v], &slices[k][i]);
      }
    }
  });

  std::vector<std::function<absl::Status()>> tasks;
  tasks.push_back([&] { return WriteClaimEventsFile(claims, out); });
  tasks.push_back([&] { return WriteClaimsFile(views, out); });
  for (size_t i = 0; i < kIndexes; ++i) {
    tasks.push_back([&, i] {
      std::vector<const IndexEntryList*> runs;
      for (const auto& slice : slices) runs.push_back(&slice[i]);
      return WriteIndexFile(kAllIndexes[i], IndexFamily(kAllIndexes[i]), runs,
                            out);
    });
  }
  std::vector<absl::Status> results(tasks.size());
  ParallelFor(cores, tasks.size(), [&](size_t t) { results[t] = tasks[t](); });
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  lap(&stats.write);
  if (auto s = out.Ingest(); !s.ok()) return s;
  // Readers may have cached views of the dropped families since.
  claim_cache_.Clear();
  lap(&stats.ingest);

  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto s = FromRocks(db_->Put(wo, (*cf_)[kMeta], keys::kProjectionPosition,
                                  keys::EncodeU64(last)),
                         "rebuild: finishing");
      !s.ok()) {
    return s;
  }
  return stats;
}

absl::StatusOr<VerifyReport> EventStore::Verify() const {
  VerifyReport report;
  ViewMap expected;
  std::map<std::string, uint64_t> expected_claim_events;
  absl::Status s = ReadEvents(1, [&](const v1::Event& e) {
    domain::Evolve(e, &expected[e.claim_id()]);
    expected_claim_events[keys::ClaimEventKey(e.claim_id(), e.version())] =
        e.position();
    ++report.events_replayed;
    return true;
  });
  if (!s.ok()) return s;
  constexpr size_t kMaxReported = 100;
  auto mismatch = [&](std::string line) {
    if (report.mismatches.size() < kMaxReported) {
      report.mismatches.push_back(std::move(line));
    } else if (report.mismatches.size() == kMaxReported) {
      report.mismatches.push_back("... more mismatches not shown");
    }
  };

  // Projections.
  std::set<std::string> seen;
  s = ScanClaims("", [&](const v1::ClaimView& stored) {
    ++report.claims_checked;
    seen.insert(stored.claim_id());
    auto it = expected.find(stored.claim_id());
    if (it == expected.end()) {
      mismatch(absl::StrCat("claims: \"", stored.claim_id(),
                            "\" is stored but has no events"));
      return true;
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    if (!differ.Compare(it->second, stored)) {
      mismatch(
          absl::StrCat("claims: \"", stored.claim_id(),
                       "\" differs from replay (replayed -> stored): ", diff));
    }
    return true;
  });
  if (!s.ok()) return s;
  for (const auto& [claim_id, view] : expected) {
    if (!seen.count(claim_id)) {
      mismatch(absl::StrCat("claims: \"", claim_id,
                            "\" has events but no stored projection"));
    }
  }

  // Secondary indexes.
  for (ClaimIndex index : kAllIndexes) {
    std::map<std::string, std::string> want;
    for (const auto& [claim_id, view] : expected) {
      for (auto& [key, value] : IndexEntries(index, view)) {
        want.emplace(std::move(key), std::move(value));
      }
    }
    const std::string name = IndexFamily(index)->GetName();
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), IndexFamily(index)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key(ToView(it->key()));
      auto wanted = want.find(key);
      if (wanted == want.end()) {
        mismatch(absl::StrCat(name, ": unexpected entry ",
                              DescribeIndexEntry(index, key)));
        continue;
      }
      if (wanted->second != ToView(it->value())) {
        mismatch(absl::StrCat(name, ": entry ", DescribeIndexEntry(index, key),
                              " has a wrong value"));
      }
      want.erase(wanted);
    }
    if (auto st = FromRocks(it->status(), "verify"); !st.ok()) return st;
    for (const auto& [key, value] : want) {
      mismatch(absl::StrCat(name, ": missing entry ",
                            DescribeIndexEntry(index, key)));
    }
  }

  // Per-claim event index.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), (*cf_)[kClaimEvents]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key(ToView(it->key()));
    auto want = expected_claim_events.find(key);
    const std::optional<uint64_t> got = keys::DecodeU64(ToView(it->value()));
    if (want == expected_claim_events.end() || got != want->second) {
      mismatch(absl::StrCat("claim_events: entry for \"", keys::IndexValue(key),
                            "\" points at position ", got.value_or(0)));
    } else {
      expected_claim_events.erase(want);
    }
  }
  if (auto st = FromRocks(it->status(), "verify"); !st.ok()) return st;
  for (const auto& [key, position] : expected_claim_events) {
    mismatch(absl::StrCat("claim_events: missing entry for \"",
                          keys::IndexValue(key), "\" at position ", position));
  }
  if (auto st = VerifyMerkleTree(&report, mismatch); !st.ok()) return st;
  return report;
}

merkle::NodeReader EventStore::MerkleReader() const {
  return [this](merkle::NodeId id) -> absl::StatusOr<merkle::Hash> {
    if (id.level >= keys::kLowestStoredMerkleLevel) return StoredMerkleNode(id);
    {
      absl::MutexLock lock(&tail_mu_);
      if (std::optional<merkle::Hash> peak = tail_.Find(id)) return *peak;
    }
    return SubtreeFromEvents(id);
  };
}

absl::StatusOr<merkle::Hash> EventStore::StoredMerkleNode(
    merkle::NodeId id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), (*cf_)[kMerkle],
                               keys::MerkleNodeKey(id.level, id.index), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrFormat(
        "merkle: node (level %d, index %d) is missing", id.level, id.index));
  }
  if (auto st = FromRocks(s, "reading merkle node"); !st.ok()) return st;
  absl::StatusOr<merkle::Hash> hash = merkle::HashFromBytes(ToView(value));
  if (!hash.ok()) {
    return absl::DataLossError(
        absl::StrFormat("merkle: node (level %d, index %d): %s", id.level,
                        id.index, hash.status().message()));
  }
  return hash;
}

absl::StatusOr<merkle::Hash> EventStore::SubtreeFromEvents(
    merkle::NodeId id) const {
  const uint64_t first = (id.index << id.level) + 1;
  const uint64_t count = uint64_t{1} << id.level;
  const std::string end_key = keys::EventKey(first + count);
  const rocksdb::Slice end(end_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &end;
  merkle::Frontier subtree;
  MerkleNodes ignored;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, (*cf_)[kEvents]));
  for (it->Seek(keys::EventKey(first)); it->Valid(); it->Next()) {
    if (keys::DecodeU64(ToView(it->key())) != first + subtree.size()) break;
    subtree.Append(merkle::LeafHash(ToView(it->value())), &ignored);
    ignored.clear();
  }
  if (auto st = FromRocks(it->status(), "reading events"); !st.ok()) return st;
  if (subtree.size() != count) {
    return absl::DataLossError(absl::StrFormat(
        "merkle: node (level %d, index %d) needs the events at positions %d "
        "to %d, and the log lacks position %d",
        id.level, id.index, first, first + count - 1, first + subtree.size()));
  }
  return subtree.Root();
}

absl::Status EventStore::CheckTreeSize(uint64_t size) const {
  const uint64_t last = LastPosition();
  if (size > last) {
    return absl::OutOfRangeError(absl::StrFormat(
        "tree size %d is beyond the log, which ends at position %d", size,
        last));
  }
  return absl::OkStatus();
}

absl::StatusOr<merkle::Hash> EventStore::RootAt(uint64_t size) const {
  if (auto s = CheckTreeSize(size); !s.ok()) return s;
  return merkle::RootHash(size, MerkleReader());
}

absl::StatusOr<std::vector<merkle::Hash>> EventStore::InclusionProof(
    uint64_t position, uint64_t tree_size) const {
  if (auto s = CheckTreeSize(tree_size); !s.ok()) return s;
  if (position == 0 || position > tree_size) {
    return absl::OutOfRangeError(
        absl::StrFormat("position %d is not in the tree of the first %d events",
                        position, tree_size));
  }
  return merkle::InclusionProof(position - 1, tree_size, MerkleReader());
}

absl::StatusOr<std::vector<merkle::Hash>> EventStore::ConsistencyProof(
    uint64_t old_size, uint64_t new_size) const {
  if (auto s = CheckTreeSize(new_size); !s.ok()) return s;
  return merkle::ConsistencyProof(old_size, new_size, MerkleReader());
}

namespace {

absl::Status ScanEventBytes(
    rocksdb::DB* db, ColumnFamilyHandle* events, rocksdb::ReadOptions ro,
    uint64_t from_position,
    const std::function<bool(uint64_t, absl::string_view)>& fn) {
  ro.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, events));
  for (it->Seek(keys::EventKey(std::max<uint64_t>(from_position, 1)));
       it->Valid(); it->Next()) {
    const std::optional<uint64_t> position = keys::DecodeU64(ToView(it->key()));
    if (!position) return absl::DataLossError("events: malformed key");
    if (!fn(*position, ToView(it->value()))) return absl::OkStatus();
  }
  return FromRocks(it->status(), "reading events");
}

}  // namespace

absl::Status EventStore::ReadEventBytes(
    uint64_t from_position,
    const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  return ScanEventBytes(db_.get(), (*cf_)[kEvents], rocksdb::ReadOptions(),
                        from_position, fn);
}

absl::Status EventStore::ScanLogBytes(
    const std::function<bool(uint64_t, absl::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  return ScanEventBytes(db_.get(), (*cf_)[kEvents], ro, 1, fn);
}

absl::Status EventStore::BuildMerkleTree() {
  merkle::Frontier frontier;
  MerkleNodes nodes;
  rocksdb::WriteBatch wb;
  rocksdb::WriteOptions wo;
  absl::Status status;
  absl::Status read =
      ScanLogBytes([&](uint64_t position, absl::string_view bytes) {
        if (position != frontier.size() + 1) {
          status = absl::DataLossError(
              absl::StrFormat("merkle: the log jumps from position %d to %d",
                              frontier.size(), position));
          return false;
        }
        frontier.Append(merkle::LeafHash(bytes), &nodes);
        PutMerkleNodes(&wb, (*cf_)[kMerkle], nodes);
        nodes.clear();
        if (wb.Count() >= 10000) {
          status = FromRocks(db_->Write(wo, &wb), "building the merkle tree");
          wb.Clear();
        }
        return status.ok();
      });
  if (!read.ok()) return read;
  if (!status.ok()) return status;
  // The schema moves to 2 only with the last nodes, so an interrupted
  // migration is redone (it rewrites the same nodes) on the next open.
  wb.Put((*cf_)[kMeta], keys::kMerkleTail, MerkleTail::Of(frontier).Encode());
  wb.Put((*cf_)[kMeta], keys::kSchemaVersion, keys::EncodeU64(2));
  wo.sync = true;
  return FromRocks(db_->Write(wo, &wb), "building the merkle tree");
}

absl::Status EventStore::LoadMerkleTail() {
  rocksdb::PinnableSlice bytes;
  absl::StatusOr<bool> found = ReadValue(
      db_.get(), (*cf_)[kMeta], keys::kMerkleTail, "merkle tail", &bytes);
  if (!found.ok()) return found.status();
  if (!*found) return absl::OkStatus();  // a store with no events yet
  std::optional<MerkleTail> tail = MerkleTail::Decode(ToView(bytes));
  // Then the newest events are hashed as they are now; Verify says so.
  if (!tail) return absl::OkStatus();
  absl::MutexLock lock(&tail_mu_);
  tail_ = *std::move(tail);
  return absl::OkStatus();
}

absl::Status EventStore::PruneLowMerkleNodes(bool record_schema) {
  rocksdb::WriteBatch wb;
  wb.DeleteRange((*cf_)[kMerkle], keys::MerkleLevelPrefix(0),
                 keys::MerkleLevelPrefix(keys::kLowestStoredMerkleLevel));
  wb.Put((*cf_)[kMeta], keys::kMerkleTail, MerkleTail::Of(frontier_).Encode());
  if (record_schema) {
    wb.Put((*cf_)[kMeta], keys::kSchemaVersion,
           keys::EncodeU64(keys::kCurrentSchemaVersion));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto s = FromRocks(db_->Write(wo, &wb), "pruning the merkle tree");
      !s.ok()) {
    return s;
  }
  // Gives the deleted nodes' disk back now rather than at some compaction.
  return FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(),
                                     (*cf_)[kMerkle], nullptr, nullptr),
                   "compacting the merkle tree");
}

absl::Status EventStore::VerifyMerkleTree(
    VerifyReport* report,
    const std::function<void(std::string)>& mismatch) const {
  constexpr int kLowest = keys::kLowestStoredMerkleLevel;
  // The events of the current lowest stored subtree, hashed from their
  // bytes; above it, a tree whose leaves are the stored lowest subtrees
  // (its level j is the tree's level kLowest + j), so that parents are
  // checked against the stored children and one changed event is reported
  // once, not once per ancestor; and the whole tree as the events hash.
  merkle::Frontier block, upper, whole;
  MerkleNodes nodes;
  absl::Status status;
  v1::Event event;
  // `differs` makes the mismatch's message, only when there is one.
  const auto check = [&](const absl::StatusOr<merkle::Hash>& stored,
                         const merkle::Hash& want, const auto& differs) {
    ++report->merkle_nodes_checked;
    if (!stored.ok()) {
      mismatch(std::string(stored.status().message()));
    } else if (*stored != want) {
      mismatch(differs());
    }
  };
  absl::Status s = ScanLogBytes([&](uint64_t position,
                                    absl::string_view bytes) {
    const merkle::Hash leaf = merkle::LeafHash(bytes);
    if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
        merkle::CanonicalEventBytes(event) != bytes) {
      mismatch(absl::StrFormat(
          "merkle: the event at position %d is not stored in canonical form, "
          "so clients cannot verify it",
          position));
    }
    whole.Append(leaf, &nodes);
    block.Append(leaf, &nodes);
    nodes.clear();
    if (block.size() < (uint64_t{1} << kLowest)) return true;
    const merkle::NodeId id{kLowest, upper.size()};
    absl::StatusOr<merkle::Hash> stored = StoredMerkleNode(id);
    if (!stored.ok() && !absl::IsDataLoss(stored.status())) {
      status = stored.status();
      return false;
    }
    check(stored, block.Root(), [&] {
      return absl::StrFormat(
          "merkle: the events at positions %d to %d do not match their "
          "stored subtree (level %d, index %d): one of them changed after it "
          "was appended",
          position - block.size() + 1, position, id.level, id.index);
    });
    upper.Append(stored.ok() ? *stored : block.Root(), &nodes);
    block = merkle::Frontier();
    for (size_t i = 1; i < nodes.size(); ++i) {
      const merkle::NodeId parent{nodes[i].first.level + kLowest,
                                  nodes[i].first.index};
      check(StoredMerkleNode(parent), nodes[i].second, [&] {
        return absl::StrFormat(
            "merkle: node (level %d, index %d) is not the hash of its children",
            parent.level, parent.index);
      });
    }
    nodes.clear();
    return true;
  });
  if (!s.ok()) return s;
  if (!status.ok()) return status;

  // The newest events, in no stored subtree yet: against the stored tail.
  rocksdb::PinnableSlice bytes;
  absl::StatusOr<bool> found = ReadValue(
      db_.get(), (*cf_)[kMeta], keys::kMerkleTail, "merkle tail", &bytes);
  if (!found.ok()) return found.status();
  std::optional<MerkleTail> tail;
  if (*found) tail = MerkleTail::Decode(ToView(bytes));
  if (*found && !tail) {
    mismatch("merkle: the stored tail is malformed");
  } else if (tail && tail->size != whole.size()) {
    mismatch(absl::StrFormat(
        "merkle: the stored tail is of a tree of %d events, the log has %d",
        tail->size, whole.size()));
  } else if (block.size() > 0) {
    const std::vector<merkle::Hash> peaks = block.PeaksBelow(kLowest);
    uint64_t first = whole.size() - block.size() + 1;
    size_t i = 0;
    for (int level = kLowest - 1; level >= 0; --level) {
      if (!((block.size() >> level) & 1)) continue;
      const uint64_t last = first + (uint64_t{1} << level) - 1;
      const std::optional<merkle::Hash> stored =
          tail ? tail->Find(MerkleTail::PeakId(whole.size(), level))
               : std::nullopt;
      check(stored ? absl::StatusOr<merkle::Hash>(*stored)
                   : absl::DataLossError(absl::StrFormat(
                         "merkle: the stored tail, which covers the events at "
                         "positions %d to %d, is missing",
                         first, last)),
            peaks[i++], [&] {
              return absl::StrFormat(
                  "merkle: the events at positions %d to %d do not match the "
                  "stored tail of the tree: one of them changed after it was "
                  "appended",
                  first, last);
            });
      first = last + 1;
    }
  }
  if (whole.size() != LastPosition()) {
    mismatch(absl::StrFormat("merkle: the tree covers %d events, the log %d",
                             whole.size(), LastPosition()));
  }
  absl::StatusOr<merkle::Hash> root = RootAt(whole.size());
  if (root.ok() && *root != whole.Root()) {
    mismatch("merkle: the stored tree's root differs from the recomputed one");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EventStore::Backup(const std::string& dir) const {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("backup dir ", dir, " already exists; name a new one"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  if (auto s =
          FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "backup");
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
  // The checkpoint flushed every memtable.
  PlaceWalGuard();
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
    if (db_->GetAggregatedIntProperty(property, &value)) out[key] = value;
  }
  // Stall counts are kept per column family, in its "cfstats" map.
  uint64_t stops = 0, slowdowns = 0;
  bool any = false;
  for (ColumnFamilyHandle* cf : cf_->h) {
    std::map<std::string, std::string> stats;
    if (!db_->GetMapProperty(cf, "rocksdb.cfstats", &stats)) continue;
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
  if (db_->GetMapProperty("rocksdb.dbstats", &db_stats)) {
    out["write_stall_micros"] = std::strtoull(
        db_stats["db.user_write_stall_micros"].c_str(), nullptr, 10);
    out["wal_syncs"] =
        std::strtoull(db_stats["db.wal_syncs"].c_str(), nullptr, 10);
  }
  out["claim_cache_bytes"] = claim_cache_.charge();
  out["claim_cache_capacity_bytes"] = claim_cache_.capacity();
  const ClaimCache::Counts counts = claim_cache_.counts();
  out["claim_cache_hits"] = counts.hits;
  out["claim_cache_misses"] = counts.misses;
  return out;
}

uint64_t EventStore::ApproximateDiskBytes() const {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(db_->GetName(), ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace factlog::storage
