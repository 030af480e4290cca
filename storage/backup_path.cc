#include "storage/backup_path.h"

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace factlog::storage {
namespace {

namespace fs = std::filesystem;

// Whether `path` is `root` or lies below it, comparing whole components
// (so /b/backups-old is not below /b/backups). Both lexically normal,
// without a trailing separator.
bool IsWithin(const fs::path& root, const fs::path& path) {
  auto p = path.begin();
  for (const fs::path& part : root) {
    if (p == path.end() || part != *p) return false;
    ++p;
  }
  return true;
}

}  // namespace

std::string DefaultBackupRoot(const std::string& data_dir) {
  fs::path data = fs::absolute(data_dir).lexically_normal();
  // "./data/" normalizes to ".../data/": its parent_path is ".../data".
  if (!data.has_filename()) data = data.parent_path();
  return (data.parent_path() / "backups").string();
}

absl::StatusOr<std::string> ResolveBackupPath(const std::string& root,
                                              absl::string_view requested) {
  if (requested.empty()) {
    return absl::InvalidArgumentError("dir: required");
  }
  if (requested.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("dir: contains a NUL byte");
  }
  const fs::path asked{std::string(requested)};
  for (const fs::path& part : asked) {
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(
          "dir: '..' is not allowed in a backup path (", requested, ")"));
    }
  }
  fs::path base = fs::path(root).lexically_normal();
  if (!base.has_filename()) base = base.parent_path();
  fs::path target = (base / asked).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  if (!IsWithin(base, target) || target == base) {
    return absl::PermissionDeniedError(absl::StrCat(
        "dir: ", requested, " is outside the backup directory ", base.string(),
        " (factlogd --backup-dir); name a new "
        "directory inside it"));
  }
  std::error_code ec;
  if (fs::symlink_status(target, ec).type() != fs::file_type::not_found) {
    return absl::AlreadyExistsError(absl::StrCat(
        "dir: ", target.string(), " already exists; name a new one"));
  }
  // Symlinks among the directories on the way (the root's own included)
  // must not lead out of where the root really is.
  const fs::path real_root = fs::weakly_canonical(base, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("dir: cannot resolve the backup directory ", base.string(),
                     ": ", ec.message()));
  }
  const fs::path real_target = fs::weakly_canonical(target, ec);
  if (ec || !IsWithin(real_root, real_target) || real_target == real_root) {
    return absl::PermissionDeniedError(
        absl::StrCat("dir: ", requested, " leads outside the backup directory ",
                     base.string(), " through a symbolic link"));
  }
  return target.string();
}

}  // namespace factlog::storage
