#ifndef FACTLOG_STORAGE_CLAIM_CACHE_H_
#define FACTLOG_STORAGE_CLAIM_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace factlog::storage {

// A bounded cache of encoded claim views by claim id, in front of the
// `claims` column family, so that a read of a hot claim skips RocksDB
// (memtables, version, block cache, block search: ~12k instructions).
//
// It never answers older than the store. The store's one writer Puts every
// view it commits, after the commit and before the commit returns; readers
// Fill what they read on a miss, with the Ticket they took before reading.
// Every Put (and Clear) moves its shard's ticket on, and a Fill whose ticket
// (from the Get that missed) is no longer current is dropped: a reader that
// read a view before a commit cannot put it back after the commit's Put.
//
// When a shard is over its share of the capacity, the entry at the back
// (put or filled longest ago) goes, unless it was read since it was last
// at the front: then it goes back to the front instead, once, and the next
// is looked at ("second chance": close to least recently used, but a hit
// writes nothing beyond its own entry). A new entry counts as read.
// Thread-safe.
class ClaimCache {
 public:
  // At most about `capacity_bytes` of ids, views and bookkeeping; 0 turns
  // the cache off (every Get misses, nothing is kept). The process's
  // resident memory grows by more: glibc keeps what evicted entries freed
  // in the arenas of the threads that made them. Measured with ~57 MB held
  // (100,000 views of ~450 bytes, bench get@32): +80 MiB RSS when Open
  // filled it, +150 MiB when reads filled it (+110 MiB with one malloc
  // arena).
  explicit ClaimCache(size_t capacity_bytes);
  ~ClaimCache();
  ClaimCache(const ClaimCache&) = delete;
  ClaimCache& operator=(const ClaimCache&) = delete;

  // On a hit, sets `*bytes` to the cached view and returns true. On a
  // miss, sets `*ticket` for a Fill with what the caller then reads from
  // the store.
  bool Get(absl::string_view claim_id, std::string* bytes,
           uint64_t* ticket) const;
  // Keeps `bytes`, read from the store after a Get of `claim_id` missed
  // with `ticket`, unless a Put or Clear touched the shard since (or the
  // claim is cached by now).
  void Fill(absl::string_view claim_id, absl::string_view bytes,
            uint64_t ticket);

  // For filling from a scan of the store (EventStore::Open warms the
  // cache): every shard's ticket, taken before the scan's snapshot.
  std::vector<uint64_t> TakeTickets() const;
  // Keeps `bytes`, read by a scan that began after TakeTickets returned
  // `tickets`, unless the claim's shard saw a Put or Clear since or holds
  // it already. Evicts nothing: returns false, keeping nothing, when the
  // shard is full.
  bool FillFromScan(const std::vector<uint64_t>& tickets,
                    absl::string_view claim_id, absl::string_view bytes);

  // The writer: `bytes` is the view of `claim_id` just committed. Always
  // replaces (or, when too large to keep, removes) the cached view.
  void Put(absl::string_view claim_id, absl::string_view bytes);

  // Forgets everything and drops every Fill in flight (after the
  // projections were rebuilt under the cache).
  void Clear();

  // Bytes held now, as counted against the capacity, and that capacity.
  size_t charge() const;
  size_t capacity() const { return capacity_; }

  // Gets that found their claim and that did not, since the cache was made.
  struct Counts {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Counts counts() const;

 private:
  class Shard;
  static constexpr size_t kShards = 64;
  size_t ShardOf(absl::string_view claim_id) const;

  const size_t capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_CLAIM_CACHE_H_
