// EventStore: opening a store, committing, and resuming writes after a
// failed one. Reads, rebuild, verify, the Merkle tree and backups live in
// the event_store_*.cc files beside this one (storage/event_store_state.h).

#include "storage/event_store.h"

#include <filesystem>
#include <iterator>
#include <memory>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "rocksdb/write_batch.h"
#include "storage/claim_indexes.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"
#include "storage/schema.h"
#include "storage/source_projection.h"

namespace factlog::storage {
namespace {

using rocksdb::ColumnFamilyHandle;

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

// The data dir refused as not a store: it holds files and no RocksDB
// CURRENT file.
absl::Status CheckIsDataDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) &&
      !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not a factlog data dir (it holds other files and no RocksDB "
        "CURRENT file); refusing to write into it",
        dir));
  }
  return absl::OkStatus();
}

// Opens (creating if missing) the database in `dir` with every column
// family.
absl::StatusOr<std::unique_ptr<StoreState>> OpenDatabase(
    const std::string& dir, const StoreOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrFormat("cannot create data dir %s: %s", dir, ec.message()));
  }
  auto listener = std::make_shared<WriteErrorListener>();
  const rocksdb::DBOptions db_options = StoreDatabaseOptions(options, listener);
  const std::vector<rocksdb::ColumnFamilyDescriptor> descriptors =
      StoreFamilyDescriptors(options.block_cache_bytes);
  std::vector<ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    if (IsLockError(s)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "data dir %s is locked: is another factlogd using it? (%s)", dir,
          s.ToString()));
    }
    return FromRocks(s, absl::StrCat("cannot open data dir ", dir));
  }
  return std::make_unique<StoreState>(std::unique_ptr<rocksdb::DB>(raw),
                                      std::move(handles), options,
                                      std::move(listener));
}

// The schema version of the open store, writing the current one into a
// store that has none (a new one).
absl::StatusOr<uint64_t> SchemaVersionOnOpen(const StoreState& state,
                                             const std::string& dir,
                                             const LogEnd& end) {
  std::string value;
  rocksdb::Status s = state.db->Get(rocksdb::ReadOptions(), state.family(kMeta),
                                    keys::kSchemaVersion, &value);
  if (s.IsNotFound()) {
    if (end.last_event != 0) {
      return absl::DataLossError(
          absl::StrCat("data dir ", dir, " has events but no schema_version"));
    }
    if (auto st = state.PutMeta(keys::kSchemaVersion,
                                keys::EncodeU64(keys::kCurrentSchemaVersion),
                                "writing schema_version");
        !st.ok()) {
      return st;
    }
    return keys::kCurrentSchemaVersion;
  }
  if (!s.ok()) return FromRocks(s, "reading schema_version");
  const uint64_t version = keys::DecodeU64(value).value_or(0);
  if (auto st = CheckSchemaReadable(dir, version); !st.ok()) return st;
  return version;
}

// The store's token secret, made and kept in meta when it has none.
absl::StatusOr<std::string> TokenSecret(const StoreState& state) {
  std::string secret;
  rocksdb::Status s = state.db->Get(rocksdb::ReadOptions(), state.family(kMeta),
                                    keys::kTokenSecret, &secret);
  if (s.IsNotFound()) {
    std::random_device device;  // /dev/urandom
    secret.resize(32);
    for (char& c : secret) c = static_cast<char>(device());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = state.db->Put(wo, state.family(kMeta), keys::kTokenSecret, secret);
  }
  if (auto st = FromRocks(s, "token secret"); !st.ok()) return st;
  return secret;
}

// Fills the claim cache from the stored projections, in claim id order,
// until it is nine tenths full or every claim is in.
absl::Status WarmClaimCache(StoreState& state) {
  ClaimCache& cache = state.claim_cache;
  if (cache.capacity() == 0) return absl::OkStatus();
  // Tickets first, then the iterator's snapshot: a commit in between
  // moves its shard's ticket on and its claim is left to the writer.
  const std::vector<uint64_t> tickets = cache.TakeTickets();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once; the claim cache holds them now
  std::unique_ptr<rocksdb::Iterator> it(
      state.db->NewIterator(ro, state.family(kClaims)));
  const size_t enough = cache.capacity() / 10 * 9;
  size_t seen = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    cache.FillFromScan(tickets, ToView(it->key()), ToView(it->value()));
    if (++seen % 1024 == 0 && cache.charge() >= enough) break;
  }
  return FromRocks(it->status(), "warming the claim cache");
}

