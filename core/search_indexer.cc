#include "core/search_indexer.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "domain/status.h"
#include "search/search_document.h"

namespace factlog::core {
namespace {

constexpr size_t kBuildChunk = 10000;  // documents per transaction at most
constexpr absl::Duration kRetryPause = absl::Seconds(1);
// A transaction's pages all sit in the index's WAL until it commits, so
// the bytes of documents per transaction bound the disk the index takes
// beyond its rows (SearchIndex, "Disk space"): measured, a transaction of
// 1 MiB of documents leaves 1.7 to 4.7 MiB in the WAL (FTS5 merges
// segments as it goes) and grows the index file by 1 to 2 MiB.
constexpr size_t kMaxTransactionBytes = 1 << 20;
// Free space below which the index writes nothing and gives back its WAL:
// what the event log needs to resume after a full disk (8 MiB,
// storage/event_store.cc) and room for one transaction besides.
constexpr uintmax_t kMinFreeBytesToIndex = 16 << 20;
// How long giving back the WAL waits for searches on an older snapshot.
constexpr absl::Duration kReleaseWait = absl::Seconds(1);
// A wake-up may be lost only to a publication the hub already counted;
// re-reading this often bounds how long that could go unnoticed.
constexpr absl::Duration kIdleRecheck = absl::Seconds(1);

// The current documents of `claim_ids` (in that order), read from the store.
absl::StatusOr<std::vector<search::SearchDocument>> Documents(
    const storage::EventStore& store,
    const std::vector<std::string>& claim_ids) {
  std::vector<search::SearchDocument> docs;
  docs.reserve(claim_ids.size());
  for (const std::string& id : claim_ids) {
    absl::StatusOr<std::optional<v1::ClaimView>> view = store.GetClaim(id);
    if (!view.ok()) return view.status();
    if (view->has_value()) docs.push_back(search::DocumentOf(**view));
  }
  return docs;
}

// The bytes a document adds to an index transaction, roughly.
size_t DocumentBytes(const search::SearchDocument& doc) {
  size_t bytes =
      doc.claim_id.size() + doc.claimant.size() + doc.subject.size() + 64;
  for (const std::string& column : doc.columns) bytes += column.size();
  for (const std::string& tag : doc.tags) bytes += tag.size();
  return bytes;
}

// True when the disk holding `index` has less than kMinFreeBytesToIndex
// free (false when that cannot be told).
bool DiskLow(const search::SearchIndex& index) {
  std::error_code error;
  const std::filesystem::space_info space = std::filesystem::space(
      std::filesystem::path(index.path()).parent_path(), error);
  return !error && space.available < kMinFreeBytesToIndex;
}

absl::Status DiskLowError() {
  return absl::ResourceExhaustedError(
      "search index: the disk is nearly full; indexing waits, the log keeps "
      "the space it needs to resume");
}

// Writes `docs` into `index` in transactions of at most
// kMaxTransactionBytes of documents, the last recording `position` and
// the others the position the index had (their rows may be newer than
// it, never older: docs/ARCHITECTURE.md, "Invariants"). Before each
// transaction, RESOURCE_EXHAUSTED (DiskLowError) when the disk is low.
absl::Status ApplyInSmallTransactions(
    search::SearchIndex* index, absl::Span<const search::SearchDocument> docs,
    uint64_t position) {
  const uint64_t before = index->Position();
  size_t begin = 0;
  do {
    size_t end = begin, bytes = 0;
    while (end < docs.size() &&
           (end == begin ||
            bytes + DocumentBytes(docs[end]) <= kMaxTransactionBytes)) {
      bytes += DocumentBytes(docs[end++]);
    }
    if (DiskLow(*index)) return DiskLowError();
    const bool last = end == docs.size();
    if (absl::Status s = index->Apply(docs.subspan(begin, end - begin),
                                      last ? position : before);
        !s.ok()) {
      return s;
    }
    begin = end;
  } while (begin < docs.size());
  return absl::OkStatus();
}

// Collects distinct claim ids in first-seen order.
class TouchedClaims {
 public:
  // Registry events (no claim_id) touch no claim.
  void Add(const std::string& claim_id) {
    if (claim_id.empty()) return;
    if (seen_.insert(claim_id).second) ids_.push_back(claim_id);
  }
  const std::vector<std::string>& ids() const { return ids_; }

 private:
  absl::flat_hash_set<std::string> seen_;
  std::vector<std::string> ids_;
};

// Adds `increment` to the calling thread's nice value, up to 19 (only
// lowering a priority needs no privilege). PERMISSION_DENIED where the
// system call is filtered out.
absl::Status LowerThreadPriority(int increment) {
  // Linux applies a nice value to the one thread whose id is given.
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);  // -1 is a valid value
  if (errno != 0) return absl::ErrnoToStatus(errno, "getpriority");
  if (setpriority(PRIO_PROCESS, tid, std::min(19, nice + increment)) != 0) {
    return absl::ErrnoToStatus(errno, "setpriority");
  }
  return absl::OkStatus();
}

}  // namespace

