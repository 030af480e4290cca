#ifndef FACTLOG_STORAGE_EVENT_STORE_STATE_H_
#define FACTLOG_STORAGE_EVENT_STORE_STATE_H_

// Private to storage/: what an EventStore holds, and the helpers the files
// that implement it share (event_store.cc: open, commit and write
// resumption; event_store_reads.cc; event_store_rebuild.cc;
// event_store_verify.cc; event_store_merkle.cc; event_store_admin.cc:
// backup, restore and monitoring; schema.cc: migrations).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/merkle.h"
#include "domain/sources.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/claim_cache.h"
#include "storage/event_store.h"
#include "storage/merkle_tail.h"
#include "storage/rocksdb_options.h"

namespace factlog::storage {

using MerkleNodes = std::vector<std::pair<merkle::NodeId, merkle::Hash>>;

struct StoreState {
  // Takes the open database and its column family handles (Family order);
  // the destructor frees the handles and closes the database.
  StoreState(std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> families,
             const StoreOptions& options,
             std::shared_ptr<WriteErrorListener> listener);
  ~StoreState();
  StoreState(const StoreState&) = delete;
  StoreState& operator=(const StoreState&) = delete;

  rocksdb::ColumnFamilyHandle* family(Family f) const { return families[f]; }
  rocksdb::ColumnFamilyHandle* index_family(ClaimIndex index) const {
    return families[FamilyOf(index)];
  }

  // ---- Reads (event_store_reads.cc) --------------------------------------
  // EventStore::ReadEventBytes for a scan of the whole log (rebuild, verify,
  // building the Merkle tree): its blocks, read once, are not put in the
  // block cache, where they would only evict the blocks readers use.
  absl::Status ScanLogBytes(
      const std::function<bool(uint64_t position, absl::string_view bytes)>& fn)
      const;
  // Reads `key` of `f` into `value`; false when there is none. `what` names
  // it in errors.
  absl::StatusOr<bool> ReadValue(Family f, absl::string_view key,
                                 absl::string_view what,
                                 rocksdb::PinnableSlice* value) const;

  // ---- Merkle tree (event_store_merkle.cc) -------------------------------
  // Every node of the tree: stored ones read, lower ones hashed from their
  // events (keys::kLowestStoredMerkleLevel).
  merkle::NodeReader MerkleReader() const;
  // A stored node; DATA_LOSS when it is missing or malformed.
  absl::StatusOr<merkle::Hash> StoredMerkleNode(merkle::NodeId id) const;
  // A subtree below the stored levels, hashed from its events' bytes.
  absl::StatusOr<merkle::Hash> SubtreeFromEvents(merkle::NodeId id) const;
  // Open: loads frontier_ and tail_ for the log's `last_position` events.
  // `every_node_stored`: the store is of schema 2 to 4, whose stored leaves
  // (not the events) are the ones to trust.
  absl::Status LoadFrontier(uint64_t last_position, bool every_node_stored);
  // Adds to `wb` the puts of those `nodes` that are stored (keys.h).
  void PutMerkleNodes(rocksdb::WriteBatch* wb, const MerkleNodes& nodes) const;

  // ---- Meta and writes (event_store.cc) ----------------------------------
  // Puts keys::kWalGuard in the default column family's memtable, without
  // the WAL. Best effort.
  void PlaceWalGuard() const;
  // The number under `key` in meta; 0 when there is none or it cannot be
  // read.
  uint64_t ReadMetaU64(absl::string_view key) const;
  // A sync write of `value` under `key` in meta; `what` names it in errors.
  absl::Status PutMeta(absl::string_view key, absl::string_view value,
                       absl::string_view what) const;

  // ---- The source registry (source_projection.h) ------------------------
  // The registry as last committed; a snapshot no commit changes.
  std::shared_ptr<const domain::SourceRegistry> Sources() const {
    absl::MutexLock lock(&sources_mu);
    return sources;
  }
  void SetSources(std::shared_ptr<const domain::SourceRegistry> next) {
    absl::MutexLock lock(&sources_mu);
    sources = std::move(next);
  }
  // Open, rebuild: the registry as the sources family holds it.
  absl::Status LoadSources();

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // in Family order
  const StoreOptions options;
  std::shared_ptr<WriteErrorListener> listener;
  std::atomic<uint64_t> last_position{0};
  std::atomic<bool> write_failed{false};
  std::string token_secret;
  // Commit puts every view it stores; GetClaimBytes reads and fills.
  mutable ClaimCache claim_cache;
  // The tree's right edge; only Open and Commit (the one writer) use it.
  merkle::Frontier frontier;
  // Its tail as last committed, for MerkleReader.
  mutable absl::Mutex tail_mu;
  MerkleTail tail ABSL_GUARDED_BY(tail_mu);
  // Why writes stopped, and when Commit may next try to resume; only
  // Commit uses them.
  absl::Status write_error;
  absl::Time next_resume = absl::InfinitePast();
  uint64_t failed_wal = 0;
  bool resumable = true;
  mutable absl::Mutex sources_mu;
  std::shared_ptr<const domain::SourceRegistry> sources ABSL_GUARDED_BY(
      sources_mu) = std::make_shared<const domain::SourceRegistry>();
};

// Where the log ends: the position of its last event (0 when it is empty)
// and what meta's last_position says (0 when it says nothing).
struct LogEnd {
  uint64_t last_event = 0;
  uint64_t recorded = 0;
};
// `context` names the read in errors.
absl::StatusOr<LogEnd> ReadLogEnd(const StoreState& state,
                                  absl::string_view context);

// Parses stored bytes; DATA_LOSS naming `what` when they do not parse.
template <typename Message>
absl::Status Parse(absl::string_view bytes, Message* out,
                   absl::string_view what) {
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("cannot parse stored ", what));
  }
  return absl::OkStatus();
}

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_EVENT_STORE_STATE_H_
