#include "tests/support/power_cut_fs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace factlog::testing {
namespace {

namespace fs = std::filesystem;

rocksdb::IOStatus PowerIsOff() {
  return rocksdb::IOStatus::IOError("simulated power cut");
}

// One spelling per path: no repeated or trailing slashes.
std::string Normal(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool IsUnder(const std::string& path, const std::string& dir) {
  return absl::StartsWith(path, dir + "/");
}

constexpr uint64_t kMaxReplacedBytes = 1 << 20;

}  // namespace

class PowerCutFileSystem::File final
    : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  File(std::unique_ptr<rocksdb::FSWritableFile> file, PowerCutFileSystem* fs,
       std::shared_ptr<Inode> inode)
      : FSWritableFileOwnerWrapper(std::move(file)),
        fs_(fs),
        inode_(std::move(inode)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Append(data, options, dbg);
    if (s.ok()) inode_->size += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data,
                           const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Append(data, options, info, dbg);
    if (s.ok()) inode_->size += data.size();
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    rocksdb::IOStatus s =
        target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) inode_->size = std::max(inode_->size, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data,
                                     uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    rocksdb::IOStatus s =
        target()->PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) inode_->size = std::max(inode_->size, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    rocksdb::IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      inode_->size = size;
      inode_->synced = std::min(inode_->synced, size);
    }
    return s;
  }
  // Only these make data durable, and only what was written before them.
  rocksdb::IOStatus Sync(const rocksdb::IOOptions&,
                         rocksdb::IODebugContext*) override {
    return MakeDurable();
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions&,
                          rocksdb::IODebugContext*) override {
    return MakeDurable();
  }
  // sync_file_range: writes pages back, promises nothing (no metadata).
  rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    return rocksdb::IOStatus::OK();
  }

 private:
  rocksdb::IOStatus MakeDurable() {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    inode_->synced = inode_->size;
    return rocksdb::IOStatus::OK();
  }

  PowerCutFileSystem* const fs_;
  const std::shared_ptr<Inode> inode_;
};

class PowerCutFileSystem::Directory final : public rocksdb::FSDirectoryWrapper {
 public:
  Directory(std::unique_ptr<rocksdb::FSDirectory> dir, PowerCutFileSystem* fs,
            std::string path)
      : FSDirectoryWrapper(std::move(dir)), fs_(fs), path_(std::move(path)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions&,
                          rocksdb::IODebugContext*) override {
    return MakeEntriesDurable();
  }
  rocksdb::IOStatus FsyncWithDirOptions(
      const rocksdb::IOOptions&, rocksdb::IODebugContext*,
      const rocksdb::DirFsyncOptions&) override {
    return MakeEntriesDurable();
  }

 private:
  rocksdb::IOStatus MakeEntriesDurable() {
    absl::MutexLock lock(&fs_->mu_);
    if (!fs_->PowerOn()) return PowerIsOff();
    for (auto& [path, entry] : fs_->entries_) {
      if (Parent(path) != path_) continue;
      entry.durable = true;
      entry.replaced.reset();
    }
    return rocksdb::IOStatus::OK();
  }

  PowerCutFileSystem* const fs_;
  const std::string path_;
};

PowerCutFileSystem::PowerCutFileSystem()
    : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
PowerCutFileSystem::~PowerCutFileSystem() = default;

void PowerCutFileSystem::PowerOff() {
  absl::MutexLock lock(&mu_);
  off_ = true;
}

void PowerCutFileSystem::CutAfter(uint64_t n) {
  absl::MutexLock lock(&mu_);
  cut_at_ = n == 0 ? 0 : calls_ + n;
}

bool PowerCutFileSystem::powered_off() const {
  absl::MutexLock lock(&mu_);
  return off_;
}

uint64_t PowerCutFileSystem::mutating_calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

bool PowerCutFileSystem::PowerOn() {
  if (off_) return false;
  ++calls_;
  if (cut_at_ != 0 && calls_ >= cut_at_) {
    off_ = true;
    cut_at_ = 0;
    return false;
  }
  return true;
}

PowerCutFileSystem::Entry& PowerCutFileSystem::Track(const std::string& path) {
  auto it = entries_.find(path);
  if (it != entries_.end()) return it->second;
  Entry& entry = entries_[path];
  entry.inode = std::make_shared<Inode>();
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  entry.inode->size = entry.inode->synced = ec ? 0 : size;
  entry.durable = true;
  return entry;
}

std::string PowerCutFileSystem::PowerCut() {
  absl::MutexLock lock(&mu_);
  int dirs_dropped = 0, files_dropped = 0, files_restored = 0;
  int files_truncated = 0;
  uint64_t bytes_lost = 0;
  std::error_code ec;
  // Directories whose entry was never made durable go with what they hold.
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.inode != nullptr || it->second.durable) {
      ++it;
      continue;
    }
    const std::string dir = it->first;
    fs::remove_all(dir, ec);
    ++dirs_dropped;
    it = entries_.erase(it);
    while (it != entries_.end() && IsUnder(it->first, dir)) {
      it = entries_.erase(it);
    }
  }
  for (auto& [path, entry] : entries_) {
    if (entry.inode == nullptr) continue;
    if (!entry.durable) {
      if (entry.replaced.has_value()) {
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            << *entry.replaced;
        ++files_restored;
      } else {
        bytes_lost += entry.inode->size;
        fs::remove(path, ec);
        ++files_dropped;
      }
      continue;
    }
    const uint64_t size = fs::file_size(path, ec);
    if (!ec && size > entry.inode->synced) {
      bytes_lost += size - entry.inode->synced;
      fs::resize_file(path, entry.inode->synced, ec);
      ++files_truncated;
    }
  }
  entries_.clear();
  off_ = false;
  cut_at_ = 0;
  return absl::StrCat("power cut: ", files_truncated, " files truncated, ",
                      files_dropped, " files and ", dirs_dropped,
                      " directories dropped, ", files_restored,
                      " renames undone, ", bytes_lost, " bytes lost");
}

