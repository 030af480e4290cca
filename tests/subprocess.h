#ifndef FACTLOG_TESTS_SUBPROCESS_H_
#define FACTLOG_TESTS_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace factlog::testing {

// A child process whose stdout and stderr are read together, line by line.
// The destructor SIGKILLs a child still running.
class Subprocess {
 public:
  // Starts argv[0] (a path) with argv[1..]; `env` entries ("K=V") are added
  // to the inherited environment.
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

// A factlogd child on 127.0.0.1, a free port, over `data_dir`.
struct FactlogdProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;  // "127.0.0.1:PORT"
};
absl::StatusOr<FactlogdProcess> StartFactlogd(const std::string& binary,
                                              const std::string& data_dir);

// Like StartFactlogd, but listening on `listen` ("127.0.0.1:PORT"), so that
// a restarted factlogd comes back where its predecessor was. Fails (the child
// has then exited) when the address cannot be bound, e.g. still in use.
absl::StatusOr<FactlogdProcess> StartFactlogdOn(const std::string& binary,
                                                const std::string& data_dir,
                                                const std::string& listen);

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_SUBPROCESS_H_