// The number of the WAL RocksDB writes to; 0 when it cannot tell.
uint64_t CurrentWalNumber(const StoreState& state) {
  std::unique_ptr<rocksdb::LogFile> wal;
  if (!state.db->GetCurrentWalFile(&wal).ok() || wal == nullptr) return 0;
  return wal->LogNumber();
}

// Stops writes until the store is reopened, with `why`.
absl::Status StopWritesUntilReopen(StoreState& state, absl::string_view why) {
  state.resumable = false;
  state.write_error = absl::UnavailableError(absl::StrCat(
      "writes are stopped until factlogd restarts: ", why,
      " (after: ", state.write_error.message(),
      "); fix the cause (disk full: free space) and restart — nothing "
      "acknowledged was lost"));
  return state.write_error;
}

// After a failed write: resumes writing when that is safe (see
// EventStore::Commit), or says why not.
absl::Status ResumeWrites(StoreState& state) {
  if (!state.resumable) return state.write_error;
  const absl::Time now = absl::Now();
  if (now < state.next_resume) {
    return absl::UnavailableError(absl::StrCat(
        "writes are stopped since a write failed (",
        state.write_error.message(),
        "); they resume by themselves once that is fixed (disk full: free "
        "space) — nothing acknowledged was lost"));
  }
  state.next_resume = now + state.options.resume_interval;
  rocksdb::DB& db = *state.db;

  // After a failed WAL write, RocksDB must move to a new WAL before anything
  // is written again. Resume() does so only when some active memtable holds
  // data to flush (an earlier attempt may already have moved).
  const bool wal_write_failed = state.listener->wal_write_failed();
  const auto on_failed_wal = [&] {
    const uint64_t wal = CurrentWalNumber(state);
    return state.failed_wal == 0 || wal == 0 || wal == state.failed_wal;
  };
  uint64_t memtable_entries = 0;
  if (wal_write_failed && on_failed_wal() &&
      (!db.GetAggregatedIntProperty("rocksdb.num-entries-active-mem-table",
                                    &memtable_entries) ||
       memtable_entries == 0)) {
    return StopWritesUntilReopen(
        state,
        "the write failed with nothing in the memtables, so RocksDB cannot "
        "move off the failed WAL");
  }
  // Room to create the new WAL and append to the MANIFEST, which RocksDB
  // cannot recover from failing. If the flush itself then runs out of
  // space, Resume() fails and a later Commit tries again.
  constexpr uint64_t kMinFreeBytes = 8 << 20;
  uint64_t free_bytes = 0;
  if (db.GetEnv()->GetFreeSpace(db.GetName(), &free_bytes).ok() &&
      free_bytes < kMinFreeBytes) {
    return absl::UnavailableError(absl::StrFormat(
        "writes are stopped since a write failed (%s); %d bytes are free, "
        "they resume by themselves once %d are — nothing acknowledged was "
        "lost",
        state.write_error.message(), free_bytes, kMinFreeBytes));
  }
  const rocksdb::Status resumed = db.Resume();
  if (!resumed.ok()) {
    if (resumed.severity() >= rocksdb::Status::Severity::kFatalError) {
      return StopWritesUntilReopen(
          state, absl::StrCat("RocksDB cannot resume: ", resumed.ToString()));
    }
    return absl::UnavailableError(
        absl::StrCat("writes are stopped since a write failed (",
                     state.write_error.message(),
                     "); resuming failed, retrying: ", resumed.ToString()));
  }
  if (wal_write_failed && on_failed_wal()) {
    return StopWritesUntilReopen(
        state, absl::StrFormat(
                   "RocksDB resumed but did not move off the failed WAL %d",
                   state.failed_wal));
  }
  // Nothing of the failed batch may be visible: the log still ends where
  // the last acknowledged commit left it.
  absl::StatusOr<LogEnd> end = ReadLogEnd(state, "resume");
  if (!end.ok()) return end.status();
  const uint64_t last = state.last_position.load(std::memory_order_acquire);
  if (end->last_event != last || end->recorded != last) {
    return StopWritesUntilReopen(
        state, absl::StrFormat("after resuming, the log ends at %d (meta %d), "
                               "not at the last commit %d",
                               end->last_event, end->recorded, last));
  }
  state.listener->Clear();
  state.write_failed.store(false, std::memory_order_release);
  state.write_error = absl::OkStatus();
  state.PlaceWalGuard();
  return absl::OkStatus();
}

}  // namespace

