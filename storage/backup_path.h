#ifndef FACTLOG_STORAGE_BACKUP_PATH_H_
#define FACTLOG_STORAGE_BACKUP_PATH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace factlog::storage {

// Where factlogd keeps backups when --backup-dir is not given: the
// directory `backups` next to the data dir (data dir /var/lib/factlog/data
// -> /var/lib/factlog/backups), as an absolute path. Never inside the data
// dir (RocksDB owns it), never the server's working directory as such.
std::string DefaultBackupRoot(const std::string& data_dir);

// Resolves `requested`, the directory a client names for a new backup
// (BackupRequest.dir), inside `root`, the one directory backups may be
// written to (absolute, lexically normal; factlogd's --backup-dir). A
// relative `requested` is taken relative to `root`; an absolute one must
// name a path below `root`. Returns the absolute path to back up into
// (`root` joined with the relative part, symlinks not resolved), or, with
// the field named in the message and nothing created:
//   INVALID_ARGUMENT   `requested` is empty, holds a NUL byte, or has a
//                      ".." component (anywhere: no traversal, even one
//                      that would come back inside `root`)
//   PERMISSION_DENIED  an absolute `requested` outside `root` or equal to
//                      it, or a path whose existing directories, symlinks
//                      resolved, lead outside `root`'s real location
//   ALREADY_EXISTS     something (a file, a directory, a symlink, even a
//                      dangling one) is already at the resolved path
// Reads the file system (to resolve symlinks) but writes nothing. What it
// checks can change before the caller writes: whoever can write inside
// `root` can race it, so `root` must be writable by factlogd alone.
// Thread-safe.
absl::StatusOr<std::string> ResolveBackupPath(const std::string& root,
                                              absl::string_view requested);

}  // namespace factlog::storage

#endif  // FACTLOG_STORAGE_BACKUP_PATH_H_
