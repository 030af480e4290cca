// The full-text search index: a projection of the claims into SQLite FTS5
// (docs/ARCHITECTURE.md, "Read path"), in its own file in the data
// directory (search.sqlite), apart from RocksDB.
//
// One row per claim: the claim's SearchDocument, its text columns in an
// FTS5 table (tokenizer: search/fts5_extensions.h), its filter fields in a
// plain table. The index records the last log position it reflects in the
// same SQLite transaction as the rows it changed (Apply), so after a crash
// it is never ahead of or out of step with that position, and whoever
// feeds it resumes from Position() (core/search_indexer.h). It is derived
// from the log only and can be dropped at any time (Clear).
//
// Disk space: the index shares the data directory's disk with the event
// log, which must always be able to resume after a full disk (README
// "Search", disk space). Its write-ahead log is therefore kept small: truncated
// to zero bytes once it passes kMaxWalBytes after a commit, and on demand
// (ReleaseSpace) when the disk is low; whoever feeds it keeps transactions
// small (core/search_indexer.h).
//
// Thread-safety: one thread at a time may call Apply, Clear and
// ReleaseSpace (the indexer); Search, ForEachEntry, Position, WalBytes and
// WaitForPosition may be called from any thread, concurrently with Apply
// (SQLite's WAL mode: a search reads the last committed transaction). Errors:
// INVALID_ARGUMENT naming "query" for an expression FTS5 refuses (with FTS5's
// message); INTERNAL or UNAVAILABLE with SQLite's message for I/O and other
// errors.
#ifndef FACTLOG_SEARCH_SEARCH_INDEX_H_
#define FACTLOG_SEARCH_SEARCH_INDEX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "factlog/v1/views.pb.h"
#include "search/search_document.h"

struct sqlite3;

namespace factlog::search {

// The file the index lives in, inside the data directory.
inline constexpr char kIndexFileName[] = "search.sqlite";

// Filters a search's hits must all pass (unset or empty = any).
struct IndexFilters {
  // OVERDUE selects the claims that read OVERDUE at `now`; any other
  // status the claims whose status reads as that at `now`.
  v1::ClaimStatus status = v1::CLAIM_STATUS_UNSPECIFIED;
  v1::ClaimKind kind = v1::CLAIM_KIND_UNSPECIFIED;
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  std::string claimant;
  std::string subject;
  std::string tag;
  // Half-open ranges [from, to) in Unix microseconds.
  std::optional<int64_t> asserted_from, asserted_to;
  std::optional<int64_t> recorded_from, recorded_to;
  // RecordClaim's similar claims: leave out one claim, and choose claims
  // by or not by one claimant, or only already-checked claims.
  std::string exclude_claim_id;
  std::string exclude_claimant;
  bool already_checked_only = false;
  absl::Time now = absl::UnixEpoch();  // for OVERDUE
};

// Where a page of hits ended: hits are ordered by rank (BM25: lower is a
// better match), then claim id.
struct SearchCursor {
  double rank = 0;
  std::string claim_id;
};

struct IndexQuery {
  std::string expression;  // an FTS5 query expression
  IndexFilters filters;
  std::optional<SearchCursor> after;
  int limit = 50;
  // Hits must hold at least this many distinct phrases of the expression
  // (for an OR of words: how many of the words).
  int min_matched_phrases = 0;
  // Snippet markers around each matched term.
  std::string highlight_start = "\xC2\xAB";  // «
  std::string highlight_end = "\xC2\xBB";    // »
};

struct IndexHit {
  std::string claim_id;
  double rank = 0;  // bm25() with kColumnWeights: lower is better
  std::string snippet;
  v1::ClaimStatus status = v1::CLAIM_STATUS_UNSPECIFIED;  // at filters.now
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  std::string claimant;
  std::string subject;
  std::string text;
  int64_t asserted_at_micros = 0;
  // Bit i set when phrase i of the expression occurs in the row (phrases
  // numbered from 0 in the order they appear; only the first 64).
  uint64_t matched_phrases = 0;
};

// What the index holds of one claim, for --verify.
struct IndexEntry {
  std::string claim_id;
  uint64_t version = 0;
  v1::ClaimStatus stored_status = v1::CLAIM_STATUS_UNSPECIFIED;
  std::string claimant;
  std::string subject;
};

class SearchIndex {
 public:
  // Opens or creates the index at `path`. An index of another layout
  // version, or a file SQLite cannot read as one, is dropped and created
  // empty (Position() 0): it is rebuilt from the log.
  //
  // Durability: SQLite's WAL mode with synchronous=NORMAL. A crash of the
  // process loses nothing committed; a power loss may lose the last
  // committed transactions but leaves the file consistent, the rows and
  // the position of one same transaction, so the index resumes from an
  // earlier position and replays the rest from the log.
  static absl::StatusOr<std::unique_ptr<SearchIndex>> Open(
      const std::string& path);
  ~SearchIndex();
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // The last log position the index reflects: every event up to it is
  // reflected (documents may be newer).
  uint64_t Position() const;