StoreState::StoreState(std::unique_ptr<rocksdb::DB> db,
                       std::vector<rocksdb::ColumnFamilyHandle*> families,
                       const StoreOptions& options,
                       std::shared_ptr<WriteErrorListener> listener)
    : db(std::move(db)),
      families(std::move(families)),
      options(options),
      listener(std::move(listener)),
      claim_cache(options.claim_cache_bytes) {}

StoreState::~StoreState() {
  for (ColumnFamilyHandle* h : families) db->DestroyColumnFamilyHandle(h);
  families.clear();
  db->Close().PermitUncheckedError();
}

void StoreState::PlaceWalGuard() const {
  // Resume() moves to a new WAL only when some memtable is not empty. Our
  // commits fill the memtables, but a flush (on open, for a backup) empties
  // them all; a failed first write after it would leave nothing to flush.
  // The guard, written without the WAL, never reaches the failed WAL and
  // stays in the memtable until the next flush.
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  db->Put(wo, family(kDefault), keys::kWalGuard, rocksdb::Slice())
      .PermitUncheckedError();
}

uint64_t StoreState::ReadMetaU64(absl::string_view key) const {
  std::string value;
  if (!db->Get(rocksdb::ReadOptions(), family(kMeta), ToSlice(key), &value)
           .ok()) {
    return 0;
  }
  return keys::DecodeU64(value).value_or(0);
}

absl::Status StoreState::PutMeta(absl::string_view key, absl::string_view value,
                                 absl::string_view what) const {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db->Put(wo, family(kMeta), ToSlice(key), ToSlice(value)),
                   what);
}

absl::Status StoreState::LoadSources() {
  absl::StatusOr<domain::SourceRegistry> registry =
      ReadSourceRegistry(db.get(), family(kSources));
  if (!registry.ok()) return registry.status();
  SetSources(
      std::make_shared<const domain::SourceRegistry>(*std::move(registry)));
  return absl::OkStatus();
}

std::shared_ptr<const domain::SourceRegistry> EventStore::Sources() const {
  return state_->Sources();
}

absl::StatusOr<LogEnd> ReadLogEnd(const StoreState& state,
                                  absl::string_view context) {
  LogEnd end;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        state.db->NewIterator(rocksdb::ReadOptions(), state.family(kEvents)));
    it->SeekToLast();
    if (it->Valid()) {
      end.last_event = keys::DecodeU64(ToView(it->key())).value_or(0);
    }
    if (!it->status().ok()) return FromRocks(it->status(), context);
  }
  end.recorded = state.ReadMetaU64(keys::kLastPosition);
  return end;
}

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(
    const std::string& dir, const StoreOptions& options) {
  if (auto s = CheckIsDataDir(dir); !s.ok()) return s;
  // A store from a newer factlogd, or a damaged one, is refused untouched.
  absl::StatusOr<std::optional<uint64_t>> stored_version =
      ReadSchemaVersionReadOnly(dir, options.rocksdb_log);
  if (!stored_version.ok()) return stored_version.status();
  if (stored_version->has_value()) {
    if (auto s = CheckSchemaReadable(dir, **stored_version); !s.ok()) return s;
  }

  absl::StatusOr<std::unique_ptr<StoreState>> opened =
      OpenDatabase(dir, options);
  if (!opened.ok()) return opened.status();
  StoreState& state = **opened;
  // The log's end, cross-checked against the meta record.
  absl::StatusOr<LogEnd> end = ReadLogEnd(state, "reading the event log");
  if (!end.ok()) return end.status();
  absl::StatusOr<uint64_t> schema_version =
      SchemaVersionOnOpen(state, dir, *end);
  if (!schema_version.ok()) return schema_version.status();
  if (end->recorded != end->last_event) {
    return absl::DataLossError(absl::StrFormat(
        "data dir %s: meta last_position %d but the last event is %d", dir,
        end->recorded, end->last_event));
  }
  absl::StatusOr<std::string> secret = TokenSecret(state);
  if (!secret.ok()) return secret.status();
  state.token_secret = *std::move(secret);
  state.last_position.store(end->last_event, std::memory_order_release);

  std::unique_ptr<EventStore> store(new EventStore(*std::move(opened)));
  if (HasMerkleTree(*schema_version)) {
    if (auto s = state.LoadFrontier(end->last_event,
                                    StoresEveryMerkleNode(*schema_version));
        !s.ok()) {
      return s;
    }
  }
  if (auto s = MigrateSchema(*store, state, dir, *schema_version); !s.ok()) {
    return s;
  }
  const uint64_t projection_position =
      state.ReadMetaU64(keys::kProjectionPosition);
  if (projection_position != end->last_event) {
    if (!options.repair_projections_on_open) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "projections are at position %d but the log at %d; run factlogd "
          "--rebuild",
          projection_position, end->last_event));
    }
    absl::StatusOr<RebuildStats> rebuilt = store->RebuildProjections();
    if (!rebuilt.ok()) return rebuilt.status();
  }
  state.PlaceWalGuard();
  if (absl::Status s = state.LoadSources(); !s.ok()) return s;
  if (absl::Status s = WarmClaimCache(state); !s.ok()) return s;
  return store;
}