// Wakes the indexer thread when the hub publishes what it waits for. The
// hub may hold it after the indexer has stopped: Detach() makes it inert.
class SearchIndexer::Waiter final : public HubSubscriber {
 public:
  explicit Waiter(SearchIndexer* indexer) : indexer_(indexer) {}
  void Wake() override {
    absl::MutexLock lock(&mu_);
    if (indexer_ == nullptr) return;
    absl::MutexLock indexer_lock(&indexer_->mu_);
    indexer_->woken_ = true;
  }
  void Detach() {
    absl::MutexLock lock(&mu_);
    indexer_ = nullptr;
  }
  void Stop(const absl::Status&) override { Wake(); }
  v1::SubscriberStats Stats() const override { return {}; }
  size_t BufferedBytes() const override { return 0; }

 private:
  absl::Mutex mu_;
  SearchIndexer* indexer_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<uint64_t> IndexFromLog(const storage::EventStore& store,
                                      uint64_t from, size_t max_events,
                                      search::SearchIndex* index) {
  TouchedClaims touched;
  uint64_t last = from - 1;
  size_t count = 0;
  absl::Status read = store.ReadEvents(from, [&](const v1::Event& event) {
    touched.Add(event.claim_id());
    last = event.position();
    return ++count < max_events;
  });
  if (!read.ok()) return read;
  if (count == 0) return last;
  absl::StatusOr<std::vector<search::SearchDocument>> docs =
      Documents(store, touched.ids());
  if (!docs.ok()) return docs.status();
  if (absl::Status s = ApplyInSmallTransactions(index, *docs, last); !s.ok()) {
    return s;
  }
  return last;
}

absl::StatusOr<uint64_t> BuildSearchIndex(const storage::EventStore& store,
                                          search::SearchIndex* index) {
  const uint64_t position = store.LastPosition();
  if (absl::Status s = index->Clear(); !s.ok()) return s;
  std::vector<search::SearchDocument> chunk;
  size_t chunk_bytes = 0;
  absl::Status write;
  absl::Status scan = store.ScanClaims("", [&](v1::ClaimView view) {
    chunk.push_back(search::DocumentOf(view));
    chunk_bytes += DocumentBytes(chunk.back());
    if (chunk.size() < kBuildChunk && chunk_bytes < kMaxTransactionBytes) {
      return true;
    }
    // Until the last chunk the index records position 0: a crash midway
    // leaves an index that starts over.
    write = DiskLow(*index) ? DiskLowError() : index->Apply(chunk, 0);
    chunk.clear();
    chunk_bytes = 0;
    return write.ok();
  });
  if (!scan.ok()) return scan;
  if (!write.ok()) return write;
  if (DiskLow(*index)) return DiskLowError();
  if (absl::Status s = index->Apply(chunk, position); !s.ok()) return s;
  return position;
}

absl::StatusOr<uint64_t> CatchUpSearchIndex(const storage::EventStore& store,
                                            search::SearchIndex* index) {
  const uint64_t start = index->Position();
  if (start == 0) {
    absl::StatusOr<uint64_t> built = BuildSearchIndex(store, index);
    if (!built.ok()) return built.status();
  }
  while (index->Position() < store.LastPosition()) {
    absl::StatusOr<uint64_t> last = IndexFromLog(
        store, index->Position() + 1, SearchIndexer::kMaxEventsPerRound, index);
    if (!last.ok()) return last.status();
  }
  return start;
}

absl::StatusOr<std::vector<std::string>> VerifySearchIndex(
    const storage::EventStore& store, const search::SearchIndex& index) {
  std::vector<std::string> mismatches;
  if (index.Position() != store.LastPosition()) {
    mismatches.push_back(
        absl::StrCat("search: the index reflects position ", index.Position(),
                     ", the log ends at ", store.LastPosition(),
                     " (factlogd catches it up when it starts)"));
  }
  std::vector<search::IndexEntry> entries;
  absl::Status s = index.ForEachEntry([&](const search::IndexEntry& entry) {
    entries.push_back(entry);
    return true;
  });
  if (!s.ok()) return s;
  size_t next = 0;
  s = store.ScanClaims("", [&](v1::ClaimView view) {
    while (next < entries.size() && entries[next].claim_id < view.claim_id()) {
      mismatches.push_back(absl::StrCat("search: claim ",
                                        entries[next].claim_id,
                                        " is indexed but not in the store"));
      ++next;
    }
    if (next == entries.size() || entries[next].claim_id != view.claim_id()) {
      mismatches.push_back(
          absl::StrCat("search: claim ", view.claim_id(), " is not indexed"));
      return true;
    }
    const search::IndexEntry& entry = entries[next++];
    const v1::ClaimStatus status = domain::StoredStatus(view);
    if (entry.version != view.version() || entry.stored_status != status ||
        entry.claimant != view.claimant() || entry.subject != view.subject()) {
      mismatches.push_back(absl::StrCat(
          "search: claim ", view.claim_id(), " is indexed at version ",
          entry.version, " (", v1::ClaimStatus_Name(entry.stored_status),
          "), the store has version ", view.version(), " (",
          v1::ClaimStatus_Name(status), ")"));
    }
    return true;
  });
  if (!s.ok()) return s;
  for (; next < entries.size(); ++next) {
    mismatches.push_back(absl::StrCat("search: claim ", entries[next].claim_id,
                                      " is indexed but not in the store"));
  }
  return mismatches;
}

SearchIndexer::SearchIndexer(const storage::EventStore* store, Hub* hub,
                             search::SearchIndex* index)
    : store_(store), hub_(hub), index_(index) {}

std::unique_ptr<SearchIndexer> SearchIndexer::Start(
    const storage::EventStore* store, Hub* hub, search::SearchIndex* index) {
  std::unique_ptr<SearchIndexer> indexer(new SearchIndexer(store, hub, index));
  indexer->waiter_ = std::make_shared<Waiter>(indexer.get());
  indexer->thread_ = std::thread([raw = indexer.get()] { raw->Run(); });
  pthread_setname_np(indexer->thread_.native_handle(), "factlog-index");
  return indexer;
}

SearchIndexer::~SearchIndexer() { Stop(); }

void SearchIndexer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (waiter_) waiter_->Detach();
}

