#include "storage/claim_cache.h"

#include <functional>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace factlog::storage {
namespace {

// What an entry costs beyond its id and view: the map's node and slot,
// two string headers and the list links.
constexpr size_t kEntryOverhead = 112;

}  // namespace

class ClaimCache::Shard {
 public:
  void set_capacity(size_t capacity) { capacity_ = capacity; }

  bool Get(absl::string_view claim_id, std::string* bytes, uint64_t* ticket) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(claim_id);
    if (it == entries_.end()) {
      *ticket = ticket_;
      ++misses_;
      return false;
    }
    ++hits_;
    Entry& entry = it->second;
    bytes->assign(entry.bytes);
    // Marked rather than moved to the front: a move writes to the entries
    // on either side too, cold cache lines of a large cache.
    entry.referenced = true;
    return true;
  }

  // Returns false when `room_only` and there is no room without evicting.
  bool Fill(absl::string_view claim_id, absl::string_view bytes,
            uint64_t ticket, bool room_only) {
    absl::MutexLock lock(&mu_);
    if (ticket != ticket_ || entries_.contains(claim_id)) return true;
    if (room_only && charge_ + ChargeOf(claim_id, bytes) > capacity_) {
      return false;
    }
    Insert(claim_id, bytes);
    return true;
  }

  uint64_t ticket() const {
    absl::MutexLock lock(&mu_);
    return ticket_;
  }

  void Put(absl::string_view claim_id, absl::string_view bytes) {
    absl::MutexLock lock(&mu_);
    ++ticket_;
    if (auto it = entries_.find(claim_id); it != entries_.end()) {
      Erase(it);
    }
    Insert(claim_id, bytes);
  }

  void Clear() {
    absl::MutexLock lock(&mu_);
    ++ticket_;
    entries_.clear();
    head_ = tail_ = nullptr;
    charge_ = 0;
  }

  size_t charge() const {
    absl::MutexLock lock(&mu_);
    return charge_;
  }

  void AddCounts(Counts* counts) const {
    absl::MutexLock lock(&mu_);
    counts->hits += hits_;
    counts->misses += misses_;
  }

 private:
  struct Entry {
    std::string bytes;
    size_t charge = 0;
    bool referenced = false;          // read since it was last at the front
    const std::string* id = nullptr;  // the map's key
    Entry* newer = nullptr;
    Entry* older = nullptr;
  };
  using Map = absl::node_hash_map<std::string, Entry>;

  static size_t ChargeOf(absl::string_view claim_id, absl::string_view bytes) {
    return claim_id.size() + bytes.size() + kEntryOverhead;
  }

  // Inserts at the front, then evicts from the back down to the capacity.
  // A view larger than the whole shard is not kept.
  void Insert(absl::string_view claim_id, absl::string_view bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const size_t charge = ChargeOf(claim_id, bytes);
    if (charge > capacity_) return;
    auto [it, inserted] = entries_.try_emplace(claim_id);
    Entry& entry = it->second;
    entry.bytes.assign(bytes.data(), bytes.size());
    entry.charge = charge;
    // New entries count as read: with every other entry of the shard read
    // since, the eviction that makes room must not pick the new one.
    entry.referenced = true;
    entry.id = &it->first;
    PushFront(&entry);
    charge_ += charge;
    while (charge_ > capacity_) EvictOne();
  }

  // Second chance: an entry read since it was last at the front goes back
  // to the front instead, once.
  void EvictOne() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Entry* last = tail_;
    while (last->referenced) {
      last->referenced = false;
      Unlink(last);
      PushFront(last);
      last = tail_;
    }
    Erase(entries_.find(*last->id));
  }

  void Erase(Map::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Unlink(&it->second);
    charge_ -= it->second.charge;
    entries_.erase(it);
  }

  void PushFront(Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    entry->older = head_;
    entry->newer = nullptr;
    if (head_ != nullptr) head_->newer = entry;
    head_ = entry;
    if (tail_ == nullptr) tail_ = entry;
  }

  void Unlink(Entry* entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    (entry->newer != nullptr ? entry->newer->older : head_) = entry->older;
    (entry->older != nullptr ? entry->older->newer : tail_) = entry->newer;
  }

  mutable absl::Mutex mu_;
  size_t capacity_ = 0;
  uint64_t ticket_ ABSL_GUARDED_BY(mu_) = 0;
  Map entries_ ABSL_GUARDED_BY(mu_);
  // Entries by when they were put, filled or given a second chance.
  Entry* head_ ABSL_GUARDED_BY(mu_) = nullptr;  // newest
  Entry* tail_ ABSL_GUARDED_BY(mu_) = nullptr;  // next to evict
  size_t charge_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

ClaimCache::ClaimCache(size_t capacity_bytes)
    : capacity_(capacity_bytes), shards_(std::make_unique<Shard[]>(kShards)) {
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].set_capacity(capacity_bytes / kShards);
  }
}

ClaimCache::~ClaimCache() = default;

size_t ClaimCache::ShardOf(absl::string_view claim_id) const {
  // Not absl's hash, which the shard's map uses: keys that share a shard
  // would share its low bits there too.
  const size_t hash = std::hash<std::string_view>()(
      std::string_view(claim_id.data(), claim_id.size()));
  return hash % kShards;
}

bool ClaimCache::Get(absl::string_view claim_id, std::string* bytes,
                     uint64_t* ticket) const {
  return shards_[ShardOf(claim_id)].Get(claim_id, bytes, ticket);
}

void ClaimCache::Fill(absl::string_view claim_id, absl::string_view bytes,
                      uint64_t ticket) {
  shards_[ShardOf(claim_id)].Fill(claim_id, bytes, ticket,
                                  /*room_only=*/false);
}

std::vector<uint64_t> ClaimCache::TakeTickets() const {
  std::vector<uint64_t> tickets(kShards);
  for (size_t i = 0; i < kShards; ++i) tickets[i] = shards_[i].ticket();
  return tickets;
}

bool ClaimCache::FillFromScan(const std::vector<uint64_t>& tickets,
                              absl::string_view claim_id,
                              absl::string_view bytes) {
  const size_t shard = ShardOf(claim_id);
  return shards_[shard].Fill(claim_id, bytes, tickets[shard],
                             /*room_only=*/true);
}

void ClaimCache::Put(absl::string_view claim_id, absl::string_view bytes) {
  shards_[ShardOf(claim_id)].Put(claim_id, bytes);
}

void ClaimCache::Clear() {
  for (size_t i = 0; i < kShards; ++i) shards_[i].Clear();
}

size_t ClaimCache::charge() const {
  size_t total = 0;
  for (size_t i = 0; i < kShards; ++i) total += shards_[i].charge();
  return total;
}

ClaimCache::Counts ClaimCache::counts() const {
  Counts total;
  for (size_t i = 0; i < kShards; ++i) shards_[i].AddCounts(&total);
  return total;
}

}  // namespace factlog::storage