EventStore::EventStore(std::unique_ptr<StoreState> state)
    : state_(std::move(state)) {}

EventStore::~EventStore() {
  if (!state_->write_failed) {
    // Write the memtables out, so the next open has no WAL to replay (it
    // reads the log's end and meta before anything else, and a replay of
    // up to max_total_wal_size costs seconds). After a failed write the
    // WAL is the only durable copy and stays as it is.
    // A flush that fails (an I/O error during a rebuild or an Open's
    // repair, which do not go through Commit) leaves the WAL writer failed:
    // syncing it then aborts inside RocksDB (7.8 asserts that a sync
    // follows a good flush). Its WAL stays as it is, as after a failed
    // Commit.
    rocksdb::FlushOptions flush;
    flush.wait = true;
    flush.allow_write_stall = true;
    const rocksdb::Status flushed = state_->db->Flush(flush, state_->families);
    if (flushed.ok() && state_->options.sync) {
      state_->db->FlushWAL(/*sync=*/true).PermitUncheckedError();
    }
  }
  // ~StoreState frees the handles and closes the database.
}

uint64_t EventStore::LastPosition() const {
  return state_->last_position.load(std::memory_order_acquire);
}

const std::string& EventStore::token_secret() const {
  return state_->token_secret;
}

size_t EventStore::ClaimCacheBytes() const {
  return state_->claim_cache.charge();
}

merkle::Hash EventStore::RootWith(
    const std::vector<std::string>& event_bytes) const {
  merkle::Frontier frontier = state_->frontier;
  MerkleNodes ignored;
  for (const std::string& bytes : event_bytes) {
    frontier.Append(merkle::LeafHash(bytes), &ignored);
  }
  return frontier.Root();
}

