#ifndef FACTLOG_STORAGE_EVENT_STORE_H_
#define FACTLOG_STORAGE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/merkle.h"
#include "domain/overdue.h"
#include "domain/sources.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/storage.pb.h"
#include "factlog/v1/views.pb.h"
#include "storage/claim_indexes.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace factlog::storage {

struct StoreState;

struct StoreOptions {
  // fsync every commit. Only tests and benchmarks that measure the
  // difference turn this off; acknowledged data is then not crash-safe.
  bool sync = true;
  size_t block_cache_bytes = 64 << 20;
  // Encoded claim views kept in memory in front of RocksDB for GetClaim
  // and GetClaimBytes (storage/claim_cache.h: resident memory grows by
  // 1.4 to 2.5 times this when it is full); 0 turns it off. Open fills it
  // with the claims in id order until it is nine tenths full.
  size_t claim_cache_bytes = 64 << 20;
  // Run a projection rebuild on open when the stored projections are behind
  // the log (an interrupted --rebuild). When false, Open fails instead.
  bool repair_projections_on_open = true;
  // Where RocksDB's own errors go, one message per call, from RocksDB's
  // threads (must be thread-safe). Empty: stderr, prefixed "rocksdb: ".
  std::function<void(absl::string_view message)> rocksdb_log;
  // Where RocksDB's warnings go: routine here ("File Deletions Disabled" on
  // every backup, an open refused for a lock the caller reports). Empty:
  // nowhere. Same threading as rocksdb_log.
  std::function<void(absl::string_view message)> rocksdb_routine_log;
  // After a failed write, how often a later Commit may try to resume
  // writing (see Commit).
  absl::Duration resume_interval = absl::Seconds(1);
  // The RocksDB environment; null for the default (the local file system).
  // Tests pass one that injects I/O errors. Must outlive the store.
  rocksdb::Env* env = nullptr;
};

// The projection of one claim touched by a commit: what its index entries
// were made of before the commit (null for a new claim; ClaimIndexInputs of
// the view as read) and its view after. `before` lets the store remove index
// entries that no longer hold. Both belong to the caller and need only
// outlive the Commit call.
struct ClaimUpdate {
  const ClaimIndexInputs* before = nullptr;
  const v1::ClaimView* after = nullptr;
};

// Everything one command batch writes, committed atomically.
struct CommitBatch {
  // Positions must be LastPosition()+1, +2, ... in order.
  std::vector<v1::Event> events;
  std::vector<ClaimUpdate> claims;
  std::vector<std::pair<std::string, v1::RequestRecord>> requests;
  // Replicated mode (docs/ARCHITECTURE.md, "Replicated mode"). When set,
  // the commit is refused with DATA_LOSS, storing nothing, unless the log's
  // Merkle root after the batch equals it: the root the cluster's record
  // of this batch was stamped with.
  std::optional<merkle::Hash> expected_root;
  // When set, stored under keys::kReplicaState in the same WriteBatch (which
  // record of the cluster's log the store has applied); ReplicaState()
  // reads it.
  std::optional<std::string> replica_state;
};

// What a commit stored, for callers that pass it on without encoding it
// again (the subscription hub, command responses).
struct StoredBytes {
  // Each event's bytes (merkle::CanonicalEventBytes), in batch order.
  std::vector<std::string> events;
  // Each ClaimUpdate's `after` view, encoded, in batch order.
  std::vector<std::string> claims;
};

struct VerifyReport {
  uint64_t events_replayed = 0;
  uint64_t claims_checked = 0;
  uint64_t sources_checked = 0;
  // Stored Merkle nodes and tail hashes compared with what the events hash to.
  uint64_t merkle_nodes_checked = 0;
  // One line per difference: "claim X: stored ... replayed ..." etc.
  std::vector<std::string> mismatches;
  bool ok() const { return mismatches.empty(); }
};