  // The index file's path.
  const std::string& path() const { return path_; }

  // Waits until Position() >= position or `deadline` passes; true when
  // reached. Blocks the calling thread: for tools and tests (servers use
  // core/position_waiters.h, called through SetPositionListener).
  bool WaitForPosition(uint64_t position, absl::Time deadline) const;

  // `listener` is called with the new position after every Apply that
  // committed, on Apply's thread, outside any lock of the index; it must
  // not block (it may call Position()). Replaces the previous listener;
  // set it before Apply runs on another thread.
  void SetPositionListener(std::function<void(uint64_t)> listener);

  // The WAL size past which a commit truncates it (see "Disk space").
  static constexpr uint64_t kMaxWalBytes = 4 << 20;

  // Bytes the index's write-ahead log takes on disk now (0 without one).
  uint64_t WalBytes() const;

  // Gives back the WAL's disk space: copies its committed pages into the
  // index file and truncates it to zero bytes. Waits up to `wait` for
  // searches still reading an older snapshot. UNAVAILABLE when they, or a
  // disk too full to grow the index file, keep it from finishing (the WAL
  // keeps its size, nothing is lost; call it again later).
  absl::Status ReleaseSpace(absl::Duration wait);

  // Replaces the rows of the documents' claims with `docs` and records
  // `position`, in one transaction. `position` must not be below
  // Position().
  absl::Status Apply(absl::Span<const SearchDocument> docs, uint64_t position);

  // Removes every row, in one transaction that drops the tables and
  // creates them again (far less work and WAL than deleting the rows: an
  // FTS5 delete undoes each row's tokens); Position() becomes 0. The file
  // keeps its size, its freed pages reused by later rows.
  absl::Status Clear();

  // Up to query.limit hits, best first, after query.after.
  absl::StatusOr<std::vector<IndexHit>> Search(const IndexQuery& query) const;

  // Calls `fn` with every row in claim id order until it returns false.
  absl::Status ForEachEntry(
      const std::function<bool(const IndexEntry&)>& fn) const;

 private:
  struct Writes;  // the writer's prepared statements
  SearchIndex(std::string path, sqlite3* writer);
  // Writes one document inside Apply's transaction.
  absl::Status WriteDocument(const SearchDocument& doc);
  absl::StatusOr<sqlite3*> Reader() const;
  void Release(sqlite3* db) const;
  void SetPosition(uint64_t position);
  std::string WalPath() const { return path_ + "-wal"; }

  const std::string path_;
  sqlite3* const writer_;
  std::unique_ptr<Writes> writes_;  // Apply's, prepared on first use
  mutable absl::Mutex mu_;
  uint64_t position_ ABSL_GUARDED_BY(mu_) = 0;
  mutable std::vector<sqlite3*> idle_readers_ ABSL_GUARDED_BY(mu_);
  std::function<void(uint64_t)> listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace factlog::search

#endif  // FACTLOG_SEARCH_SEARCH_INDEX_H_