absl::StatusOr<std::optional<std::string>> EventStore::ReplicaState() const {
  std::string value;
  rocksdb::Status s =
      state_->db->Get(rocksdb::ReadOptions(), state_->family(kMeta),
                      keys::kReplicaState, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (auto st = FromRocks(s, "reading replica_state"); !st.ok()) return st;
  return value;
}

absl::Status EventStore::Commit(const CommitBatch& batch, StoredBytes* stored) {
  StoreState& st = *state_;
  const uint64_t first = LastPosition() + 1;
  uint64_t next = first;
  rocksdb::WriteBatch wb;
  std::vector<std::string> event_bytes;
  event_bytes.reserve(batch.events.size());
  merkle::Frontier frontier = st.frontier;
  MerkleNodes nodes;
  // Written in key order, family by family, after the events (whose keys
  // come in order anyway).
  std::vector<KeyWrite> claim_events;
  claim_events.reserve(batch.events.size());
  std::vector<KeyWrite> index_writes[std::size(kAllClaimIndexes)];
  std::shared_ptr<domain::SourceRegistry> sources_after;  // when changed
  absl::flat_hash_set<std::string> sources_touched;
  bool policy_touched = false;
  for (const v1::Event& e : batch.events) {
    if (e.position() != next) {
      return absl::InternalError(absl::StrFormat(
          "commit: event position %d, expected %d", e.position(), next));
    }
    ++next;
    const std::string& bytes =
        event_bytes.emplace_back(merkle::CanonicalEventBytes(e));
    wb.Put(st.family(kEvents), keys::EventKey(e.position()), bytes);
    frontier.Append(merkle::LeafHash(bytes), &nodes);
    if (e.claim_id().empty()) {
      // A registry event (a source's or the desk policy's).
      if (!sources_after) {
        sources_after = std::make_shared<domain::SourceRegistry>(*st.Sources());
      }
      sources_after->Apply(e);
      if (!e.source_id().empty()) sources_touched.insert(e.source_id());
      policy_touched |= e.has_desk_policy_set();
      continue;
    }
    claim_events.push_back({keys::ClaimEventKey(e.claim_id(), e.version()),
                            keys::EncodeU64(e.position())});
  }
  PutInKeyOrder(&wb, st.family(kClaimEvents), &claim_events);
  if (sources_after) {
    PutSourceChanges(*sources_after, sources_touched, policy_touched, &wb,
                     st.family(kSources));
  }
  std::vector<std::string> claim_bytes;
  claim_bytes.reserve(batch.claims.size());
  for (const ClaimUpdate& u : batch.claims) {
    const std::string& bytes =
        claim_bytes.emplace_back(u.after->SerializeAsString());
    wb.Put(st.family(kClaims), u.after->claim_id(), bytes);
    for (size_t i = 0; i < std::size(kAllClaimIndexes); ++i) {
      AppendIndexChanges(kAllClaimIndexes[i], u.before, *u.after,
                         &index_writes[i]);
    }
  }
  for (size_t i = 0; i < std::size(kAllClaimIndexes); ++i) {
    PutInKeyOrder(&wb, st.index_family(kAllClaimIndexes[i]), &index_writes[i]);
  }
  std::string bytes;
  for (const auto& [request_id, record] : batch.requests) {
    record.SerializeToString(&bytes);
    wb.Put(st.family(kRequests), request_id, bytes);
  }
  if (batch.expected_root && frontier.Root() != *batch.expected_root) {
    return absl::DataLossError(absl::StrFormat(
        "commit: the log's Merkle root after position %d would be %s, the "
        "batch says %s: this log and the batch's have forked",
        next - 1, merkle::Hex(frontier.Root()),
        merkle::Hex(*batch.expected_root)));
  }
  if (batch.replica_state) {
    wb.Put(st.family(kMeta), keys::kReplicaState, *batch.replica_state);
  }
  st.PutMerkleNodes(&wb, nodes);
  MerkleTail tail = MerkleTail::Of(frontier);
  wb.Put(st.family(kMeta), keys::kMerkleTail, tail.Encode());
  const uint64_t last = next - 1;
  wb.Put(st.family(kMeta), keys::kLastPosition, keys::EncodeU64(last));
  wb.Put(st.family(kMeta), keys::kProjectionPosition, keys::EncodeU64(last));

  rocksdb::WriteOptions wo;
  wo.sync = st.options.sync;
  if (st.write_failed.load(std::memory_order_acquire)) {
    if (absl::Status s = ResumeWrites(st); !s.ok()) return s;
  }
  if (auto s = FromRocks(st.db->Write(wo, &wb), "commit"); !s.ok()) {
    // Nothing of the batch reached the memtables, so readers, the frontier
    // and last_position are as before. What reached the WAL is left behind
    // with that WAL by ResumeWrites; on a reopen instead, a torn record is
    // dropped and a whole one replayed whole.
    st.write_failed.store(true, std::memory_order_release);
    st.write_error = s;
    st.failed_wal = CurrentWalNumber(st);
    st.next_resume = absl::Now() + st.options.resume_interval;
    return s;
  }
  for (size_t i = 0; i < batch.claims.size(); ++i) {
    st.claim_cache.Put(batch.claims[i].after->claim_id(), claim_bytes[i]);
  }
  if (sources_after) st.SetSources(std::move(sources_after));
  st.frontier = std::move(frontier);
  {
    absl::MutexLock lock(&st.tail_mu);
    st.tail = std::move(tail);
  }
  st.last_position.store(last, std::memory_order_release);
  if (stored != nullptr) {
    stored->events = std::move(event_bytes);
    stored->claims = std::move(claim_bytes);
  }
  return absl::OkStatus();
}

}  // namespace factlog::storage
