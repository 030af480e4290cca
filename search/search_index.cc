#include "search/search_index.h"

#include <sqlite3.h>
#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/fts5_extensions.h"
#include "search/sqlite_statement.h"

namespace factlog::search {
namespace {

// Bumped whenever the tables or the tokenizer change: an index of another
// layout is dropped and rebuilt from the log.
// 2: tags as a column of the claims table, no claimant index.
constexpr int kLayoutVersion = 2;
// Between the tags in the claims table's tags column, and around them:
// validation keeps control characters out of tags (domain/validation.cc).
constexpr char kTagSeparator = '\x1f';
constexpr char kCreateMeta[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, "
    "value INTEGER NOT NULL)";
// Idle reader connections kept for later searches.
constexpr size_t kMaxIdleReaders = 32;
// How long a statement waits for a lock another connection holds.
constexpr int kBusyTimeoutMs = 10000;
// How long a commit's truncation of a large WAL waits for searches still
// reading an older snapshot before leaving it to the next commit.
constexpr absl::Duration kTruncateWait = absl::Milliseconds(50);

// The tags column's value: each tag between two kTagSeparator.
std::string TagsValue(const std::vector<std::string>& tags) {
  std::string value(1, kTagSeparator);
  for (const std::string& tag : tags) {
    absl::StrAppend(&value, tag, std::string(1, kTagSeparator));
  }
  return value;
}

// SQLite's memory statistics (sqlite3_memory_used, the soft heap limit)
// take a global mutex around every allocation; nothing here reads them, and
// they cost about a tenth of the index's CPU in Apply (bench/README.md,
// "Search"). Off, once, for the process: this only takes effect before
// SQLite initializes (sqlite3_config is refused after, and the statistics
// stay on, which changes nothing else).
void ConfigureSqlite() {
  static const bool done = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)done;
}

// SQLite running as root hands each new journal file to the database
// file's owner with fchown. factlogd created both, so that changes
// nothing, and the call is outside the system calls the systemd unit
// allows (deploy/systemd/factlogd.service): it is made a no-op, once, for
// the process.
int KeepOwner(int, uid_t, gid_t) { return 0; }
void SkipFchown() {
  static const bool done = [] {
    sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
    if (vfs != nullptr && vfs->iVersion >= 3 && vfs->xSetSystemCall) {
      vfs->xSetSystemCall(vfs, "fchown",
                          reinterpret_cast<sqlite3_syscall_ptr>(KeepOwner));
    }
    return true;
  }();
  (void)done;
}

absl::StatusOr<sqlite3*> Connect(const std::string& path) {
  ConfigureSqlite();
  SkipFchown();
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = absl::UnavailableError(
        absl::StrCat("search index: opening ", path, ": ",
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  absl::Status s = RegisterFts5Extensions(db);
  if (s.ok()) s = Exec(db, "PRAGMA synchronous=NORMAL");
  if (!s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

// The claims table holds each claim's filter fields, the FTS5 table its
// texts. No secondary index but claim_id's: searches are driven by the
// FTS5 match and join claims by rowid, so an index on the claimant or a
// table of tags would only be written, never read, and each costs a B-tree
// page per distinct key per transaction (most of the first layout's
// writes). Tags are one string, each tag between two kTagSeparator.
// (Measured and not kept: FTS5 reading the texts from the claims table as
// its external content wrote a fifth less but made every search read the
// wide rows, 1.3 to 1.6 times slower: bench/README.md, "Search".)
std::string CreateClaimTablesSql() {
  return absl::StrCat(
      "CREATE TABLE claims(id INTEGER PRIMARY KEY, "
      "claim_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, "
      "status INTEGER NOT NULL, kind INTEGER NOT NULL, "
      "rating INTEGER NOT NULL, claimant TEXT NOT NULL, "
      "subject TEXT NOT NULL, asserted_at INTEGER NOT NULL, "
      "recorded_at INTEGER NOT NULL, overdue_from INTEGER, "
      "tags TEXT NOT NULL);"
      "CREATE VIRTUAL TABLE docs USING fts5(",
      absl::StrJoin(kColumnNames, ", "), ", tokenize = '", kTokenizeArgument,
      "');");
}

// Every table of claims any layout had (all but meta).
constexpr char kDropClaimTables[] = R"sql(
DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS tags;
DROP TABLE IF EXISTS claims;
)sql";

absl::StatusOr<int64_t> ReadMeta(sqlite3* db, absl::string_view key) {
  Statement st(db, "SELECT value FROM meta WHERE key = ?");
  if (!st.ok()) return SqliteError(db, "reading meta");
  st.Bind(1, key);
  const int rc = st.Step();
  if (rc == SQLITE_ROW) return st.Int(0);
  if (rc == SQLITE_DONE) return 0;
  return SqliteError(db, "reading meta");
}

absl::Status WriteMeta(sqlite3* db, absl::string_view key, int64_t value) {
  Statement st(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  if (!st.ok()) return SqliteError(db, "writing meta");
  st.Bind(1, key);
  st.Bind(2, value);
  if (st.Step() != SQLITE_DONE) return SqliteError(db, "writing meta");
  return absl::OkStatus();
}

// Creates the tables when missing; drops an index of another layout.
absl::Status Prepare(sqlite3* db) {
  if (absl::Status s = Exec(db, "PRAGMA journal_mode=WAL"); !s.ok()) return s;
  // SQLite's own bound: a WAL that a checkpoint reset is cut back to 4 MiB,
  // but only by the next write transaction, so it does not by itself give
  // space back while no index writes happen (SearchIndex, "Disk space").
  if (absl::Status s = Exec(db, "PRAGMA journal_size_limit=4194304"); !s.ok()) {
    return s;
  }
  if (absl::Status s = Exec(db, kCreateMeta); !s.ok()) return s;
  absl::StatusOr<int64_t> layout = ReadMeta(db, "layout");
  if (!layout.ok()) return layout.status();
  if (*layout == kLayoutVersion) return absl::OkStatus();
  // A new file, or an index of another layout: start over, in one
  // transaction (a crash midway leaves the old layout, dropped next time).
  if (absl::Status s = Exec(db, "BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = Exec(db, kDropClaimTables);
  if (s.ok()) s = Exec(db, "DROP TABLE meta");
  if (s.ok()) s = Exec(db, kCreateMeta);
  if (s.ok()) s = Exec(db, CreateClaimTablesSql().c_str());
  if (s.ok()) s = WriteMeta(db, "layout", kLayoutVersion);
  if (s.ok()) s = Exec(db, "COMMIT");
  if (!s.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

// The rank expression: BM25 with the columns' weights.
std::string RankSql() {
  return absl::StrCat("bm25(docs, ", absl::StrJoin(kColumnWeights, ", "), ")");
}

// A WHERE clause being built, with its parameters in order.
class Where {
 public:
  template <typename... Params>
  void Add(std::string condition, Params... params) {
    conditions_.push_back(std::move(condition));
    (params_.push_back(Param(std::move(params))), ...);
  }
  std::string Sql() const { return absl::StrJoin(conditions_, " AND "); }
  void BindAll(Statement* st, int first) const {
    int i = first;
    for (const auto& p : params_) p(st, i++);
  }

 private:
  using Binder = std::function<void(Statement*, int)>;
  static Binder Param(int64_t v) {
    return [v](Statement* st, int i) { st->Bind(i, v); };
  }
  static Binder Param(double v) {
    return [v](Statement* st, int i) { st->Bind(i, v); };
  }
  static Binder Param(std::string v) {
    return [v = std::move(v)](Statement* st, int i) { st->Bind(i, v); };
  }
  std::vector<std::string> conditions_;
  std::vector<Binder> params_;
};

void AddFilters(const IndexFilters& f, Where* where) {
  const int64_t now = absl::ToUnixMicros(f.now);
  constexpr char kOverdue[] =
      "(c.overdue_from IS NOT NULL AND c.overdue_from < ?)";
  if (f.status == v1::CLAIM_STATUS_OVERDUE) {
    where->Add(kOverdue, now);
  } else if (f.status != v1::CLAIM_STATUS_UNSPECIFIED) {
    where->Add(absl::StrCat("c.status = ? AND NOT ", kOverdue),
               int64_t{f.status}, now);
  }
  if (f.kind != v1::CLAIM_KIND_UNSPECIFIED) {
    where->Add("c.kind = ?", int64_t{f.kind});
  }
  if (f.rating != v1::RATING_UNSPECIFIED) {
    where->Add("c.rating = ?", int64_t{f.rating});
  }
  if (!f.claimant.empty()) where->Add("c.claimant = ?", f.claimant);
  if (!f.subject.empty()) where->Add("c.subject = ?", f.subject);
  if (!f.tag.empty()) {
    if (f.tag.find(kTagSeparator) == std::string::npos) {
      where->Add("instr(c.tags, ?) > 0",
                 TagsValue(std::vector<std::string>{f.tag}));
    } else {
      where->Add("0");  // no tag holds the separator
    }
  }
  if (f.asserted_from) where->Add("c.asserted_at >= ?", *f.asserted_from);
  if (f.asserted_to) where->Add("c.asserted_at < ?", *f.asserted_to);
  if (f.recorded_from) where->Add("c.recorded_at >= ?", *f.recorded_from);
  if (f.recorded_to) where->Add("c.recorded_at < ?", *f.recorded_to);
  if (!f.exclude_claim_id.empty()) {
    where->Add("c.claim_id <> ?", f.exclude_claim_id);
  }
  if (!f.exclude_claimant.empty()) {
    where->Add("c.claimant <> ?", f.exclude_claimant);
  }
  if (f.already_checked_only) {
    std::vector<std::string> checked;
    for (int s = v1::ClaimStatus_MIN; s <= v1::ClaimStatus_MAX; ++s) {
      if (AlreadyChecked(static_cast<v1::ClaimStatus>(s))) {
        checked.push_back(absl::StrCat(s));
      }
    }
    where->Add(absl::StrCat("c.status IN (", absl::StrJoin(checked, ","), ")"));
  }
}

}  // namespace

// The writer's statements, prepared once (SQLite's VDBE programs for the
// FTS5 and claims writes take longer to prepare than to run for a few
// documents).
struct SearchIndex::Writes {
  explicit Writes(sqlite3* db)
      : find(db, "SELECT id FROM claims WHERE claim_id = ?"),
        texts(db, absl::StrCat("SELECT ", absl::StrJoin(kColumnNames, ", "),
                               " FROM docs WHERE rowid = ?")),
        insert(db,
               "INSERT INTO claims(claim_id, version, status, kind, rating, "
               "claimant, subject, asserted_at, recorded_at, overdue_from, "
               "tags) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
        update(db,
               "UPDATE claims SET version = ?2, status = ?3, kind = ?4, "
               "rating = ?5, claimant = ?6, subject = ?7, asserted_at = ?8, "
               "recorded_at = ?9, overdue_from = ?10, tags = ?11 "
               "WHERE id = ?1"),
        unindex(db, "DELETE FROM docs WHERE rowid = ?"),
        index(db, absl::StrCat("INSERT INTO docs(rowid, ",
                               absl::StrJoin(kColumnNames, ", "),
                               ") VALUES(?, ?, ?, ?, ?, ?, ?)")),
        position(db,
                 "INSERT OR REPLACE INTO meta(key, value) "
                 "VALUES('position', ?)") {}

  bool ok() const {
    return find.ok() && texts.ok() && insert.ok() && update.ok() &&
           unindex.ok() && index.ok() && position.ok();
  }

  Statement find;      // the row id of a claim_id
  Statement texts;     // the texts indexed for a row id
  Statement insert;    // a new claim's row (?1: claim_id)
  Statement update;    // a claim's row (?1: id)
  Statement unindex;   // a row's index entries
  Statement index;     // a row's texts, indexed
  Statement position;  // the position reflected
};

SearchIndex::SearchIndex(std::string path, sqlite3* writer)
    : path_(std::move(path)), writer_(writer) {}

SearchIndex::~SearchIndex() {
  absl::MutexLock lock(&mu_);
  for (sqlite3* db : idle_readers_) sqlite3_close(db);
  writes_.reset();  // its statements before their connection
  sqlite3_close(writer_);
}

absl::StatusOr<std::unique_ptr<SearchIndex>> SearchIndex::Open(
    const std::string& path) {
  auto connect_and_prepare = [&]() -> absl::StatusOr<sqlite3*> {
    absl::StatusOr<sqlite3*> db = Connect(path);
    if (!db.ok()) return db.status();
    if (absl::Status s = Prepare(*db); !s.ok()) {
      sqlite3_close(*db);
      return s;
    }
    return db;
  };
  absl::StatusOr<sqlite3*> db = connect_and_prepare();
  if (!db.ok()) {
    // Not an index this build can use: it is only a projection, so start
    // over rather than refuse to serve.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::remove(absl::StrCat(path, suffix).c_str());
    }
    db = connect_and_prepare();
    if (!db.ok()) return db.status();
  }
  absl::StatusOr<int64_t> position = ReadMeta(*db, "position");
  if (!position.ok()) {
    sqlite3_close(*db);
    return position.status();
  }
  std::unique_ptr<SearchIndex> index(new SearchIndex(path, *db));
  index->SetPosition(static_cast<uint64_t>(*position));
  return index;
}

uint64_t SearchIndex::Position() const {
  absl::MutexLock lock(&mu_);
  return position_;
}

void SearchIndex::SetPosition(uint64_t position) {
  absl::MutexLock lock(&mu_);
  position_ = position;
}

bool SearchIndex::WaitForPosition(uint64_t position,
                                  absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return position_ >= position;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&reached), deadline);
}

absl::Status SearchIndex::WriteDocument(const SearchDocument& doc) {
  Writes& w = *writes_;
  w.find.Bind(1, doc.claim_id);
  int rc = w.find.Step();
  std::optional<int64_t> id;
  if (rc == SQLITE_ROW) id = w.find.Int(0);
  w.find.Reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqliteError(writer_, "finding a claim");
  }
  bool texts_changed = true;
  if (id) {
    w.texts.Bind(1, *id);
    rc = w.texts.Step();
    if (rc == SQLITE_ROW) {
      texts_changed = false;
      for (int c = 0; c < kColumnCount; ++c) {
        texts_changed |= w.texts.TextView(c) != doc.columns[c];
      }
    }
    w.texts.Reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      return SqliteError(writer_, "reading a claim's texts");
    }
    if (texts_changed) {
      w.unindex.Bind(1, *id);
      if (Run(w.unindex) != SQLITE_DONE) {
        return SqliteError(writer_, "replacing a claim");
      }
    }
  }
  // A claim's first version is only inserted; later ones update its row
  // and, when a text changed, its index entries.
  Statement& write = id ? w.update : w.insert;
  if (id) {
    write.Bind(1, *id);
  } else {
    write.Bind(1, doc.claim_id);
  }
  write.Bind(2, static_cast<int64_t>(doc.version));
  write.Bind(3, int64_t{doc.stored_status});
  write.Bind(4, int64_t{doc.kind});
  write.Bind(5, int64_t{doc.rating});
  write.Bind(6, doc.claimant);
  write.Bind(7, doc.subject);
  write.Bind(8, doc.asserted_at_micros);
  write.Bind(9, doc.recorded_at_micros);
  if (doc.overdue_from_micros) {
    write.Bind(10, *doc.overdue_from_micros);
  } else {
    write.BindNull(10);
  }
  write.Bind(11, TagsValue(doc.tags));
  if (Run(write) != SQLITE_DONE) {
    return SqliteError(writer_, "writing a claim");
  }
  if (!texts_changed) return absl::OkStatus();
  if (!id) id = sqlite3_last_insert_rowid(writer_);
  w.index.Bind(1, *id);
  for (int c = 0; c < kColumnCount; ++c) w.index.Bind(2 + c, doc.columns[c]);
  if (Run(w.index) != SQLITE_DONE) {
    return SqliteError(writer_, "indexing a claim");
  }
  return absl::OkStatus();
}

absl::Status SearchIndex::Apply(absl::Span<const SearchDocument> docs,
                                uint64_t position) {
  if (writes_ == nullptr) {
    auto writes = std::make_unique<Writes>(writer_);
    if (!writes->ok()) return SqliteError(writer_, "preparing an update");
    writes_ = std::move(writes);
  }
  if (absl::Status s = Exec(writer_, "BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status status = [&]() -> absl::Status {
    for (const SearchDocument& doc : docs) {
      if (absl::Status s = WriteDocument(doc); !s.ok()) return s;
    }
    writes_->position.Bind(1, static_cast<int64_t>(position));
    if (Run(writes_->position) != SQLITE_DONE) {
      return SqliteError(writer_, "writing the position");
    }
    return absl::OkStatus();
  }();
  if (status.ok()) status = Exec(writer_, "COMMIT");
  if (!status.ok()) {
    sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  SetPosition(position);
  std::function<void(uint64_t)> listener;
  {
    absl::MutexLock lock(&mu_);
    listener = listener_;
  }
  if (listener) listener(position);
  // A transaction's pages stay in the WAL until a checkpoint copies them
  // into the index file, and the file keeps its size after that: past the
  // bound, truncate it now. Searches on an older snapshot may keep it from
  // finishing; the next commit tries again.
  if (WalBytes() > kMaxWalBytes) ReleaseSpace(kTruncateWait).IgnoreError();
  return absl::OkStatus();
}

void SearchIndex::SetPositionListener(std::function<void(uint64_t)> listener) {
  absl::MutexLock lock(&mu_);
  listener_ = std::move(listener);
}

uint64_t SearchIndex::WalBytes() const {
  std::error_code error;
  const uintmax_t bytes = std::filesystem::file_size(WalPath(), error);
  return error ? 0 : static_cast<uint64_t>(bytes);
}

absl::Status SearchIndex::ReleaseSpace(absl::Duration wait) {
  sqlite3_busy_timeout(writer_,
                       static_cast<int>(absl::ToInt64Milliseconds(wait)));
  const int rc = sqlite3_wal_checkpoint_v2(
      writer_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  sqlite3_busy_timeout(writer_, kBusyTimeoutMs);
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("search index: giving back the WAL's space: ",
                     sqlite3_errmsg(writer_)));
  }
  return absl::OkStatus();
}

absl::Status SearchIndex::Clear() {
  // The tables are dropped and created again, in one transaction: that
  // frees their pages in one pass, where a DELETE of an FTS5 table's rows
  // removes each row's tokens one by one (and writes all of it to the WAL).
  // Apply's statements were prepared on the old tables: prepared again on
  // next use.
  writes_.reset();
  if (absl::Status s = Exec(writer_, "BEGIN IMMEDIATE"); !s.ok()) return s;
  absl::Status s = Exec(writer_, kDropClaimTables);
  if (s.ok()) s = Exec(writer_, CreateClaimTablesSql().c_str());
  if (s.ok()) s = Exec(writer_, "DELETE FROM meta WHERE key = 'position'");
  if (s.ok()) s = Exec(writer_, "COMMIT");
  if (!s.ok()) {
    sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  SetPosition(0);
  if (WalBytes() > kMaxWalBytes) ReleaseSpace(kTruncateWait).IgnoreError();
  return absl::OkStatus();
}

absl::StatusOr<sqlite3*> SearchIndex::Reader() const {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_readers_.empty()) {
      sqlite3* db = idle_readers_.back();
      idle_readers_.pop_back();
      return db;
    }
  }
  return Connect(path_);
}

void SearchIndex::Release(sqlite3* db) const {
  absl::MutexLock lock(&mu_);
  if (idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(db);
  } else {
    sqlite3_close(db);
  }
}

absl::StatusOr<std::vector<IndexHit>> SearchIndex::Search(
    const IndexQuery& query) const {
  const std::string rank = RankSql();
  Where where;
  where.Add("docs MATCH ?", query.expression);
  AddFilters(query.filters, &where);
  if (query.min_matched_phrases > 1) {
    where.Add(absl::StrCat(kMatchedPhraseCountFunction, "(docs) >= ?"),
              int64_t{query.min_matched_phrases});
  }
  if (query.after) {
    where.Add(
        absl::StrCat("(", rank, " > ? OR (", rank, " = ? AND c.claim_id > ?))"),
        query.after->rank, query.after->rank, query.after->claim_id);
  }
  const std::string sql = absl::StrCat(
      "SELECT c.claim_id, ", rank,
      ", snippet(docs, -1, ?, ?, '\xE2\x80\xA6', 24), c.status, c.rating, "
      "c.claimant, c.subject, docs.text, c.asserted_at, c.overdue_from, ",
      kMatchedPhrasesFunction,
      "(docs) FROM docs JOIN claims c ON c.id = docs.rowid WHERE ", where.Sql(),
      " ORDER BY 2, c.claim_id LIMIT ?");
  absl::StatusOr<sqlite3*> db = Reader();
  if (!db.ok()) return db.status();
  std::vector<IndexHit> hits;
  absl::Status status = [&]() -> absl::Status {
    Statement st(*db, sql);
    if (!st.ok()) return SqliteError(*db, "preparing a search");
    st.Bind(1, query.highlight_start);
    st.Bind(2, query.highlight_end);
    where.BindAll(&st, 3);
    st.Bind(sqlite3_bind_parameter_count(st.get()),
            static_cast<int64_t>(query.limit));
    const int64_t now = absl::ToUnixMicros(query.filters.now);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      IndexHit& hit = hits.emplace_back();
      hit.claim_id = st.Text(0);
      hit.rank = st.Double(1);
      hit.snippet = st.Text(2);
      hit.status = static_cast<v1::ClaimStatus>(st.Int(3));
      if (!st.IsNull(9) && st.Int(9) < now) {
        hit.status = v1::CLAIM_STATUS_OVERDUE;
      }
      hit.rating = static_cast<v1::Rating>(st.Int(4));
      hit.claimant = st.Text(5);
      hit.subject = st.Text(6);
      hit.text = st.Text(7);
      hit.asserted_at_micros = st.Int(8);
      hit.matched_phrases = static_cast<uint64_t>(st.Int(10));
    }
    if (rc == SQLITE_DONE) return absl::OkStatus();
    const std::string message = sqlite3_errmsg(*db);
    // FTS5 judges the expression while the statement runs: its complaints
    // are the query's fault.
    if (absl::StartsWith(message, "fts5:") ||
        absl::StrContains(message, "unterminated string") ||
        absl::StartsWith(message, "no such column") ||
        absl::StrContains(message, "unknown special query")) {
      return absl::InvalidArgumentError(absl::StrCat("query: ", message));
    }
    return SqliteError(*db, "searching");
  }();
  Release(*db);
  if (!status.ok()) return status;
  return hits;
}

absl::Status SearchIndex::ForEachEntry(
    const std::function<bool(const IndexEntry&)>& fn) const {
  absl::StatusOr<sqlite3*> db = Reader();
  if (!db.ok()) return db.status();
  absl::Status status = [&]() -> absl::Status {
    Statement st(*db,
                 "SELECT claim_id, version, status, claimant, subject FROM "
                 "claims ORDER BY claim_id");
    if (!st.ok()) return SqliteError(*db, "listing claims");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      IndexEntry entry;
      entry.claim_id = st.Text(0);
      entry.version = static_cast<uint64_t>(st.Int(1));
      entry.stored_status = static_cast<v1::ClaimStatus>(st.Int(2));
      entry.claimant = st.Text(3);
      entry.subject = st.Text(4);
      if (!fn(entry)) return absl::OkStatus();
    }
    if (rc != SQLITE_DONE) return SqliteError(*db, "listing claims");
    return absl::OkStatus();
  }();
  Release(*db);
  return status;
}

}  // namespace factlog::search
