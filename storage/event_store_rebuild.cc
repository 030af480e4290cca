// EventStore::RebuildProjections: the projections and indexes made anew
// from the log, replayed on several threads (storage/replay.h) and written
// as sorted files that are ingested whole (storage/bulk_load.h).

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "storage/bulk_load.h"
#include "storage/claim_indexes.h"
#include "storage/event_store.h"
#include "storage/event_store_state.h"
#include "storage/keys.h"
#include "storage/replay.h"
#include "storage/source_projection.h"

namespace factlog::storage {
namespace {

using rocksdb::ColumnFamilyHandle;

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

// The claims file, from claims sorted by claim_id.
absl::Status WriteClaimsFile(const StoreState& state,
                             const std::vector<const v1::ClaimView*>& sorted,
                             BulkLoad& out) {
  absl::StatusOr<BulkLoad::File*> claims = out.AddFile(state.family(kClaims));
  if (!claims.ok()) return claims.status();
  std::string bytes;
  for (const v1::ClaimView* view : sorted) {
    view->SerializeToString(&bytes);
    if (auto s = (*claims)->Put(view->claim_id(), bytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// The per-claim event index's file, from claims sorted by claim_id.
absl::Status WriteClaimEventsFile(
    const StoreState& state, const std::vector<const ReplayedClaim*>& sorted,
    BulkLoad& out) {
  absl::StatusOr<BulkLoad::File*> file =
      out.AddFile(state.family(kClaimEvents));
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

// Drops the per-claim event index, the projections and the secondary
// indexes and creates them again, empty, with the same options. Their old
// files are deleted whole, and the rebuilt files are ingested into empty
// families, so nothing is left to compact.
absl::Status RecreateProjectionFamilies(StoreState& state) {
  std::vector<Family> projections = {kClaimEvents, kClaims, kSources};
  for (ClaimIndex index : kAllClaimIndexes)
    projections.push_back(FamilyOf(index));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<ColumnFamilyHandle*> dropped;
  for (Family family : projections) {
    rocksdb::ColumnFamilyDescriptor descriptor;
    if (auto s = FromRocks(state.family(family)->GetDescriptor(&descriptor),
                           "rebuild: reading a family's options");
        !s.ok()) {
      return s;
    }
    descriptors.push_back(std::move(descriptor));
    dropped.push_back(state.family(family));
  }
  if (auto s = FromRocks(state.db->DropColumnFamilies(dropped),
                         "rebuild: dropping the projections");
      !s.ok()) {
    return s;
  }
  // From here until the families exist again, a crash leaves them missing;
  // Open creates missing families, and the stale mark has it rebuild them.
  std::vector<ColumnFamilyHandle*> created;
  if (auto s = FromRocks(state.db->CreateColumnFamilies(descriptors, &created),
                         "rebuild: recreating the projections");
      !s.ok()) {
    // The dropped handles stay valid objects for the destructor to free.
    for (ColumnFamilyHandle* h : created) {
      state.db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    return s;
  }
  for (size_t i = 0; i < created.size(); ++i) {
    state.db->DestroyColumnFamilyHandle(dropped[i]).PermitUncheckedError();
    state.families[projections[i]] = created[i];
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<RebuildStats> EventStore::RebuildProjections() {
  StoreState& state = *state_;
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
    if (auto s = state.PutMeta(keys::kProjectionPosition, keys::EncodeU64(0),
                               "rebuild: marking projections stale");
        !s.ok()) {
      return s;
    }
  }
  if (auto s = RecreateProjectionFamilies(state); !s.ok()) return s;
  state.claim_cache.Clear();
  lap(&stats.clear);

  // Replay the log in memory on as many threads as cores beside the one
  // reading: every claim's view, and where its events are.
  const unsigned cores = ReplayThreads();
  ParallelReplay replay(cores);
  absl::Status read =
      state.ScanLogBytes([&](uint64_t position, absl::string_view bytes) {
        return replay.Add(position, bytes);
      });
  if (absl::Status s = replay.Finish(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("rebuild: ", s.message()));
  }
  if (!read.ok()) return read;
  const std::vector<const ReplayedClaim*> claims = replay.SortedClaims();
  stats.events_replayed = replay.events();
  stats.claims_written = claims.size();
  lap(&stats.replay);

  // Write each projection family as one sorted file and swap them in. Every
  // file is written in claim_id order or from it, so nothing is sorted
  // whole here, and the files are independent: threads take them in turn.
  absl::StatusOr<std::unique_ptr<BulkLoad>> load =
      BulkLoad::Create(state.db.get(), state.db->GetName() + "/rebuild.tmp");
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
  constexpr size_t kIndexes = std::size(kAllClaimIndexes);
  std::vector<std::array<IndexEntryList, kIndexes>> slices(cores);
  ParallelFor(cores, cores, [&](size_t k) {
    const size_t begin = views.size() * k / cores;
    const size_t end = views.size() * (k + 1) / cores;
    for (size_t v = begin; v < end; ++v) {
      for (size_t i = 0; i < kIndexes; ++i) {
        AppendIndexEntries(kAllClaimIndexes[i], *views[v], &slices[k][i]);
      }
    }
  });

  std::vector<std::function<absl::Status()>> tasks;
  tasks.push_back([&] { return WriteClaimEventsFile(state, claims, out); });
  tasks.push_back([&] { return WriteClaimsFile(state, views, out); });
  for (size_t i = 0; i < kIndexes; ++i) {
    tasks.push_back([&, i] {
      std::vector<const IndexEntryList*> runs;
      for (const auto& slice : slices) runs.push_back(&slice[i]);
      return WriteIndexFile(kAllClaimIndexes[i],
                            state.index_family(kAllClaimIndexes[i]), runs, out);
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
  state.claim_cache.Clear();
  // The source registry: small (a view per source), written as one batch.
  rocksdb::WriteBatch sources;
  for (const auto& [key, value] : SourceEntries(replay.sources())) {
    sources.Put(state.family(kSources), key, value);
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (auto s = FromRocks(state.db->Write(sync, &sources),
                         "rebuild: writing the sources");
      !s.ok()) {
    return s;
  }
  state.SetSources(
      std::make_shared<const domain::SourceRegistry>(replay.sources()));
  lap(&stats.ingest);

  if (auto s = state.PutMeta(keys::kProjectionPosition, keys::EncodeU64(last),
                             "rebuild: finishing");
      !s.ok()) {
    return s;
  }
  return stats;
}

}  // namespace factlog::storage
