#include "tests/support/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace factlog::testing {

std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "FACTLOG_") &&
        !absl::StartsWith(*e, "COLUMNS=")) {
      env.emplace_back(*e);
    }
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

absl::StatusOr<pid_t> SpawnChild(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 int stdout_fd, int stderr_fd) {
  // Everything the child needs is made before fork: only async-signal-safe
  // calls happen in it.
  std::vector<std::string> env = ChildEnvironment(extra_env);
  std::vector<char*> c_argv;
  for (const std::string& a : argv)
    c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (std::string& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(stdout_fd, STDOUT_FILENO);
    dup2(stderr_fd, STDERR_FILENO);
    execve(c_argv[0], c_argv.data(), c_env.data());
    const int error = errno;
    dprintf(STDERR_FILENO, "cannot execute %s: %s\n", c_argv[0],
            strerror(error));
    _exit(127);
  }
  return pid;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  absl::StatusOr<pid_t> pid = SpawnChild(argv, env, out[1], out[1]);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  return std::unique_ptr<Subprocess>(new Subprocess(*pid, out[0]));
}

Subprocess::~Subprocess() {
  if (!exited_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  close(stdout_fd_);
}

absl::StatusOr<bool> Subprocess::ReadSome(absl::Time deadline) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("child output timed out");
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    const int ready =
        poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

absl::StatusOr<std::string> Subprocess::WaitForLine(absl::string_view needle,
                                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t newline;
    while ((newline = buffered_.find('\n')) != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      if (absl::StrContains(line, needle)) return line;
    }
    absl::StatusOr<bool> more = ReadSome(deadline);
    if (!more.ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no line containing \"", needle, "\""));
    }
    if (!*more) {
      return absl::NotFoundError(absl::StrCat(
          "output closed before a line containing \"", needle, "\""));
    }
  }
}

absl::StatusOr<std::string> Subprocess::ReadToEnd(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<bool> more = ReadSome(deadline);
    if (!more.ok()) return more.status();
    if (!*more) return std::exchange(buffered_, std::string());
  }
}

void Subprocess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int Subprocess::Wait() {
  if (exited_) return exit_code_;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  exit_code_ = DecodeWaitStatus(status);
  return exit_code_;
}

RunResult RunToCompletion(const std::vector<std::string>& argv,
                          absl::Duration timeout) {
  RunResult result;
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start(argv);
  if (!child.ok()) {
    result.output = std::string(child.status().message());
    return result;
  }
  absl::StatusOr<std::string> output = (*child)->ReadToEnd(timeout);
  result.output =
      output.ok() ? *output : std::string(output.status().message());
  if (!output.ok()) (*child)->Signal(SIGKILL);
  result.exit_code = (*child)->Wait();
  return result;
}

absl::StatusOr<FactlogdProcess> StartFactlogd(const std::string& binary,
                                              const std::string& data_dir) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {binary, "--listen", "127.0.0.1:0", "--data-dir", data_dir});
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line =
      (*process)->WaitForLine("listening on ", absl::Seconds(30));
  if (!line.ok()) return line.status();
  // "factlogd listening on 127.0.0.1:PORT (data dir ...)"
  const size_t start = line->find("listening on ") + 13;
  const size_t end = line->find(' ', start);
  FactlogdProcess out;
  out.address = line->substr(start, end - start);
  out.process = *std::move(process);
  return out;
}

}  // namespace factlog::testing