rocksdb::IOStatus PowerCutFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result,
    rocksdb::IODebugContext* dbg) {
  const std::string path = Normal(name);
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  rocksdb::IOStatus s =
      FileSystemWrapper::NewWritableFile(name, options, result, dbg);
  if (!s.ok()) return s;
  Entry& entry = existed ? Track(path) : entries_[path];
  entry.inode = std::make_shared<Inode>();  // O_TRUNC: nothing synced
  *result = std::make_unique<File>(std::move(*result), this, entry.inode);
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::ReopenWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result,
    rocksdb::IODebugContext* dbg) {
  const std::string path = Normal(name);
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  rocksdb::IOStatus s =
      FileSystemWrapper::ReopenWritableFile(name, options, result, dbg);
  if (!s.ok()) return s;
  Entry& entry = existed ? Track(path) : entries_[path];
  if (entry.inode == nullptr) entry.inode = std::make_shared<Inode>();
  *result = std::make_unique<File>(std::move(*result), this, entry.inode);
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::ReuseWritableFile(
    const std::string&, const std::string&, const rocksdb::FileOptions&,
    std::unique_ptr<rocksdb::FSWritableFile>*, rocksdb::IODebugContext*) {
  return rocksdb::IOStatus::NotSupported("PowerCutFileSystem: recycled WALs");
}

rocksdb::IOStatus PowerCutFileSystem::NewRandomRWFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  return FileSystemWrapper::NewRandomRWFile(name, options, result, dbg);
}

rocksdb::IOStatus PowerCutFileSystem::NewDirectory(
    const std::string& name, const rocksdb::IOOptions& options,
    std::unique_ptr<rocksdb::FSDirectory>* result,
    rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s =
      FileSystemWrapper::NewDirectory(name, options, result, dbg);
  if (s.ok()) {
    *result =
        std::make_unique<Directory>(std::move(*result), this, Normal(name));
  }
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::DeleteFile(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  rocksdb::IOStatus s = FileSystemWrapper::DeleteFile(name, options, dbg);
  if (s.ok()) entries_.erase(Normal(name));
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::Truncate(
    const std::string& name, size_t size, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  rocksdb::IOStatus s = FileSystemWrapper::Truncate(name, size, options, dbg);
  if (s.ok()) {
    Entry& entry = Track(Normal(name));
    entry.inode->size = size;
    entry.inode->synced = std::min<uint64_t>(entry.inode->synced, size);
  }
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::CreateDir(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  rocksdb::IOStatus s = FileSystemWrapper::CreateDir(name, options, dbg);
  if (s.ok()) entries_[Normal(name)] = Entry{};
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::CreateDirIfMissing(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  std::error_code ec;
  const bool existed = fs::exists(name, ec);
  rocksdb::IOStatus s =
      FileSystemWrapper::CreateDirIfMissing(name, options, dbg);
  if (s.ok() && !existed) entries_[Normal(name)] = Entry{};
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::DeleteDir(
    const std::string& name, const rocksdb::IOOptions& options,
    rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  rocksdb::IOStatus s = FileSystemWrapper::DeleteDir(name, options, dbg);
  if (s.ok()) entries_.erase(Normal(name));
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::RenameFile(
    const std::string& src, const std::string& target,
    const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  const std::string from = Normal(src), to = Normal(target);
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  std::error_code ec;
  if (fs::is_directory(from, ec)) {
    rocksdb::IOStatus s =
        FileSystemWrapper::RenameFile(src, target, options, dbg);
    if (!s.ok()) return s;
    std::vector<std::pair<std::string, Entry>> moved;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->first == from || IsUnder(it->first, from)) {
        moved.emplace_back(to + it->first.substr(from.size()),
                           std::move(it->second));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [path, entry] : moved) entries_[path] = std::move(entry);
    entries_[to] = Entry{};  // the new name is not durable yet
    return s;
  }
  // What a cut would bring back at `to`.
  std::optional<std::string> replaced;
  if (fs::exists(to, ec)) {
    Entry& old = Track(to);
    if (!old.durable) {
      replaced = old.replaced;
    } else if (old.inode->synced <= kMaxReplacedBytes) {
      std::ifstream in(to, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
      bytes.resize(std::min<uint64_t>(bytes.size(), old.inode->synced));
      replaced = std::move(bytes);
    }
  }
  rocksdb::IOStatus s =
      FileSystemWrapper::RenameFile(src, target, options, dbg);
  if (!s.ok()) return s;
  Entry entry = Track(from);
  entries_.erase(from);
  entry.durable = false;
  entry.replaced = std::move(replaced);
  entries_[to] = std::move(entry);
  return s;
}

rocksdb::IOStatus PowerCutFileSystem::LinkFile(
    const std::string& src, const std::string& target,
    const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  absl::MutexLock lock(&mu_);
  if (!PowerOn()) return PowerIsOff();
  rocksdb::IOStatus s = FileSystemWrapper::LinkFile(src, target, options, dbg);
  if (!s.ok()) return s;
  std::shared_ptr<Inode> inode = Track(Normal(src)).inode;
  Entry& entry = entries_[Normal(target)];
  entry.inode = std::move(inode);
  entry.durable = false;
  entry.replaced.reset();
  return s;
}

std::unique_ptr<rocksdb::Env> NewPowerCutEnv(
    const std::shared_ptr<PowerCutFileSystem>& fs) {
  return rocksdb::NewCompositeEnv(fs);
}

}  // namespace factlog::testing
