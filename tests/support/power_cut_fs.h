#ifndef FACTLOG_TESTS_SUPPORT_POWER_CUT_FS_H_
#define FACTLOG_TESTS_SUPPORT_POWER_CUT_FS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace factlog::testing {

// A RocksDB FileSystem over the local one that can simulate a power cut: it
// loses everything the process wrote but did not make durable, where
// SIGKILL (crash_test) loses nothing the kernel was given.
//
// What it counts as durable, per file and per directory entry:
//   - a file's bytes up to its length at its last Sync or Fsync (through
//     any handle of the same inode: hard links share it). RangeSync,
//     Flush and Close make nothing durable;
//   - a directory entry made by creating, renaming or hard-linking a file,
//     or by creating a directory, once the directory that holds it was
//     fsynced (FSDirectory::Fsync / FsyncWithDirOptions). A rename over an
//     existing file not yet made durable brings the old file back (its
//     synced bytes, for files under 1 MiB, such as CURRENT);
//   - files and directories that existed before this file system saw them,
//     as they are.
// Deletions count as durable at once (a deleted file that came back would
// be one RocksDB deletes again as obsolete); writes through
// NewRandomRWFile too (RocksDB uses them only to patch ingested files).
//
// Syncs are recorded, not performed: durability is what this model says,
// which keeps the tests fast.
//
// Use: PowerOff() or CutAfter(n) makes every mutating call (appends, syncs,
// creating, renaming, linking, deleting files) fail with IOError from that
// moment, as if the machine had stopped; the store is then closed (its
// handles must all be released) and PowerCut() rewrites the files as a
// reboot would find them: each truncated to its synced length, entries
// that were not durable removed. Then the file system works again.
// Thread-safe; every forwarded call is made under one lock, so that
// nothing slips between a cut and the calls it stops.
class PowerCutFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  PowerCutFileSystem();
  ~PowerCutFileSystem() override;
  const char* Name() const override { return "PowerCutFileSystem"; }

  // The power goes off now: every later mutating call fails.
  void PowerOff();
  // The power goes off at the n-th mutating call from now (n >= 1: that
  // call fails); n = 0 cancels a pending cut.
  void CutAfter(uint64_t n);
  bool powered_off() const;
  // Mutating calls since construction: to choose a CutAfter.
  uint64_t mutating_calls() const;

  // After PowerOff (or a CutAfter that happened) and once every file is
  // closed: makes the disk what a reboot would find. Returns a summary
  // (files truncated, entries dropped) for the test's log, and turns the
  // power back on. Safe to call with the power on (cuts now).
  std::string PowerCut();

  // ---- rocksdb::FileSystem ----
  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& name, const std::string& old_name,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSRandomRWFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name,
                                 const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& name, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& name,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& name,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& name,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src,
                               const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

 private:
  class File;
  class Directory;
  // What a power cut keeps of one inode.
  struct Inode {
    uint64_t size = 0;    // bytes written
    uint64_t synced = 0;  // bytes durable
  };
  struct Entry {
    std::shared_ptr<Inode> inode;  // null for a directory
    bool durable = false;          // the directory entry survives a cut
    // What a cut brings back at this path when the entry is not durable:
    // the synced bytes of the durable file a rename replaced.
    std::optional<std::string> replaced;
  };

  // Counts one mutating call; false when the power is (now) off.
  bool PowerOn() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry of `path`, made for a file that existed before (durable, its
  // size synced) when there is none.
  Entry& Track(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by path
  bool off_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cut_at_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none pending
};

// An Env whose files go through `fs` (rocksdb::NewCompositeEnv), for
// StoreOptions::env.
std::unique_ptr<rocksdb::Env> NewPowerCutEnv(
    const std::shared_ptr<PowerCutFileSystem>& fs);

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_POWER_CUT_FS_H_