struct RebuildStats {
  uint64_t events_replayed = 0;
  uint64_t claims_written = 0;
  // Where the time went: clearing the old projections, replaying the log,
  // writing the sorted projection files, ingesting them.
  absl::Duration clear, replay, write, ingest;
};

// EventStore is the durable event log plus the projections derived from it,
// in one RocksDB database (column families as in storage/keys.h).
//
// Commit is atomic and, with StoreOptions::sync, durable when it returns OK:
// events, per-claim index, projections, secondary indexes, request records
// and last_position land in one WriteBatch, so projections never run ahead
// of or behind the log. Only one thread may call Commit at a time (the
// server's writer). Every other method is safe to call concurrently with
// Commit and with each other; reads see whole commits only.
//
// Errors: FAILED_PRECONDITION when the directory is locked by another
// process or holds an incompatible schema; DATA_LOSS when the stored data is
// inconsistent; UNAVAILABLE/INTERNAL for I/O errors, with RocksDB's message.
class EventStore {
 public:
  // Opens (creating if missing) the store in `dir`. A store of an older
  // schema is migrated first (storage/schema.h), each step logged at info
  // level (common/logging.h); one of a newer schema is refused untouched
  // (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(
      const std::string& dir, const StoreOptions& options = {});

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  ~EventStore();

  // Position of the last committed event; 0 when the log is empty.
  uint64_t LastPosition() const;

  // Appends `batch`. On error nothing of it is visible, LastPosition() is
  // unchanged, and UNAVAILABLE says why (with RocksDB's message, e.g. "No
  // space left on device"). Reads go on after a failed write.
  //
  // A failed write stops writes: later Commits are UNAVAILABLE until the
  // store has resumed. At most once per StoreOptions::resume_interval, and
  // only with at least 8 MiB free on the file system, a Commit asks RocksDB
  // to resume (it flushes every column family in one atomic step and moves
  // to a new WAL, so nothing of the failed batch can come back), checks
  // that it did move and that the log still ends at LastPosition(), and
  // then writes. So after a full disk, writes come back by themselves
  // about a second after space is freed. Writes stay stopped until the
  // store is reopened when resuming cannot be shown safe: an fsync that
  // failed with EIO (RocksDB refuses), or a failed WAL RocksDB would keep
  // (the write that failed had itself just flushed every memtable).
  //
  // When `stored` is set and the commit succeeds, it receives what was
  // stored of the events and the claims.
  absl::Status Commit(const CommitBatch& batch, StoredBytes* stored = nullptr);

  // The Merkle root the log would have with events of these bytes
  // (merkle::CanonicalEventBytes) appended. Only the thread that calls
  // Commit may call it.
  merkle::Hash RootWith(const std::vector<std::string>& event_bytes) const;

  // What the last commit stored as CommitBatch::replica_state; nullopt in
  // a store no replicated commit was ever applied to.
  absl::StatusOr<std::optional<std::string>> ReplicaState() const;

  // The current projection of `claim_id`, or nullopt when there is none.
  absl::StatusOr<std::optional<v1::ClaimView>> GetClaim(
      absl::string_view claim_id) const;
  // The same, as stored: an encoded ClaimView, not parsed (nor checked).
  absl::StatusOr<std::optional<std::string>> GetClaimBytes(
      absl::string_view claim_id) const;

  // The source registry as of the last commit (docs/ARCHITECTURE.md,
  // "Sources"): an immutable snapshot, cheap to take (one shared_ptr
  // copy), safe to read on any thread while commits go on. Commit derives
  // it from the registry events it stores (those with no claim_id), so the
  // CommitBatch carries no source projections.
  std::shared_ptr<const domain::SourceRegistry> Sources() const;

  // The record of an applied request, or nullopt.
  absl::StatusOr<std::optional<v1::RequestRecord>> GetRequest(
      absl::string_view request_id) const;

  // Calls `fn` for each event with position >= from_position, in order,
  // until it returns false or the snapshot taken at the call ends.
  absl::Status ReadEvents(
      uint64_t from_position,
      const std::function<bool(const v1::Event&)>& fn) const;

  // As ReadEvents, with each event's position and its stored bytes (the
  // deterministic serialization of the v1::Event) instead of the parsed
  // event: for callers that forward events without looking into them.
  absl::Status ReadEventBytes(
      uint64_t from_position,
      const std::function<bool(uint64_t position, absl::string_view bytes)>& fn)
      const;

  // Calls `fn` for the events of one claim with version >= from_version, in
  // version order, until it returns false.
  absl::Status ReadClaimEvents(
      absl::string_view claim_id, uint64_t from_version,
      const std::function<bool(const v1::Event&)>& fn) const;

  // Calls `fn` for the claims in claim_id order after `start_after` ("" =
  // from the first), until it returns false. Each claim is `fn`'s to keep.
  absl::Status ScanClaims(absl::string_view start_after,
                          const std::function<bool(v1::ClaimView)>& fn) const;

  // Calls `fn` with the ids of claims whose `index` field equals `value`,
  // in claim_id order after `start_after`, until it returns false. Not for
  // kOverdue (ScanOverdue).
  absl::Status ScanIndex(
      ClaimIndex index, absl::string_view value, absl::string_view start_after,
      const std::function<bool(absl::string_view claim_id)>& fn) const;

  // Calls `fn` with each distinct value of `index` after `start_after` and
  // the claim ids under it, until it returns false. Not for kOverdue.
  absl::Status ScanIndexValues(
      ClaimIndex index, absl::string_view start_after,
      const std::function<bool(absl::string_view value,
                               const std::vector<std::string>& claim_ids)>& fn)
      const;

  // One entry of the claimant index: a claim of the claimant, its subject
  // and the hashes of its text's content words (domain::ContentWordHashes).
  struct ClaimantEntry {
    absl::string_view claim_id;  // valid during the callback only
    absl::string_view subject;   // valid during the callback only
    std::vector<uint32_t> word_hashes;
  };
  // Calls `fn` with the claimant index entries of `claimant`, in claim_id
  // order, until it returns false. DATA_LOSS on a malformed entry.
  absl::Status ScanClaimant(
      absl::string_view claimant,
      const std::function<bool(const ClaimantEntry&)>& fn) const;

  // One entry of the overdue index: a claim whose overdue episode begins (or
  // began) at overdue_at.
  struct OverdueEntry {
    absl::Time overdue_at;
    absl::Time due_at;
    absl::string_view claim_id;  // valid during the callback only
  };
  // Calls `fn` with the overdue index entries after `after` (in the sense of
  // domain::OverdueCursor: an empty after.claim_id skips every entry at
  // after.at) whose overdue_at is at or before `until`, in (overdue_at,
  // claim_id) order, until it returns false. Reads one snapshot taken at
  // the call: every commit that returned before the call is in it.
  absl::Status ScanOverdue(
      const domain::OverdueCursor& after, absl::Time until,
      const std::function<bool(const OverdueEntry&)>& fn) const;

  // Drops every projection and index and replays the whole log. Must not run
  // concurrently with Commit.
  absl::StatusOr<RebuildStats> RebuildProjections();

  // Replays the log in memory and compares with the stored projections and
  // indexes, and checks the Merkle tree: every stored subtree of the lowest
  // stored level and the stored tail against the hashes of their events'
  // stored bytes, every stored parent against its children. Safe to run
  // concurrently with Commit only when quiescent; mismatches are reported,
  // never repaired.
  absl::StatusOr<VerifyReport> Verify() const;

  // ---- Tamper-evident log (domain/merkle.h) ------------------------------
  // Every commit adds the stored tree nodes its events complete and the
  // tree's new tail in the same WriteBatch, so the tree always covers
  // exactly the log.
  // Tree sizes are positions: the tree of size n covers events 1..n.

  // The root of the tree of the first `size` events. OUT_OF_RANGE when
  // size > LastPosition().
  absl::StatusOr<merkle::Hash> RootAt(uint64_t size) const;

  // The audit path of the event at `position` in the tree of `tree_size`
  // events. OUT_OF_RANGE unless 1 <= position <= tree_size <=
  // LastPosition().
  absl::StatusOr<std::vector<merkle::Hash>> InclusionProof(
      uint64_t position, uint64_t tree_size) const;

  // The proof that the tree of `old_size` events is a prefix of the tree
  // of `new_size`. OUT_OF_RANGE unless old_size <= new_size <=
  // LastPosition().
  absl::StatusOr<std::vector<merkle::Hash>> ConsistencyProof(
      uint64_t old_size, uint64_t new_size) const;

  // 32 random bytes made when the store was created and kept in `meta`:
  // the key the server signs opaque tokens (page tokens) with, so they stay
  // valid across restarts and cannot be forged.
  const std::string& token_secret() const;

  // Makes every commit that returned before this call durable: fsyncs
  // RocksDB's write-ahead log. For a store opened with StoreOptions::sync
  // off (the replicated mode), whose commits are durable elsewhere and
  // which says how far it is durable here by calling this first
  // (docs/ARCHITECTURE.md, "Replicated mode"). Thread-safe, concurrent with
  // commits; blocks for an fsync. Errors: RocksDB's, as INTERNAL or
  // UNAVAILABLE.
  absl::Status SyncWal();

  // Writes a consistent, openable copy of the whole store (log,
  // projections, request records, secret) to `dir`, which must not exist,
  // while commits continue (a RocksDB checkpoint: files are hard-linked
  // where the filesystem allows). Returns the last position it holds.
  // ALREADY_EXISTS when `dir` exists.
  absl::StatusOr<uint64_t> Backup(const std::string& dir) const;

  // Makes `data_dir` (absent or empty) a copy of the backup in `backup_dir`,
  // then opens it and verifies its projections against its log. Errors:
  // FAILED_PRECONDITION when data_dir is not empty, NOT_FOUND when
  // backup_dir is not a backup, DATA_LOSS when the copy does not verify.
  static absl::StatusOr<VerifyReport> Restore(const std::string& backup_dir,
                                              const std::string& data_dir);

  // Bytes the claim cache holds (ClaimCache::charge), for monitoring.
  size_t ClaimCacheBytes() const;

  // Approximate bytes on disk (SST files plus WAL).
  uint64_t ApproximateDiskBytes() const;

  // RocksDB's own figures for monitoring, read from memory (no I/O), summed
  // over the column families where they are per family:
  //   pending_compaction_bytes  estimate of bytes compaction must rewrite
  //   sst_bytes, live_sst_bytes all SST files / those of the current version
  //   memtable_bytes            all memtables
  //   running_compactions, running_flushes
  //   delayed_write_rate        bytes/s writes are slowed to; 0 when not
  //   write_stopped             1 while writes are stopped
  //   write_stops, write_slowdowns  stall events since open
  //   write_stall_micros        time writes spent stalled since open
  //   wal_syncs                 WAL fsyncs since open
  // and of the claim cache in front of the `claims` family:
  //   claim_cache_bytes, claim_cache_capacity_bytes  held now / at most
  //   claim_cache_hits, claim_cache_misses  claim reads since open
  // A figure RocksDB does not answer is left out. Safe to call concurrently
  // with everything.
  std::map<std::string, uint64_t> Properties() const;

 private:
  explicit EventStore(std::unique_ptr<StoreState> state);

  // Everything the store holds (storage/event_store_state.h, private to
  // storage/); the files that implement the store share it.
  const std::unique_ptr<StoreState> state_;
};

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_EVENT_STORE_H_
