// Process helpers: a child process (the real factlogd, for `rebuild` and
// `idle-sub`) whose output is read line by line, and what /proc says about
// memory.
#ifndef FACTLOG_BENCH_PROCESS_H_
#define FACTLOG_BENCH_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace factlog::bench {

// Resident set size of `pid` (0: this process) in bytes; 0 if unknown.
uint64_t ProcessRssBytes(pid_t pid = 0);

// Bytes of the regular files under `dir`.
uint64_t DirectoryBytes(const std::string& dir);

// A child with stdout and stderr on one pipe. The destructor SIGKILLs a
// child still running and reaps it. Not thread-safe.
class ChildProcess {
 public:
  // Starts argv[0] (a path) with argv[1..].
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::vector<std::string>& argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads output until a line containing `needle`; returns that line.
  // DEADLINE_EXCEEDED after `timeout`, NOT_FOUND when output ends first.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle,
                                          absl::Duration timeout);
  // Everything read so far.
  const std::string& output() const { return output_; }
  void Signal(int signal_number);
  // Reads the rest of the output, then waits for the exit: the exit code,
  // or 128 + the signal. `peak_rss_bytes` (optional) gets the child's
  // maximum resident set size.
  int Wait(uint64_t* peak_rss_bytes = nullptr);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  // Appends what arrives before `deadline`; false at end of output.
  bool ReadSome(absl::Time deadline);

  pid_t pid_;
  int fd_;
  std::string output_;
  size_t scanned_ = 0;  // output_ before this offset holds no match
  bool exited_ = false;
  int exit_code_ = 0;
};

}  // namespace factlog::bench

#endif  // FACTLOG_BENCH_PROCESS_H_
