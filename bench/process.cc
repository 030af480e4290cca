#include "bench/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace factlog::bench {

uint64_t ProcessRssBytes(pid_t pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status")
                            : absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v = line;
    if (absl::ConsumePrefix(&v, "VmRSS:")) {
      v = absl::StripAsciiWhitespace(v);
      absl::ConsumeSuffix(&v, "kB");
      uint64_t kib = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(v), &kib)) {
        return kib * 1024;
      }
    }
  }
  return 0;
}

uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the parent has threads.
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fds[0]));
}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(fd_);
}

bool ChildProcess::ReadSome(absl::Time deadline) {
  const int64_t ms =
      std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30))) <= 0) {
    return true;
  }
  char buf[4096];
  const ssize_t n = read(fd_, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR;
  output_.append(buf, n);
  return true;
}

absl::StatusOr<std::string> ChildProcess::WaitForLine(absl::string_view needle,
                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    // Only whole lines.
    size_t line_start = scanned_;
    for (size_t nl; (nl = output_.find('\n', line_start)) != std::string::npos;
         line_start = nl + 1) {
      absl::string_view line(output_.data() + line_start, nl - line_start);
      if (line.find(needle) != absl::string_view::npos) {
        scanned_ = nl + 1;
        return std::string(line);
      }
    }
    scanned_ = line_start;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no line with \"", needle, "\" yet; output so far: ", output_));
    }
    if (!ReadSome(deadline)) {
      return absl::NotFoundError(
          absl::StrCat("output ended without \"", needle, "\": ", output_));
    }
  }
}

void ChildProcess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int ChildProcess::Wait(uint64_t* peak_rss_bytes) {
  while (ReadSome(absl::InfiniteFuture())) {
  }
  if (!exited_) {
    int status = 0;
    rusage usage{};
    while (wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    exited_ = true;
    exit_code_ =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (peak_rss_bytes != nullptr) {
      *peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
    }
  }
  return exit_code_;
}

}  // namespace factlog::bench
