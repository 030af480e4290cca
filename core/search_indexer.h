#ifndef FACTLOG_CORE_SEARCH_INDEXER_H_
#define FACTLOG_CORE_SEARCH_INDEXER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/hub.h"
#include "search/search_index.h"
#include "storage/event_store.h"

namespace factlog::core {

// Keeps the search index (search/search_index.h) in step with the log, off
// the writer's path (docs/ARCHITECTURE.md, "Read path"): a thread follows
// the committed events the way a subscriber does, from the hub's window
// while it keeps up and from the store when it is behind, and writes the
// current documents of the claims they touched, with the position, in one
// round per at most kMaxEventsPerRound events. A round's documents go in
// small transactions (about 1 MiB of documents each; only the last records
// the round's position), because a transaction's pages all sit in the
// index's WAL until it commits. The writer never waits for it; appends go
// on at full speed, and the index lags by what the thread has not yet
// done.
//
// Disk space: the event log must always be able to resume after a full
// disk; the index may lag and catch up later. So while the data
// directory's disk has less than 16 MiB free the indexer writes nothing
// and gives back the index's WAL (SearchIndex::ReleaseSpace); it resumes
// by itself once there is room again.
//
// On start it resumes after the position the index records: an empty
// index (a new data dir, a dropped or unreadable file) is filled from the
// store's claims (BuildSearchIndex), a non-empty one replays the log after
// its position. So a crash between a commit and its indexing loses
// nothing: the index catches up when factlogd starts again.
//
// CPU: the thread runs at a lower priority than the rest of the process
// (kNiceIncrement above the process's nice value), so on a machine whose cores
// the writes already saturate (an import) the log gets the CPU first and the
// index lags, catching up as soon as there is CPU to spare (bench/README.md,
// "Search"). Where the priority cannot be set (a system call filter without
// setpriority) it runs at the process's and logs a warning.
//
// Errors (a failed index write) are logged and retried after a pause; the
// index only falls behind meanwhile. The functions below that write the
// index fail with RESOURCE_EXHAUSTED, before a transaction, when the disk
// is that low. Thread-safe; `store`, `hub` and
// `index` must outlive it.
class SearchIndexer {
 public:
  static constexpr size_t kMaxEventsPerRound = 4096;
  // Added to the process's nice value for the indexer thread (up to 19,
  // the lowest priority).
  static constexpr int kNiceIncrement = 10;

  static std::unique_ptr<SearchIndexer> Start(const storage::EventStore* store,
                                              Hub* hub,
                                              search::SearchIndex* index);
  ~SearchIndexer();  // Stop()s
  SearchIndexer(const SearchIndexer&) = delete;
  SearchIndexer& operator=(const SearchIndexer&) = delete;

  // Ends the thread after the round in progress. Idempotent.
  void Stop();

 private:
  class Waiter;
  SearchIndexer(const storage::EventStore* store, Hub* hub,
                search::SearchIndex* index);
  void Run();
  // One round from `next` on: true when it indexed something.
  absl::StatusOr<bool> Round();
  bool Sleep(absl::Duration timeout);  // false once stopping

  const storage::EventStore* const store_;
  Hub* const hub_;
  search::SearchIndex* const index_;
  std::shared_ptr<Waiter> waiter_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Writes the documents of the claims the events from `from` on touched
// (at most `max_events` events, as the store holds them now) into `index`
// with the position of the last of them; returns that position, or
// from - 1 when the log has nothing from `from` on.
absl::StatusOr<uint64_t> IndexFromLog(const storage::EventStore& store,
                                      uint64_t from, size_t max_events,
                                      search::SearchIndex* index);

// Empties `index` and fills it with every claim's current document, then
// records the log position read before the scan (so events committed
// during it are replayed later, never missed). Returns that position.
absl::StatusOr<uint64_t> BuildSearchIndex(const storage::EventStore& store,
                                          search::SearchIndex* index);

// Brings `index` up to the store's last position as the indexer does on
// start: BuildSearchIndex when it is empty, else IndexFromLog from its
// position on. Returns the position it started from. Must not run while
// an indexer feeds `index`.
absl::StatusOr<uint64_t> CatchUpSearchIndex(const storage::EventStore& store,
                                            search::SearchIndex* index);

// Compares `index` with the store's claims: every claim indexed at its
// current version and stored status, nothing else, and the index at the
// log's last position. One line per difference ("search: ..."). Run it on
// a quiescent store after CatchUpSearchIndex (factlogd --verify).
absl::StatusOr<std::vector<std::string>> VerifySearchIndex(
    const storage::EventStore& store, const search::SearchIndex& index);

}  // namespace factlog::core

#endif  // FACTLOG_CORE_SEARCH_INDEXER_H_
