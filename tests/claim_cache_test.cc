// The claim view cache alone, and under an EventStore whose writer commits
// while readers read: a read never answers older than the last commit that
// returned before it began.
#include "storage/claim_cache.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/temp_dir.h"

namespace factlog {
namespace {

using storage::ClaimCache;

// What one entry of `id` and `bytes` counts against the capacity, measured
// through the cache itself.
size_t ChargeOf(const std::string& id, const std::string& bytes) {
  ClaimCache cache(1 << 20);
  cache.Put(id, bytes);
  return cache.charge();
}

TEST(ClaimCacheTest, MissThenFillThenHit) {
  ClaimCache cache(1 << 20);
  std::string bytes;
  uint64_t ticket = 0;
  EXPECT_FALSE(cache.Get("a", &bytes, &ticket));
  cache.Fill("a", "view-1", ticket);
  ASSERT_TRUE(cache.Get("a", &bytes, &ticket));
  EXPECT_EQ(bytes, "view-1");
  EXPECT_FALSE(cache.Get("b", &bytes, &ticket));
  // What /metrics reports: two misses, one hit.
  EXPECT_EQ(cache.counts().hits, 1u);
  EXPECT_EQ(cache.counts().misses, 2u);
}

TEST(ClaimCacheTest, PutReplacesWhatAFillLeft) {
  ClaimCache cache(1 << 20);
  std::string bytes;
  uint64_t ticket = 0;
  EXPECT_FALSE(cache.Get("a", &bytes, &ticket));
  cache.Fill("a", "view-1", ticket);
  cache.Put("a", "view-2");
  ASSERT_TRUE(cache.Get("a", &bytes, &ticket));
  EXPECT_EQ(bytes, "view-2");
}

TEST(ClaimCacheTest, FillAfterAPutOrClearIsDropped) {
  ClaimCache cache(1 << 20);
  std::string bytes;
  uint64_t ticket = 0;
  // A reader misses and reads the old view; the writer commits, Puts the
  // new one, and it is evicted (here: cleared); the reader's Fill comes
  // last and must not bring the old view back.
  EXPECT_FALSE(cache.Get("a", &bytes, &ticket));
  cache.Put("a", "view-2");
  cache.Clear();
  cache.Fill("a", "view-1", ticket);
  EXPECT_FALSE(cache.Get("a", &bytes, &ticket));

  // A new miss takes the shard's current ticket, and its Fill is kept.
  cache.Fill("a", "view-2", ticket);
  ASSERT_TRUE(cache.Get("a", &bytes, &ticket));
  EXPECT_EQ(bytes, "view-2");
}

TEST(ClaimCacheTest, AFillNeverReplacesACachedView) {
  ClaimCache cache(1 << 20);
  std::string bytes;
  uint64_t ticket = 0;
  EXPECT_FALSE(cache.Get("a", &bytes, &ticket));
  const uint64_t first = ticket;
  cache.Fill("a", "view-1", first);
  cache.Fill("a", "view-0", first);
  ASSERT_TRUE(cache.Get("a", &bytes, &ticket));
  EXPECT_EQ(bytes, "view-1");
}

TEST(ClaimCacheTest, ReadEntriesOutliveUnreadOnesAndChargeStaysWithin) {
  // Two claims per shard's share at most, so Puts into a full shard evict:
  // check that the charge never passes the capacity and that a claim read
  // between Puts outlives every unread one.
  const std::string view(200, 'v');
  const size_t one = ChargeOf("claim-00", view);
  const size_t capacity = 64 * (2 * one + one / 2);  // two per shard
  ClaimCache cache(capacity);
  for (int i = 0; i < 1000; ++i) {
    cache.Put(absl::StrCat("claim-", i), view);
    ASSERT_LE(cache.charge(), capacity);
  }
  EXPECT_GT(cache.charge(), capacity / 2);
  std::string bytes;
  uint64_t ticket = 0;
  int kept = 0;
  for (int i = 0; i < 1000; ++i) {
    kept += cache.Get(absl::StrCat("claim-", i), &bytes, &ticket);
  }
  EXPECT_LE(kept, 128);
  EXPECT_GT(kept, 32);
  // A claim read after every Put is never the one evicted.
  ASSERT_TRUE(cache.Get("claim-999", &bytes, &ticket));
  for (int i = 1000; i < 3000; ++i) {
    cache.Put(absl::StrCat("claim-", i), view);
    ASSERT_TRUE(cache.Get("claim-999", &bytes, &ticket)) << i;
  }
}

TEST(ClaimCacheTest, AScanFillsOnlyWhatNoPutChangedSinceItsTickets) {
  ClaimCache cache(1 << 20);
  const std::vector<uint64_t> tickets = cache.TakeTickets();
  // The scan read "a" and "b" at view-1; "a" is committed again before
  // the scan's fills arrive.
  cache.Put("a", "view-2");
  EXPECT_TRUE(cache.FillFromScan(tickets, "a", "view-1"));
  EXPECT_TRUE(cache.FillFromScan(tickets, "b", "view-1"));
  std::string bytes;
  uint64_t ticket = 0;
  ASSERT_TRUE(cache.Get("a", &bytes, &ticket));
  EXPECT_EQ(bytes, "view-2");
  // "b" is kept unless it shares a shard with "a" (then dropped: never
  // wrong, only missed).
  if (cache.Get("b", &bytes, &ticket)) {
    EXPECT_EQ(bytes, "view-1");
  }
}

TEST(ClaimCacheTest, AScanStopsAtAFullShardWithoutEvicting) {
  const std::string view(200, 'v');
  ClaimCache cache(64 * 1024);  // 1 KiB a shard: a few views each
  const std::vector<uint64_t> tickets = cache.TakeTickets();
  std::vector<std::string> kept;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = absl::StrCat("claim-", i);
    if (cache.FillFromScan(tickets, id, view)) kept.push_back(id);
    ASSERT_LE(cache.charge(), cache.capacity());
  }
  EXPECT_LT(kept.size(), 1000u);
  EXPECT_GT(kept.size(), 64u);
  // Nothing was evicted to make room: every view kept is still there.
  std::string bytes;
  uint64_t ticket = 0;
  for (const std::string& id : kept) {
    EXPECT_TRUE(cache.Get(id, &bytes, &ticket)) << id;
  }
}

TEST(ClaimCacheTest, OpenWarmsTheCacheFromTheStoredViews) {
  testing::TempDir dir;
  storage::StoreOptions options;
  options.sync = false;
  size_t stored = 0;
  {
    auto opened = storage::EventStore::Open(dir.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    for (int c = 0; c < 500; ++c) {
      v1::ClaimView view;
      view.set_claim_id(absl::StrCat("claim-", c));
      view.set_text(std::string(300, 't'));
      view.set_version(1);
      storage::CommitBatch batch;
      batch.claims.push_back({nullptr, &view});
      ASSERT_TRUE((*opened)->Commit(batch).ok());
    }
    stored = (*opened)->ClaimCacheBytes();
    ASSERT_GT(stored, 500u * 300);
  }
  {
    auto reopened = storage::EventStore::Open(dir.path(), options);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ((*reopened)->ClaimCacheBytes(), stored);
  }
  {  // A small cache stops at nine tenths, give or take a view per shard.
    options.claim_cache_bytes = 64 * 1024;
    auto small = storage::EventStore::Open(dir.path(), options);
    ASSERT_TRUE(small.ok()) << small.status();
    EXPECT_LE((*small)->ClaimCacheBytes(), options.claim_cache_bytes);
    EXPECT_GT((*small)->ClaimCacheBytes(), options.claim_cache_bytes / 2);
  }
  {
    options.claim_cache_bytes = 0;
    auto off = storage::EventStore::Open(dir.path(), options);
    ASSERT_TRUE(off.ok()) << off.status();
    EXPECT_EQ((*off)->ClaimCacheBytes(), 0u);
  }
}

TEST(ClaimCacheTest, TooLargeOrZeroCapacityKeepsNothing) {
  ClaimCache off(0);
  std::string bytes;
  uint64_t ticket = 0;
  off.Put("a", "view");
  EXPECT_FALSE(off.Get("a", &bytes, &ticket));
  off.Fill("a", "view", ticket);
  EXPECT_FALSE(off.Get("a", &bytes, &ticket));
  EXPECT_EQ(off.charge(), 0u);

  // A view larger than a shard's share is not kept, and its Put removes the
  // older view it replaces.
  ClaimCache small(64 * 1024);
  small.Put("a", "small view");
  small.Put("a", std::string(4096, 'x'));
  EXPECT_FALSE(small.Get("a", &bytes, &ticket));
  EXPECT_EQ(small.charge(), 0u);
}

// The writer commits ever newer versions of the claims while readers read
// them; the cache is small enough that views are evicted and filled again
// all the time. Every read must be at least the version whose commit
// returned before the read began.
TEST(ClaimCacheTest, StoreReadsAreNeverOlderThanTheLastReturnedCommit) {
  testing::TempDir dir;
  storage::StoreOptions options;
  options.sync = false;
  options.claim_cache_bytes = 64 * 300;  // one view per shard
  auto opened = storage::EventStore::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  storage::EventStore& store = **opened;

  constexpr int kClaims = 192;  // three per shard, evicting each other
  constexpr uint64_t kCommits = 20000;
  std::atomic<uint64_t> committed[kClaims] = {};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, stale{0}, missing{0};

  auto read = [&](int seed) {
    for (uint64_t i = seed; !done.load(); ++i) {
      const int c = static_cast<int>((i * 7919) % kClaims);
      const uint64_t before = committed[c].load(std::memory_order_acquire);
      if (before == 0) continue;
      absl::StatusOr<std::optional<v1::ClaimView>> view =
          store.GetClaim(absl::StrCat("claim-", c));
      ++reads;
      if (!view.ok() || !view->has_value()) {
        if (missing++ == 0) {
          ADD_FAILURE() << "claim-" << c << " at " << before << ": "
                        << (view.ok() ? "not found" : view.status().ToString());
        }
      } else if ((*view)->version() < before) {
        ++stale;
      }
    }
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) readers.emplace_back(read, r);

  v1::ClaimView views[kClaims];
  for (uint64_t k = 1; k <= kCommits; ++k) {
    const int c = k % kClaims;
    const bool first = views[c].claim_id().empty();
    const storage::ClaimIndexInputs before(views[c]);
    v1::ClaimView& after = views[c];
    after.set_claim_id(absl::StrCat("claim-", c));
    after.set_text(std::string(100 + k % 50, 't'));
    after.set_version(k);
    storage::CommitBatch batch;
    batch.claims.push_back({first ? nullptr : &before, &after});
    ASSERT_TRUE(store.Commit(batch).ok());
    committed[c].store(k, std::memory_order_release);
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_GT(reads.load(), 1000u);
  EXPECT_EQ(missing.load(), 0u);
  EXPECT_EQ(stale.load(), 0u);
}

}  // namespace
}  // namespace factlog
