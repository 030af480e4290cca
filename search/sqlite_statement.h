// The search index's thin layer over SQLite's C API: prepared statements
// that finalize themselves, and SQLite's errors as absl::Status.
// Not thread-safe: a Statement belongs to its connection's one user.
#ifndef FACTLOG_SEARCH_SQLITE_STATEMENT_H_
#define FACTLOG_SEARCH_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace factlog::search {

// `db`'s last error as a status naming `what`: UNAVAILABLE for a full
// disk, an I/O error or a busy database (worth retrying later), INTERNAL
// otherwise.
absl::Status SqliteError(sqlite3* db, absl::string_view what);

// Runs `sql` (one or more statements, no results). SqliteError on failure.
absl::Status Exec(sqlite3* db, const char* sql);

// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, absl::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()),
                             &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Bind(int i, absl::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  void BindNull(int i) { sqlite3_bind_null(stmt_, i); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }
  double Double(int column) { return sqlite3_column_double(stmt_, column); }
  bool IsNull(int column) {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  // Valid until the next Step or Reset.
  absl::string_view TextView(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr
               ? absl::string_view()
               : absl::string_view(reinterpret_cast<const char*>(text),
                                   sqlite3_column_bytes(stmt_, column));
  }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? std::string()
                           : std::string(reinterpret_cast<const char*>(text),
                                         sqlite3_column_bytes(stmt_, column));
  }

 private:
  sqlite3* const db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

// Steps `st` to completion and resets it: SQLITE_DONE, or an error code.
int Run(Statement& st);

}  // namespace factlog::search

#endif  // FACTLOG_SEARCH_SQLITE_STATEMENT_H_
