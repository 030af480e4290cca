#ifndef FACTLOG_TESTS_SUPPORT_SUBPROCESS_H_
#define FACTLOG_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace factlog::testing {

// How every test starts a child process (this file's Subprocess, and the
// CLI's end-to-end harness alike), so that they all see the same world.

// The environment a child runs with: this process's without the FACTLOG_*
// variables (so that a developer's server, token or TLS settings cannot
// leak into a test) and without COLUMNS (so that no table depends on the
// developer's terminal), plus `extra` ("K=V"), which may set them.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& extra = {});

// Starts argv[0] (a path) with argv[1..] and ChildEnvironment(extra_env),
// stdin from /dev/null, stdout into `stdout_fd` and stderr into
// `stderr_fd` (they may be the same). The caller keeps and closes its fds.
// Returns the child's pid; INTERNAL when fork fails. A child that cannot
// execute argv[0] says so on stderr and exits 127.
absl::StatusOr<pid_t> SpawnChild(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 int stdout_fd, int stderr_fd);

// A waitpid status as an exit code: the code, or 128 + the signal that
// ended the child.
int DecodeWaitStatus(int status);

// A child process whose stdout and stderr are read together, line by line.
// The destructor SIGKILLs a child still running.
class Subprocess {
 public:
  // Starts argv[0] (a path) with argv[1..] through SpawnChild, `env`
  // entries ("K=V") added to ChildEnvironment.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv,
      const std::vector<std::string>& env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads stdout until a line containing `needle` arrives; returns it.
  // DEADLINE_EXCEEDED after `timeout`, NOT_FOUND when stdout closes first.
  absl::StatusOr<std::string> WaitForLine(absl::string_view needle,
                                          absl::Duration timeout);
  // Everything the child writes until it closes its output (usually: exits).
  absl::StatusOr<std::string> ReadToEnd(absl::Duration timeout);
  void Signal(int signal_number);
  // Waits for exit: the exit code, or 128 + signal number.
  int Wait();
  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  // Appends what is readable within `deadline` to buffered_; false at EOF.
  absl::StatusOr<bool> ReadSome(absl::Time deadline);

  pid_t pid_;
  int stdout_fd_;
  std::string buffered_;
  bool exited_ = false;
  int exit_code_ = 0;
};

// Runs argv to completion: its exit code and its output.
struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved
};
RunResult RunToCompletion(const std::vector<std::string>& argv,
                          absl::Duration timeout = absl::Seconds(60));

// A factlogd child on 127.0.0.1, a port it picks (port 0) and reports,
// over `data_dir`. A restarted one gets a new port: never release a port
// and bind it again (tests/support/tcp_relay.h keeps an address fixed).
struct FactlogdProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;  // "127.0.0.1:PORT"
};
absl::StatusOr<FactlogdProcess> StartFactlogd(const std::string& binary,
                                              const std::string& data_dir);

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUPPORT_SUBPROCESS_H_