bool SearchIndexer::Sleep(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || woken_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  woken_ = false;
  return !stopping_;
}

absl::StatusOr<bool> SearchIndexer::Round() {
  const uint64_t from = index_->Position() + 1;
  std::vector<LiveEventPtr> live;
  switch (hub_->Read(from, kMaxEventsPerRound, &live, waiter_)) {
    case Hub::ReadResult::kWaiting:
      return false;
    case Hub::ReadResult::kFellBehind: {
      if (from == 1) {
        // An empty index behind a log: faster from the claims than by
        // replaying every event.
        const absl::Time start = absl::Now();
        absl::StatusOr<uint64_t> built = BuildSearchIndex(*store_, index_);
        if (!built.ok()) return built.status();
        log::Info("search index built",
                  {{"position", *built},
                   {"seconds", absl::ToDoubleSeconds(absl::Now() - start)}});
        return true;
      }
      absl::StatusOr<uint64_t> last =
          IndexFromLog(*store_, from, kMaxEventsPerRound, index_);
      if (!last.ok()) return last.status();
      return *last >= from;
    }
    case Hub::ReadResult::kEvents:
      break;
  }
  TouchedClaims touched;
  for (const LiveEventPtr& e : live) touched.Add(e->event.claim_id());
  absl::StatusOr<std::vector<search::SearchDocument>> docs =
      Documents(*store_, touched.ids());
  if (!docs.ok()) return docs.status();
  if (absl::Status s = ApplyInSmallTransactions(index_, *docs,
                                                live.back()->event.position());
      !s.ok()) {
    return s;
  }
  return true;
}

void SearchIndexer::Run() {
  // The log first: this thread gets the CPU the rest of the process
  // leaves (see the class comment, "CPU").
  if (absl::Status s = LowerThreadPriority(kNiceIncrement); !s.ok()) {
    log::Warn("search indexer: runs at the process's own priority",
              {{"error", s.message()}});
  }
  bool paused = false;  // for a disk nearly full
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    // The index is a projection that can catch up later; the log cannot
    // wait. While the disk is nearly full the index writes nothing and
    // gives back its WAL, so what space there is goes to the log's own
    // recovery (README "Search", disk space).
    absl::Status round = DiskLow(*index_) ? DiskLowError() : absl::OkStatus();
    absl::StatusOr<bool> progressed = false;
    if (round.ok()) {
      progressed = Round();
      round = progressed.status();
    }
    if (absl::IsResourceExhausted(round)) {
      if (!paused) {
        log::Warn("search indexing paused: the disk is nearly full",
                  {{"position", index_->Position()}});
        paused = true;
      }
      if (index_->WalBytes() > 0) {
        if (absl::Status s = index_->ReleaseSpace(kReleaseWait); !s.ok()) {
          log::Debug("search index WAL not released yet",
                     {{"error", s.message()}});
        }
      }
      if (!Sleep(kRetryPause)) return;
      continue;
    }
    if (paused) {
      log::Info("search indexing resumed", {{"position", index_->Position()}});
      paused = false;
    }
    if (!round.ok()) {
      log::Warn("search index update failed; retrying",
                {{"error", round.message()}, {"position", index_->Position()}});
      if (!Sleep(kRetryPause)) return;
    } else if (!*progressed) {
      if (!Sleep(kIdleRecheck)) return;
    }
  }
}

}  // namespace factlog::core
