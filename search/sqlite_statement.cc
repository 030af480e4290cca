#include "search/sqlite_statement.h"

#include "absl/strings/str_cat.h"

namespace factlog::search {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  const std::string message =
      absl::StrCat("search index: ", what, ": ", sqlite3_errmsg(db));
  if ((code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR ||
      (code & 0xff) == SQLITE_BUSY) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, sql);
  }
  return absl::OkStatus();
}

int Run(Statement& st) {
  const int rc = st.Step();
  st.Reset();
  return rc;
}

}  // namespace factlog::search
