// End to end: the real `factlog` binary against a real `factlogd`, both as
// child processes. Each test runs the CLI the way a user would and checks its
// stdout, stderr and exit code; JSON output is parsed back into the proto.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "factlog/v1/service.pb.h"
#include "tests/support/subprocess.h"
#include "tests/support/tcp_relay.h"
#include "tests/support/temp_dir.h"

#ifndef FACTLOG_PATH
#error "FACTLOG_PATH must name the factlog binary"
#endif
#ifndef FACTLOGD_PATH
#error "FACTLOGD_PATH must name the factlogd binary"
#endif

namespace factlog {
namespace {

namespace v1 = factlog::v1;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kChildTimeoutSeconds = 30;

// ---- Processes --------------------------------------------------------------

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

using factlog::testing::ChildEnvironment;
using factlog::testing::DecodeWaitStatus;

// What a child sees when its output goes to a pipe: no COLUMNS, so that
// nothing is cut.
const std::vector<std::string> kPiped = {"COLUMNS="};

// `extra` with COLUMNS=80 (a classic terminal, what the README's
// transcripts show) unless it sets COLUMNS itself.
std::vector<std::string> WithColumns(std::vector<std::string> extra) {
  if (std::none_of(extra.begin(), extra.end(), [](const std::string& e) {
        return absl::StartsWith(e, "COLUMNS=");
      })) {
    extra.emplace_back("COLUMNS=80");
  }
  return extra;
}

// Starts argv (tests/support/subprocess.h: the environment and stdin every
// test child gets) with stdout and stderr into the write ends of
// `out_pipe`/`err_pipe`, which are closed here in the parent; tables 80
// columns wide unless `extra_env` sets COLUMNS. -1 when it cannot (a test
// failure is recorded).
pid_t Spawn(const std::vector<std::string>& argv,
            const std::vector<std::string>& extra_env, int out_pipe[2],
            int err_pipe[2]) {
  absl::StatusOr<pid_t> pid = factlog::testing::SpawnChild(
      argv, WithColumns(extra_env), out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!pid.ok()) {
    ADD_FAILURE() << pid.status();
    return -1;
  }
  return *pid;
}

// Runs argv to completion with stdout and stderr captured. A child still
// running after kChildTimeoutSeconds is killed (exit code 128 + 9).
RunResult RunProcess(std::vector<std::string> argv,
                     const std::vector<std::string>& extra_env = {}) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return {};
  }
  const pid_t pid = Spawn(argv, extra_env, out_pipe, err_pipe);
  RunResult result;
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(kChildTimeoutSeconds);
  bool killed = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = DecodeWaitStatus(status);
  EXPECT_FALSE(killed) << argv[1] << " did not finish in time";
  return result;
}

using factlog::testing::TempDir;

// A factlogd child serving `data_dir` on `listen` (by default a fresh data
// directory on 127.0.0.1:<free port>). Stopped with SIGTERM, which must make
// it exit 0, by Stop() or at the end. Its stdout is collected (Output()).
class Factlogd {
 public:
  Factlogd() : Factlogd("127.0.0.1:0", "") {}

  // An empty `data_dir` means a fresh temporary one, removed at the end;
  // a given one is kept. `extra_args` are appended to the command line
  // (e.g. {"--tls-cert", ...}).
  Factlogd(const std::string& listen, const std::string& data_dir,
           const std::vector<std::string>& extra_args = {}) {
    if (data_dir.empty()) owned_dir_ = std::make_unique<TempDir>();
    // A fresh data dir is `data` in a temp dir of its own, so that the
    // default backup directory (`backups` next to it) is this server's.
    const std::string dir =
        data_dir.empty() ? owned_dir_->path() + "/data" : data_dir;
    int out_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    std::vector<std::string> argv = {FACTLOGD_PATH, "--listen", listen,
                                     "--data-dir", dir};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // stderr too: factlogd's log (SIGHUP reloads, request lines) is there.
    absl::StatusOr<pid_t> pid =
        factlog::testing::SpawnChild(argv, {}, out_pipe[1], out_pipe[1]);
    if (!pid.ok()) ADD_FAILURE() << pid.status();
    pid_ = pid.ok() ? *pid : -1;
    close(out_pipe[1]);
    stdout_fd_ = out_pipe[0];
    address_ = WaitForListeningAddress();
    // Keep draining stdout so the server never blocks on a full pipe.
    drain_ = std::thread([this, fd = stdout_fd_] {
      char buffer[4096];
      ssize_t n;
      while ((n = read(fd, buffer, sizeof buffer)) > 0) {
        std::lock_guard<std::mutex> lock(output_mu_);
        output_.append(buffer, static_cast<size_t>(n));
        output_cv_.notify_all();
      }
    });
  }

  Factlogd(const Factlogd&) = delete;
  Factlogd& operator=(const Factlogd&) = delete;
  ~Factlogd() { Stop(); }

  // Sends SIGTERM and expects a clean exit. Idempotent.
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      EXPECT_EQ(WaitForExit(), 0) << "factlogd did not exit cleanly on SIGTERM";
    }
    if (drain_.joinable()) drain_.join();
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
  }

  const std::string& address() const { return address_; }
  // The port of address().
  std::string port() const { return address_.substr(address_.rfind(':') + 1); }

  void Signal(int signal_number) {
    if (pid_ > 0) kill(pid_, signal_number);
  }

  // Waits up to 10 s for `text` to appear in stdout or stderr; returns
  // whether it did.
  bool WaitForOutput(const std::string& text) {
    std::unique_lock<std::mutex> lock(output_mu_);
    return output_cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      return output_.find(text) != std::string::npos;
    });
  }

  std::string Output() {
    std::lock_guard<std::mutex> lock(output_mu_);
    return output_;
  }

 private:
  // Reads stdout up to "factlogd listening on HOST:PORT ...".
  std::string WaitForListeningAddress() {
    const std::string kMarker = "factlogd listening on ";
    std::string seen;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
      const size_t at = seen.find(kMarker);
      if (at != std::string::npos) {
        const size_t start = at + kMarker.size();
        const size_t end = seen.find_first_of(" \n", start);
        if (end != std::string::npos) {
          output_ = seen;  // the drain thread has not started yet
          return seen.substr(start, end - start);
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd fd = {stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 ||
          poll(&fd, 1, static_cast<int>(left.count())) <= 0) {
        ADD_FAILURE() << "factlogd did not report listening; stdout: " << seen;
        return "";
      }
      char buffer[1024];
      const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
      if (n <= 0) {
        ADD_FAILURE() << "factlogd exited before listening; stdout: " << seen;
        return "";
      }
      seen.append(buffer, static_cast<size_t>(n));
    }
  }

  int WaitForExit() {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        ADD_FAILURE() << "factlogd ignored SIGTERM";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return DecodeWaitStatus(status);
  }

  std::unique_ptr<TempDir> owned_dir_;
  std::string address_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread drain_;
  std::mutex output_mu_;
  std::condition_variable output_cv_;
  std::string output_;  // stdout so far
};

// A child that keeps running (factlog watch): its stdout is read line by
// line as it is written, its stderr collected on the side. Killed at the
// end if still running.
class Background {
 public:
  explicit Background(std::vector<std::string> argv) : name_(argv.at(1)) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    pid_ = Spawn(argv, {}, out_pipe, err_pipe);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    drain_ = std::thread([this] {
      char buffer[4096];
      ssize_t n;
      while ((n = read(err_fd_, buffer, sizeof buffer)) > 0) {
        std::lock_guard<std::mutex> lock(err_mu_);
        err_.append(buffer, static_cast<size_t>(n));
      }
    });
  }

  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (drain_.joinable()) drain_.join();
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Reads stdout lines, appending each to `lines`, until one satisfies
  // `done` (true) or stdout ends or `timeout` passes (false).
  bool ReadUntil(const std::function<bool(const std::string&)>& done,
                 std::vector<std::string>* lines,
                 std::chrono::seconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const size_t newline = pending_.find('\n');
      if (newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        lines->push_back(line);
        if (done(line)) return true;
        continue;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd fd = {out_fd_, POLLIN, 0};
      if (left.count() <= 0) return false;
      const int ready = poll(&fd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      char buffer[4096];
      const ssize_t n = read(out_fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }

  // Sends `signal` and waits (at most 15 s) for the child to exit; returns
  // its exit code (128 + signal when killed by one).
  int SignalAndWait(int signal) {
    if (pid_ <= 0) {  // never started: kill(-1) would signal everything
      ADD_FAILURE() << name_ << " was not running";
      return -1;
    }
    kill(pid_, signal);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << name_ << " did not exit after signal " << signal;
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
    if (drain_.joinable()) drain_.join();
    return DecodeWaitStatus(status);
  }

  // Everything on stdout not yet returned by ReadUntil plus what is still
  // in the pipe; for use after the child exited.
  std::string RestOfStdout() {
    char buffer[4096];
    ssize_t n;
    while ((n = read(out_fd_, buffer, sizeof buffer)) > 0) {
      pending_.append(buffer, static_cast<size_t>(n));
    }
    return std::exchange(pending_, "");
  }

  std::string err() {
    std::lock_guard<std::mutex> lock(err_mu_);
    return err_;
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string pending_;  // stdout read but not yet split into lines
  std::thread drain_;
  std::mutex err_mu_;
  std::string err_;
};

// A TCP port on 127.0.0.1 that is bound but not listening: connecting to it
// is refused for as long as this object lives.
class DeadPort {
 public:
  DeadPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "bind: " << std::strerror(errno);
    }
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~DeadPort() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

// ---- Output helpers
// -----------------------------------------------------------

template <typename M>
M ParseJson(absl::string_view json) {
  M message;
  auto status =
      google::protobuf::util::JsonStringToMessage(std::string(json), &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << json;
  return message;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// JSON Lines (-o jsonl), or a list as -o json prints it: one array, one
// element per line ("[", "{...},", ..., "{...}", "]"; "[]" when empty).
template <typename M>
std::vector<M> ParseJsonLines(const std::string& text) {
  std::vector<M> out;
  for (std::string line : Lines(text)) {
    if (line == "[" || line == "]" || line == "[]") continue;
    if (!line.empty() && line.back() == ',') line.pop_back();
    out.push_back(ParseJson<M>(line));
  }
  return out;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void ExpectFitsEightyColumns(const std::string& text) {
  for (const std::string& line : Lines(text)) {
    EXPECT_LE(CodePoints(line), 80u) << "too wide: " << line;
  }
}

// stderr of a failed command: exactly one line.
void ExpectOneErrorLine(const RunResult& r) {
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

std::string Time(const google::protobuf::Timestamp& ts) {
  return google::protobuf::util::TimeUtil::ToString(ts);
}

// ---- Fixture
// ---------------------------------------------------------------------

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Factlogd(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static std::string Server() { return server_->address(); }

  // factlog --server <ours> args...
  RunResult Cli(std::vector<std::string> args,
                const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", Server()});
    return RunProcess(std::move(args), env);
  }

  // Runs a command that must succeed; returns its stdout.
  std::string Ok(std::vector<std::string> args) {
    RunResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  void AddClaim(const std::string& id, const std::string& subject = "misc",
                const std::string& claimant = "Vladimir Putin",
                const std::string& kind = "fact") {
    Ok({"claim", "add", "--id", id, "--text", "Claim " + id, "--claimant",
        claimant, "--subject", subject, "--kind", kind, "--asserted-at",
        "2014-05-19"});
  }

  v1::ClaimView ShowJson(const std::string& id) {
    return ParseJson<v1::ClaimView>(Ok({"claim", "show", id, "-o", "json"}));
  }

  std::vector<v1::Event> HistoryJson(const std::string& id) {
    return ParseJsonLines<v1::Event>(
        Ok({"claim", "history", id, "--output", "json"}));
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              absl::StrCat("factlog-cli-", getpid(), "-", name))
                                 .string();
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  static Factlogd* server_;
  std::vector<std::string> files_;
};

Factlogd* CliTest::server_ = nullptr;

// ---- claim add / show
// -----------------------------------------------------------

TEST_F(CliTest, ClaimAddPrintsOneSummaryLine) {
  RunResult r = Cli({"claim",
                     "add",
                     "--id",
                     "putin-orders-withdrawal",
                     "--text",
                     "Putin ordered the troops back to their bases",
                     "--claimant",
                     "Vladimir Putin",
                     "--reported-by",
                     "Dmitry Peskov",
                     "--reported-outlet",
                     "CNN",
                     "--reported-url",
                     "https://cnn.example/1",
                     "--subject",
                     "russia-troops-ukraine-border",
                     "--kind",
                     "fact",
                     "--asserted-at",
                     "2014-05-19T10:00:00Z",
                     "--tag",
                     "ukraine",
                     "--tag",
                     "military"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, MatchesRegex("recorded claim putin-orders-withdrawal v1 "
                                  "\\(position [0-9]+\\) status UNVERIFIED\n"));
}

TEST_F(CliTest, ClaimAddJsonIsTheCommandResponse) {
  RunResult r =
      Cli({"--output", "json", "claim", "add", "--id", "json-add", "--text",
           "Unemployment fell to 5%", "--claimant", "Minister", "--kind",
           "prediction", "--asserted-at", "2014-05-19T12:00:00+02:00",
           "--due-at", "2015-01-01", "--tag", "economy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 1u);
  auto response = ParseJson<v1::CommandResponse>(r.out);
  EXPECT_EQ(response.claim_id(), "json-add");
  EXPECT_EQ(response.version(), 1u);
  EXPECT_FALSE(response.deduplicated());
  EXPECT_EQ(response.claim().kind(), v1::CLAIM_KIND_PREDICTION);
  EXPECT_EQ(Time(response.claim().asserted_at()), "2014-05-19T10:00:00Z");
  EXPECT_EQ(Time(response.claim().due_at()), "2015-01-01T00:00:00Z");
  EXPECT_THAT(response.claim().tags(), ElementsAre("economy"));
}

TEST_F(CliTest, ClaimAddWithoutIdGetsAssignedOne) {
  auto response = ParseJson<v1::CommandResponse>(
      Ok({"claim", "add", "--text", "No id given", "--claimant", "C", "-o",
          "json"}));
  EXPECT_FALSE(response.claim_id().empty());
  EXPECT_EQ(ShowJson(response.claim_id()).text(), "No id given");
}

TEST_F(CliTest, ClaimShowTableHasFieldsAndFitsEightyColumns) {
  const std::string long_text =
      "Putin ordered the troops back to their bases after the exercises near "
      "the Ukrainian border, the Kremlin said, adding that the drills that "
      "had worried NATO for weeks were now complete and that the units would "
      "return to their permanent garrisons within days.";
  Ok({"claim", "add", "--id", "show-table", "--text", long_text, "--claimant",
      "Vladimir Putin", "--reported-by", "Dmitry Peskov", "--reported-outlet",
      "CNN", "--subject", "russia-troops-ukraine-border", "--asserted-at",
      "2014-05-19", "--tag", "ukraine"});
  const std::string out = Ok({"claim", "show", "show-table"});
  EXPECT_THAT(out, HasSubstr("show-table"));
  EXPECT_THAT(out, HasSubstr("Vladimir Putin"));
  EXPECT_THAT(out, HasSubstr("Dmitry Peskov, CNN"));
  EXPECT_THAT(out, HasSubstr("russia-troops-ukraine-border"));
  EXPECT_THAT(out, HasSubstr("2014-05-19T00:00:00Z"));
  EXPECT_THAT(out, HasSubstr("UNVERIFIED"));
  EXPECT_THAT(out, HasSubstr("permanent"));  // long text wrapped, not cut
  ExpectFitsEightyColumns(out);
}

// ---- evidence
// -------------------------------------------------------------------

TEST_F(CliTest, RefutingEvidenceMakesClaimContradicted) {
  AddClaim("refuted");
  RunResult r = Cli(
      {"evidence", "add", "refuted", "--stance", "refutes", "--source", "NATO",
       "--outlet", "Reuters", "--url", "https://reuters.example/nato",
       "--observed-at", "2014-05-20T09:00:00Z", "--note",
       "NATO sees no sign of withdrawal", "--id", "nato-no-sign"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("added evidence nato-no-sign to claim "
                                  "refuted v2 \\(position [0-9]+\\) status "
                                  "CONTRADICTED\n"));

  v1::ClaimView claim = ShowJson("refuted");
  EXPECT_EQ(claim.status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(claim.refuting_sources(), ElementsAre("NATO"));
  EXPECT_THAT(claim.supporting_sources(), ElementsAre());
  ASSERT_EQ(claim.evidence_size(), 1);
  EXPECT_EQ(claim.evidence(0).stance(), v1::STANCE_REFUTES);
  EXPECT_EQ(claim.evidence(0).source().outlet(), "Reuters");
  EXPECT_EQ(Time(claim.evidence(0).observed_at()), "2014-05-20T09:00:00Z");

  const std::string table = Ok({"claim", "show", "refuted"});
  EXPECT_THAT(table, HasSubstr("CONTRADICTED"));
  EXPECT_THAT(table, HasSubstr("- 2014-05-20T09:00:00Z"));
  EXPECT_THAT(table, HasSubstr("NATO sees no sign of withdrawal"));
  EXPECT_THAT(table, MatchesRegex("(.|\n)*Refuted by: +NATO\n(.|\n)*"));
  ExpectFitsEightyColumns(table);
}

TEST_F(CliTest, EvidenceTimelineIsOrderedByObservedTime) {
  AddClaim("disputed");
  Ok({"evidence", "add", "disputed", "--stance", "refutes", "--source", "NATO",
      "--observed-at", "2014-05-21", "--id", "late"});
  Ok({"evidence", "add", "disputed", "--stance", "supports", "--source",
      "Russian MoD", "--observed-at", "2014-05-20", "--id", "early"});
  Ok({"evidence", "add", "disputed", "--stance", "context", "--source", "OSCE",
      "--observed-at", "2014-05-22", "--id", "ctx"});
  EXPECT_EQ(ShowJson("disputed").status(), v1::CLAIM_STATUS_DISPUTED);

  const std::string table = Ok({"claim", "show", "disputed"});
  const size_t supports = table.find("+ 2014-05-20T00:00:00Z");
  const size_t refutes = table.find("- 2014-05-21T00:00:00Z");
  const size_t context = table.find("~ 2014-05-22T00:00:00Z");
  ASSERT_NE(supports, std::string::npos) << table;
  ASSERT_NE(refutes, std::string::npos) << table;
  ASSERT_NE(context, std::string::npos) << table;
  EXPECT_LT(supports, refutes);
  EXPECT_LT(refutes, context);
  EXPECT_THAT(table, MatchesRegex("(.|\n)*Supported by: Russian MoD\n(.|\n)*"));
}

TEST_F(CliTest, WithdrawnEvidenceIsMarkedAndNoLongerCounts) {
  AddClaim("withdrawn");
  Ok({"evidence", "add", "withdrawn", "--stance", "refutes", "--source", "NATO",
      "--id", "wrong-unit"});
  const std::string out = Ok(
      {"evidence", "withdraw", "withdrawn", "wrong-unit", "--reason", "Typo"});
  EXPECT_THAT(out, MatchesRegex("withdrew evidence wrong-unit from claim "
                                "withdrawn v3 \\(position [0-9]+\\) status "
                                "UNVERIFIED\n"));
  v1::ClaimView claim = ShowJson("withdrawn");
  EXPECT_EQ(claim.status(), v1::CLAIM_STATUS_UNVERIFIED);
  ASSERT_EQ(claim.evidence_size(), 1);
  EXPECT_TRUE(claim.evidence(0).withdrawn());
  EXPECT_EQ(claim.evidence(0).withdrawn_reason(), "Typo");
  EXPECT_THAT(claim.refuting_sources(), ElementsAre());

  const std::string table = Ok({"claim", "show", "withdrawn"});
  EXPECT_THAT(table, HasSubstr("(withdrawn)"));
  EXPECT_THAT(table, HasSubstr(": Typo"));
}

// ---- verdict
// -------------------------------------------------------------------

TEST_F(CliTest, VerdictRatesClaim) {
  AddClaim("rated");
  const std::string out =
      Ok({"verdict", "rated", "--rating", "pants-on-fire", "--summary",
          "No withdrawal observed", "--reviewer", "Desk A"});
  EXPECT_THAT(out, MatchesRegex("issued verdict PANTS_ON_FIRE on claim rated "
                                "v2 \\(position [0-9]+\\) status RATED "
                                "PANTS_ON_FIRE\n"));
  v1::ClaimView claim = ShowJson("rated");
  EXPECT_EQ(claim.status(), v1::CLAIM_STATUS_RATED);
  EXPECT_EQ(claim.rating(), v1::RATING_PANTS_ON_FIRE);
  EXPECT_EQ(claim.verdict().reviewer(), "Desk A");
  EXPECT_THAT(Ok({"claim", "show", "rated"}),
              AllOf(HasSubstr("RATED PANTS_ON_FIRE"), HasSubstr("Desk A"),
                    HasSubstr("No withdrawal")));
}

TEST_F(CliTest, VerdictFromWrongScaleIsRefused) {
  AddClaim("wrong-scale");
  RunResult r = Cli({"verdict", "wrong-scale", "--rating", "kept", "--summary",
                     "s", "--reviewer", "r"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: INVALID_ARGUMENT: "));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(HistoryJson("wrong-scale").size(), 1u);
}

// ---- correct / retract / link
// ------------------------------------------------

TEST_F(CliTest, ClaimCorrectKeepsPreviousValues) {
  Ok({"claim", "add", "--id", "corrected", "--text", "Old text", "--tag", "a",
      "--claimant", "C", "--kind", "promise", "--due-at", "2030-01-01"});
  EXPECT_THAT(Ok({"claim", "correct", "corrected", "--text", "New text",
                  "--clear-tags", "--clear-due-at", "--reason", "Misquoted"}),
              MatchesRegex("corrected claim corrected v2 .*\n"));
  v1::ClaimView claim = ShowJson("corrected");
  EXPECT_EQ(claim.text(), "New text");
  EXPECT_THAT(claim.tags(), ElementsAre());
  EXPECT_FALSE(claim.has_due_at());
  ASSERT_EQ(claim.corrections_size(), 1);
  EXPECT_EQ(claim.corrections(0).reason(), "Misquoted");
  EXPECT_EQ(claim.corrections(0).previous().text(), "Old text");

  Ok({"claim", "correct", "corrected", "--tag", "x", "--tag", "y", "--subject",
      "new-subject", "--reason", "Filed wrong"});
  claim = ShowJson("corrected");
  EXPECT_THAT(claim.tags(), ElementsAre("x", "y"));
  EXPECT_EQ(claim.subject(), "new-subject");

  const std::string table = Ok({"claim", "show", "corrected"});
  EXPECT_THAT(table, AllOf(HasSubstr("Corrections:"), HasSubstr("Misquoted"),
                           HasSubstr("was text: Old text")));
}

TEST_F(CliTest, ClaimCorrectNeedsSomethingToChange) {
  AddClaim("nothing-to-correct");
  RunResult r =
      Cli({"claim", "correct", "nothing-to-correct", "--reason", "r"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: nothing to correct"));
  r = Cli({"claim", "correct", "nothing-to-correct", "--tag", "a",
           "--clear-tags", "--reason", "r"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(CliTest, RetractedClaimRejectsEvidence) {
  AddClaim("retracted");
  EXPECT_THAT(
      Ok({"claim", "retract", "retracted", "--reason", "Misattributed"}),
      MatchesRegex("retracted claim retracted v2 \\(position [0-9]+\\) "
                   "status RETRACTED\n"));
  v1::ClaimView claim = ShowJson("retracted");
  EXPECT_TRUE(claim.retracted());
  EXPECT_EQ(claim.retraction_reason(), "Misattributed");

  RunResult r = Cli({"evidence", "add", "retracted", "--stance", "supports",
                     "--source", "Someone"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: FAILED_PRECONDITION: "));
  ExpectOneErrorLine(r);
}

TEST_F(CliTest, ClaimLinkShowsOnBothClaims) {
  AddClaim("link-from");
  AddClaim("link-to");
  EXPECT_THAT(
      Ok({"claim", "link", "link-from", "link-to", "--relation", "same-as"}),
      MatchesRegex("linked claim link-from -> link-to \\(SAME_AS\\) v2 .*\n"));
  v1::ClaimView to = ShowJson("link-to");
  ASSERT_EQ(to.links_size(), 1);
  EXPECT_EQ(to.links(0).other_claim_id(), "link-from");
  EXPECT_EQ(to.links(0).direction(), v1::LINK_DIRECTION_INCOMING);
  EXPECT_EQ(to.links(0).relation(), v1::LINK_RELATION_SAME_AS);
  EXPECT_THAT(Ok({"claim", "show", "link-from"}),
              HasSubstr("-> link-to  SAME_AS"));
  EXPECT_THAT(Ok({"claim", "show", "link-to"}),
              HasSubstr("<- link-from  SAME_AS"));
}

// ---- as-of, list, history
// --------------------------------------------------------

TEST_F(CliTest, ClaimShowAsOfShowsEarlierState) {
  auto recorded = ParseJson<v1::CommandResponse>(
      Ok({"claim", "add", "--id", "as-of", "--text", "t", "--claimant", "C",
          "-o", "json"}));
  auto refuted = ParseJson<v1::CommandResponse>(
      Ok({"evidence", "add", "as-of", "--stance", "refutes", "--source", "NATO",
          "-o", "json"}));
  Ok({"verdict", "as-of", "--rating", "false", "--summary", "s", "--reviewer",
      "r"});

  auto then = ParseJson<v1::ClaimView>(
      Ok({"claim", "show", "as-of", "--as-of-position",
          absl::StrCat(recorded.last_position()), "-o", "json"}));
  EXPECT_EQ(then.version(), 1u);
  EXPECT_EQ(then.status(), v1::CLAIM_STATUS_UNVERIFIED);

  // The server's own clock reading, to the nanosecond, as an RFC 3339 time.
  auto at_evidence = ParseJson<v1::ClaimView>(
      Ok({"claim", "show", "as-of", "--as-of-time",
          Time(refuted.claim().updated_at()), "-o", "json"}));
  EXPECT_EQ(at_evidence.version(), 2u);
  EXPECT_EQ(at_evidence.status(), v1::CLAIM_STATUS_CONTRADICTED);

  EXPECT_EQ(ShowJson("as-of").status(), v1::CLAIM_STATUS_RATED);
}

TEST_F(CliTest, ClaimListFiltersPagesAndPrintsOneJsonLinePerClaim) {
  for (const char* id : {"list-c", "list-a", "list-b"}) {
    AddClaim(id, "list-subject");
  }
  Ok({"evidence", "add", "list-b", "--stance", "refutes", "--source", "X"});

  auto all = ParseJsonLines<v1::ClaimView>(
      Ok({"claim", "list", "--subject", "list-subject", "-o", "json"}));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].claim_id(), "list-a");
  EXPECT_EQ(all[1].claim_id(), "list-b");
  EXPECT_EQ(all[2].claim_id(), "list-c");

  auto contradicted = ParseJsonLines<v1::ClaimView>(
      Ok({"claim", "list", "--subject", "list-subject", "--status",
          "contradicted", "-o", "json"}));
  ASSERT_EQ(contradicted.size(), 1u);
  EXPECT_EQ(contradicted[0].claim_id(), "list-b");

  // --limit smaller than the result, so several pages are followed with
  // --all.
  EXPECT_EQ(ParseJsonLines<v1::ClaimView>(
                Ok({"claim", "list", "--subject", "list-subject", "--limit",
                    "2", "-o", "json"}))
                .size(),
            2u);
  EXPECT_EQ(
      ParseJsonLines<v1::ClaimView>(Ok({"claim", "list", "--subject",
                                        "list-subject", "--all", "-o", "json"}))
          .size(),
      3u);

  const std::string table =
      Ok({"claim", "list", "--subject", "list-subject", "--limit", "2"});
  EXPECT_THAT(table, StartsWith("CLAIM"));
  EXPECT_THAT(table, AllOf(HasSubstr("list-a"), HasSubstr("list-b"),
                           Not(HasSubstr("list-c")), HasSubstr("--all")));
  EXPECT_THAT(table, HasSubstr("CONTRADICTED"));
  ExpectFitsEightyColumns(table);

  EXPECT_EQ(Ok({"claim", "list", "--subject", "no-such-subject"}),
            "no claims\n");
}

TEST_F(CliTest, ClaimHistoryListsEveryEvent) {
  AddClaim("history");
  Ok({"evidence", "add", "history", "--stance", "supports", "--source", "A"});
  Ok({"verdict", "history", "--rating", "true", "--summary", "s", "--reviewer",
      "r"});
  std::vector<v1::Event> events = HistoryJson("history");
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].version(), i + 1);
    EXPECT_EQ(events[i].claim_id(), "history");
  }
  EXPECT_TRUE(events[0].has_claim_recorded());
  EXPECT_TRUE(events[1].has_evidence_added());
  EXPECT_TRUE(events[2].has_verdict_issued());

  const std::string table = Ok({"claim", "history", "history"});
  EXPECT_THAT(table,
              AllOf(HasSubstr("CLAIM_RECORDED"), HasSubstr("EVIDENCE_ADDED"),
                    HasSubstr("VERDICT_ISSUED")));
  ExpectFitsEightyColumns(table);
}

// ---- claimant, subjects, events
// ------------------------------------------------

TEST_F(CliTest, ClaimantShowsTrackRecord) {
  AddClaim("claimant-1", "claimant-subject", "Track Record Person");
  AddClaim("claimant-2", "claimant-subject", "Track Record Person");
  Ok({"evidence", "add", "claimant-1", "--stance", "refutes", "--source", "X"});
  auto view = ParseJson<v1::ClaimantView>(
      Ok({"claimant", "show", "Track Record Person", "-o", "json"}));
  EXPECT_EQ(view.claimant(), "Track Record Person");
  EXPECT_EQ(view.claim_count(), 2u);
  EXPECT_THAT(view.claim_ids(), ElementsAre("claimant-1", "claimant-2"));
  bool saw_contradicted = false;
  for (const auto& c : view.by_status()) {
    if (c.status() == v1::CLAIM_STATUS_CONTRADICTED) {
      EXPECT_EQ(c.count(), 1u);
      saw_contradicted = true;
    }
  }
  EXPECT_TRUE(saw_contradicted);
  const std::string table = Ok({"claimant", "show", "Track Record Person"});
  EXPECT_THAT(table,
              AllOf(HasSubstr("Track Record Person"),
                    HasSubstr("CONTRADICTED 1"), HasSubstr("claimant-2")));
  ExpectFitsEightyColumns(table);
}

TEST_F(CliTest, SubjectsCountsClaimsPerSubject) {
  AddClaim("subject-1", "subjects-test");
  AddClaim("subject-2", "subjects-test");
  auto subjects =
      ParseJsonLines<v1::SubjectSummary>(Ok({"subjects", "-o", "json"}));
  bool found = false;
  for (const auto& s : subjects) {
    if (s.subject() == "subjects-test") {
      EXPECT_EQ(s.claim_count(), 2u);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  const std::string table = Ok({"subjects"});
  EXPECT_THAT(table, AllOf(StartsWith("SUBJECT"), HasSubstr("subjects-test"),
                           HasSubstr("UNVERIFIED 2")));
  ExpectFitsEightyColumns(table);
}

TEST_F(CliTest, EventsReadsTheLogWithFilters) {
  AddClaim("events-claim", "events-subject");
  Ok({"evidence", "add", "events-claim", "--stance", "refutes", "--source",
      "X"});
  Ok({"verdict", "events-claim", "--rating", "false", "--summary", "s",
      "--reviewer", "r"});

  auto events = ParseJsonLines<v1::Event>(
      Ok({"events", "--claim", "events-claim", "-o", "json"}));
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].position(), events[i].position());
  }

  auto typed = ParseJsonLines<v1::Event>(
      Ok({"events", "--subject", "events-subject", "--type",
          "evidence-added,verdict-issued", "-o", "json"}));
  ASSERT_EQ(typed.size(), 2u);
  EXPECT_TRUE(typed[0].has_evidence_added());
  EXPECT_TRUE(typed[1].has_verdict_issued());

  auto from = ParseJsonLines<v1::Event>(
      Ok({"events", "--from", absl::StrCat(events[1].position()), "--limit",
          "1", "-o", "json"}));
  ASSERT_EQ(from.size(), 1u);
  EXPECT_EQ(from[0].position(), events[1].position());

  const std::string table = Ok({"events", "--claim", "events-claim"});
  EXPECT_THAT(table, AllOf(HasSubstr("POS"), HasSubstr("CLAIM_RECORDED"),
                           HasSubstr("VERDICT_ISSUED")));
  ExpectFitsEightyColumns(table);
}

// ---- watch, admin stats
// ---------------------------------------------------------

v1::SubscribeResponse ParseMessage(const std::string& line) {
  return ParseJson<v1::SubscribeResponse>(line);
}

bool IsCaughtUp(const std::string& line) {
  return ParseMessage(line).has_caught_up();
}

TEST_F(CliTest, WatchCatchesUpThenShowsLiveEvents) {
  AddClaim("watch-live");
  Background watch({FACTLOG_PATH, "--server", Server(), "watch", "--from", "0",
                    "-o", "json"});
  std::vector<std::string> lines;
  ASSERT_TRUE(watch.ReadUntil(IsCaughtUp, &lines)) << watch.err();

  // The catch-up is the whole log so far, in order and without a gap.
  uint64_t next = 1;
  for (const std::string& line : lines) {
    const v1::SubscribeResponse m = ParseMessage(line);
    if (m.has_event()) {
      EXPECT_EQ(m.event().position(), next++) << line;
    }
  }
  EXPECT_GT(next, 1u);
  EXPECT_EQ(ParseMessage(lines.back()).caught_up().position(), next - 1);

  // A second factlog adds evidence; the watcher shows it live, with the
  // status it caused.
  auto added = ParseJson<v1::CommandResponse>(
      Ok({"evidence", "add", "watch-live", "--stance", "refutes", "--source",
          "NATO", "--id", "nato-no-sign", "-o", "json"}));
  lines.clear();
  ASSERT_TRUE(watch.ReadUntil(
      [](const std::string& line) {
        const v1::SubscribeResponse m = ParseMessage(line);
        return m.has_event() && m.event().claim_id() == "watch-live" &&
               m.event().has_evidence_added();
      },
      &lines))
      << watch.err();
  const v1::SubscribeResponse live = ParseMessage(lines.back());
  EXPECT_EQ(live.event().position(), added.last_position());
  EXPECT_EQ(live.event().evidence_added().evidence_id(), "nato-no-sign");
  EXPECT_EQ(live.status_after(), v1::CLAIM_STATUS_CONTRADICTED);

  EXPECT_EQ(watch.SignalAndWait(SIGINT), 0) << watch.err();
  EXPECT_EQ(watch.err(), "");  // JSON mode: every message is on stdout
}

TEST_F(CliTest, WatchTablePrintsOneLinePerEventAndStopsOnSigterm) {
  AddClaim("watch-table");
  Background watch({FACTLOG_PATH, "--server", Server(), "watch", "--from", "0",
                    "--claim", "watch-table"});
  std::vector<std::string> lines;
  ASSERT_TRUE(watch.ReadUntil(
      [](const std::string& line) {
        return absl::StrContains(line, "watch-table claim recorded: ");
      },
      &lines))
      << watch.err();
  Ok({"evidence", "add", "watch-table", "--stance", "refutes", "--source",
      "NATO", "--id", "nato-no-sign"});
  ASSERT_TRUE(watch.ReadUntil(
      [](const std::string& line) {
        return absl::StrContains(line, "evidence added");
      },
      &lines))
      << watch.err();
  EXPECT_THAT(lines.back(),
              MatchesRegex(" *[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z "
                           "watch-table evidence added .* → "
                           "CONTRADICTED"));
  ASSERT_EQ(lines.size(), 2u);  // only this claim's events, one line each
  EXPECT_EQ(watch.SignalAndWait(SIGTERM), 0) << watch.err();
  EXPECT_THAT(watch.err(), StartsWith("-- caught up at position "));
  EXPECT_EQ(watch.RestOfStdout(), "");
  ExpectFitsEightyColumns(absl::StrJoin(lines, "\n"));
}

TEST_F(CliTest, WatchUsageErrorsExitTwo) {
  RunResult r = Cli({"watch", "--type", "bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: "));
  EXPECT_THAT(r.err, AllOf(HasSubstr("bogus"), HasSubstr("evidence-added")));
  EXPECT_EQ(r.out, "");
  r = Cli({"watch", "--from", "3", "--from-end"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: "));
}

TEST_F(CliTest, AdminStatsCountsCommandsEventsAndRefusals) {
  const auto before =
      ParseJson<v1::GetStatsResponse>(Ok({"admin", "stats", "-o", "json"}));
  AddClaim("stats-counted");
  Ok({"evidence", "add", "stats-counted", "--stance", "refutes", "--source",
      "NATO"});
  RunResult refused = Cli({"evidence", "add", "stats-missing", "--stance",
                           "refutes", "--source", "NATO"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  const auto after =
      ParseJson<v1::GetStatsResponse>(Ok({"admin", "stats", "-o", "json"}));
  auto count = [](const google::protobuf::Map<std::string, uint64_t>& map,
                  const std::string& key) -> uint64_t {
    auto it = map.find(key);
    return it == map.end() ? 0 : it->second;
  };
  EXPECT_EQ(after.commands_applied() - before.commands_applied(), 2u);
  EXPECT_EQ(after.events_appended() - before.events_appended(), 2u);
  EXPECT_EQ(count(after.events_by_type(), "CLAIM_RECORDED") -
                count(before.events_by_type(), "CLAIM_RECORDED"),
            1u);
  EXPECT_EQ(count(after.events_by_type(), "EVIDENCE_ADDED") -
                count(before.events_by_type(), "EVIDENCE_ADDED"),
            1u);
  EXPECT_EQ(count(after.rejections_by_code(), "NOT_FOUND") -
                count(before.rejections_by_code(), "NOT_FOUND"),
            1u);
  EXPECT_GE(after.commits() - before.commits(), 1u);
  EXPECT_GT(after.commit_p99_seconds(), 0);
  EXPECT_GT(after.resident_memory_bytes(), 0u);
  EXPECT_TRUE(after.has_started_at());

  const std::string table = Ok({"admin", "stats"});
  EXPECT_THAT(table, AllOf(HasSubstr("\nCommands "), HasSubstr("NOT_FOUND"),
                           HasSubstr("CLAIM_RECORDED"), HasSubstr("\nCommits "),
                           HasSubstr("\nRocksDB "), HasSubstr("resident")));
  ExpectFitsEightyColumns(table);
}

TEST_F(CliTest, WatchBeyondTheLogIsOutOfRange) {
  RunResult r = Cli({"watch", "--from", "999999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: OUT_OF_RANGE: "));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, AdminStatsShowsTheWatcherAsSubscriber) {
  Background watch({FACTLOG_PATH, "--server", Server(), "watch", "--claim",
                    "stats-watched", "-o", "json"});
  std::vector<std::string> lines;
  ASSERT_TRUE(watch.ReadUntil(IsCaughtUp, &lines)) << watch.err();
  AddClaim("stats-watched");
  ASSERT_TRUE(watch.ReadUntil(
      [](const std::string& line) { return ParseMessage(line).has_event(); },
      &lines))
      << watch.err();
  const uint64_t position = ParseMessage(lines.back()).event().position();

  auto stats =
      ParseJson<v1::GetStatsResponse>(Ok({"admin", "stats", "-o", "json"}));
  EXPECT_GE(stats.last_position(), position);
  EXPECT_EQ(stats.subscribers(),
            static_cast<uint64_t>(stats.subscriber_size()));
  const v1::SubscriberStats* watcher = nullptr;
  for (const v1::SubscriberStats& s : stats.subscriber()) {
    if (s.live() && s.events_sent() == 1 && s.position() >= position) {
      watcher = &s;
    }
  }
  ASSERT_NE(watcher, nullptr) << stats.DebugString();
  EXPECT_FALSE(watcher->peer().empty());

  const std::string table = Ok({"admin", "stats"});
  EXPECT_THAT(table, AllOf(StartsWith("Last position"), HasSubstr("PEER"),
                           HasSubstr(watcher->peer())));
  ExpectFitsEightyColumns(table);
  EXPECT_EQ(watch.SignalAndWait(SIGTERM), 0) << watch.err();
}

// The watcher outlives its server: factlogd stops and starts again on the
// same data directory, and the watch prints every event exactly once, in
// order. The client's address is a relay's (tests/support/tcp_relay.h) that
// stays put while each factlogd takes a port of its own: no port is released
// and bound again, which other tests could take in between under ctest -j.
TEST(CliWatchRestart, ResumesAcrossServerRestartWithoutGapOrRepeat) {
  TempDir data;
  absl::StatusOr<std::unique_ptr<factlog::testing::TcpRelay>> relay =
      factlog::testing::TcpRelay::Start();
  ASSERT_TRUE(relay.ok()) << relay.status();
  const std::string address = (*relay)->address();
  auto first = std::make_unique<Factlogd>("127.0.0.1:0", data.path());
  ASSERT_FALSE(first->address().empty());
  (*relay)->SetTargetPort(std::stoi(first->port()));
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", address});
    RunResult r = RunProcess(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  };
  auto add_evidence = [&](int n) {
    return ParseJson<v1::CommandResponse>(
               cli({"evidence", "add", "restart", "--stance", "supports",
                    "--source", absl::StrCat("Source ", n), "-o", "json"})
                   .out)
        .last_position();
  };
  cli({"claim", "add", "--id", "restart", "--text", "t", "--claimant", "C"});

  Background watch({FACTLOG_PATH, "--server", address, "watch", "--from", "0",
                    "-o", "json"});
  std::vector<uint64_t> positions;
  std::vector<std::string> lines;
  auto read_through = [&](uint64_t last) {
    return watch.ReadUntil(
        [&](const std::string& line) {
          const v1::SubscribeResponse m = ParseMessage(line);
          if (!m.has_event()) return false;
          positions.push_back(m.event().position());
          return m.event().position() >= last;
        },
        &lines);
  };
  uint64_t last = 0;
  for (int i = 1; i <= 3; ++i) last = add_evidence(i);
  ASSERT_TRUE(read_through(last)) << watch.err();

  first->Stop();
  first.reset();
  Factlogd second("127.0.0.1:0", data.path());
  ASSERT_FALSE(second.address().empty());
  (*relay)->SetTargetPort(std::stoi(second.port()));
  // Appended at once: some may commit before the watcher is back.
  for (int i = 4; i <= 6; ++i) last = add_evidence(i);
  EXPECT_EQ(last, 7u);
  ASSERT_TRUE(read_through(last)) << watch.err();

  std::vector<uint64_t> expected(last);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(positions, expected);

  EXPECT_EQ(watch.SignalAndWait(SIGINT), 0) << watch.err();
  for (const std::string& line : Lines(watch.RestOfStdout())) {
    EXPECT_FALSE(ParseMessage(line).has_event()) << "after the end: " << line;
  }
  EXPECT_THAT(watch.err(), HasSubstr("-- connection lost (UNAVAILABLE: "));
  EXPECT_THAT(watch.err(),
              HasSubstr("-- reconnected, resuming after position"));
}

TEST_F(CliTest, AdminBackupRestoresWithFactlogd) {
  AddClaim("backed-up");
  TempDir dir;
  // A relative name lands in the server's backup directory (`backups` next
  // to its data dir); the answer gives the absolute path.
  auto response = ParseJson<v1::BackupResponse>(
      Ok({"admin", "backup", "e2e-backup", "-o", "json"}));
  const std::string backup = response.dir();
  EXPECT_THAT(backup, StartsWith("/"));
  EXPECT_THAT(backup, EndsWith("/backups/e2e-backup"));
  EXPECT_GE(response.last_position(), 1u);
  RunResult again = Cli({"admin", "backup", "e2e-backup"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("ALREADY_EXISTS"));

  RunResult restore = RunProcess({FACTLOGD_PATH, "--restore-from", backup,
                                  "--data-dir", dir.path() + "/restored"},
                                 {});
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_THAT(restore.out, HasSubstr("verify clean"));
}

TEST_F(CliTest, ClaimListNeverCutsClaimIds) {
  const std::string id =
      "putin-orders-withdrawal-from-the-ukrainian-border-region-214";
  ASSERT_EQ(id.size(), 60u);
  AddClaim(id, "long-id-subject");
  AddClaim("short-id", "long-id-subject");
  const std::vector<std::string> lines =
      Lines(Ok({"claim", "list", "--subject", "long-id-subject"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[1], StartsWith(id + "  UNVERIFIED"));
  EXPECT_THAT(lines[1], HasSubstr("…"));  // the text gave way
  EXPECT_THAT(lines[2], StartsWith("short-id "));
}

// ---- exit codes
// -----------------------------------------------------------------

TEST_F(CliTest, MissingClaimIsNotFoundExitOne) {
  RunResult r = Cli({"claim", "show", "no-such-claim"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
  EXPECT_THAT(r.err, HasSubstr("no-such-claim"));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, ExpectedVersionMismatchIsAborted) {
  AddClaim("versioned");
  RunResult r = Cli({"evidence", "add", "versioned", "--stance", "supports",
                     "--source", "A", "--expected-version", "7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: ABORTED: "));
  ExpectOneErrorLine(r);
  Ok({"evidence", "add", "versioned", "--stance", "supports", "--source", "A",
      "--expected-version", "1"});
}

TEST_F(CliTest, UsageErrorsExitTwoAndSendNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"claim", "add", "--text", "t", "--claimant", "C", "--no-such-flag"},
       "no-such-flag"},
      {{"claim", "add", "--id", "usage", "--text", "t", "--kind", "rumour"},
       "allowed: fact, promise, prediction, statistic"},
      {{"claim", "add", "--id", "usage", "--text", "t", "--asserted-at",
        "last tuesday"},
       "invalid time"},
      {{"evidence", "add", "usage", "--stance", "agrees", "--source", "A"},
       "allowed: supports, refutes, context"},
      {{"verdict", "usage", "--rating", "meh", "--summary", "s", "--reviewer",
        "r"},
       "mostly-true"},
      {{"claim", "link", "usage", "other", "--relation", "cousin"}, "same-as"},
      {{"claim", "add", "--id", "usage", "--claimant", "C"}, "--text"},
      {{"claim"}, "subcommand"},
      {{"--output", "yaml", "subjects"}, "--output"},
      {{"--timeout", "-1", "subjects"}, "--timeout"},
      {{"import", "/nonexistent/file.jsonl"}, "cannot read"},
  };
  for (const Case& c : cases) {
    RunResult r = Cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(c.args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("error: ")) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(r.err, HasSubstr(c.expected)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(Cli({"claim", "show", "usage"}).exit_code, 1);  // never recorded
}

TEST_F(CliTest, UnreachableServerExitsThree) {
  DeadPort dead;
  const std::vector<std::vector<std::string>> commands = {
      {"claim", "show", "x"},
      {"claim", "add", "--text", "t", "--claimant", "C"},
      {"events"},
      {"watch"},
      {"admin", "stats"},
      {"import", WriteFile("unreachable.jsonl",
                           "{\"retractClaim\": {\"claimId\": \"x\", "
                           "\"reason\": \"r\"}}\n")},
  };
  for (const auto& args : commands) {
    std::vector<std::string> argv = {FACTLOG_PATH, "--server", dead.address(),
                                     "--timeout", "2"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 3) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err,
                StartsWith(absl::StrCat("error: cannot reach factlogd at ",
                                        dead.address(), ": ")));
    ExpectOneErrorLine(r);
  }
}

TEST_F(CliTest, FactlogServerEnvironmentIsHonoured) {
  AddClaim("env-claim");
  RunResult r = RunProcess({FACTLOG_PATH, "claim", "show", "env-claim"},
                           {"FACTLOG_SERVER=" + Server()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("env-claim"));

  DeadPort dead;
  r = RunProcess({FACTLOG_PATH, "--timeout", "2", "claim", "show", "env-claim"},
                 {"FACTLOG_SERVER=" + dead.address()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr(dead.address()));

  // --server wins over the environment.
  r = RunProcess(
      {FACTLOG_PATH, "--server", Server(), "claim", "show", "env-claim"},
      {"FACTLOG_SERVER=" + dead.address()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTest, GlobalOptionsMayFollowTheSubcommand) {
  AddClaim("late-options");
  RunResult r = RunProcess({FACTLOG_PATH, "claim", "show", "late-options",
                            "--output", "json", "--server", Server()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson<v1::ClaimView>(r.out).claim_id(), "late-options");
}

// ---- health
// ----------------------------------------------------------------------

TEST_F(CliTest, HealthOfARunningServerIsServing) {
  RunResult r = Cli({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  EXPECT_EQ(r.err, "");

  r = Cli({"health", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"status\":\"SERVING\"}\n");

  // --timeout is the global option, also after the subcommand.
  r = Cli({"health", "--timeout", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Cli({"health", "--service", "no.such.Service"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND: "));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, HealthWithNothingListeningExitsThree) {
  DeadPort dead;
  const RunResult r =
      RunProcess({FACTLOG_PATH, "--server", dead.address(), "health"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("error: cannot reach factlogd at ",
                                             dead.address(), ": ")));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
}

// A port that accepts TCP connections (the kernel completes them) but never
// answers: only the deadline ends the check, by default a probe's 3 s rather
// than a command's 10 s.
TEST_F(CliTest, HealthOfAServerThatNeverAnswersTimesOutQuickly) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string silent = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));

  // Seconds `factlog health` (plus `extra` arguments) takes to give up.
  auto seconds_to_fail = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {FACTLOG_PATH, "--server", silent,
                                     "health"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto start = std::chrono::steady_clock::now();
    const RunResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_THAT(r.err, StartsWith("error: cannot reach factlogd at " + silent));
    ExpectOneErrorLine(r);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  // Upper bounds are measured from what a run costs that fails at once (a
  // refused connection): start-up under a loaded machine is not the
  // deadline's doing. Lower bounds need no allowance: a deadline cannot
  // end a run early.
  DeadPort dead;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunProcess({FACTLOG_PATH, "--server", dead.address(), "health"})
                .exit_code,
            3);
  const double overhead =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const double by_default = seconds_to_fail({});
  EXPECT_GE(by_default, 2.9);
  EXPECT_LT(by_default - overhead, 8);  // not a command's 10 s
  // The global --timeout, given after the subcommand, shortens it.
  const double one_second = seconds_to_fail({"--timeout", "1"});
  EXPECT_GE(one_second, 0.9);
  EXPECT_LT(one_second - overhead, 2.5);  // not the default 3 s
  close(fd);
}

// ---- idempotency
// ---------------------------------------------------------------------

TEST_F(CliTest, RepeatedRequestIdRecordsOnce) {
  AddClaim("idempotent");
  const std::vector<std::string> add = {
      "evidence", "add",      "idempotent", "--stance",
      "supports", "--source", "A",          "--request-id",
      "retry-me", "-o",       "json"};
  auto first = ParseJson<v1::CommandResponse>(Ok(add));
  auto second = ParseJson<v1::CommandResponse>(Ok(add));
  EXPECT_FALSE(first.deduplicated());
  EXPECT_TRUE(second.deduplicated());
  EXPECT_EQ(first.last_position(), second.last_position());
  EXPECT_EQ(first.evidence_id(), second.evidence_id());
  EXPECT_EQ(HistoryJson("idempotent").size(), 2u);

  // Without --request-id every invocation is a new request.
  Ok({"evidence", "add", "idempotent", "--stance", "supports", "--source",
      "A"});
  Ok({"evidence", "add", "idempotent", "--stance", "supports", "--source",
      "A"});
  EXPECT_EQ(HistoryJson("idempotent").size(), 4u);
}

// ---- import
// -------------------------------------------------------------------------

TEST_F(CliTest, ImportTwiceRecordsOnce) {
  const std::string file = WriteFile("twice.jsonl", R"(# two claims and evidence
{"recordClaim": {"claimId": "import-a", "text": "Bridge opens in May", "claimant": "Mayor", "kind": "CLAIM_KIND_PREDICTION"}}

{"record_claim": {"claim_id": "import-b", "text": "Taxes fall", "claimant": "Mayor", "kind": "CLAIM_KIND_PROMISE"}}
{"addEvidence": {"claimId": "import-a", "stance": "STANCE_REFUTES", "source": {"name": "City Hall"}}}
{"addEvidence": {"claimId": "import-a", "stance": "STANCE_REFUTES", "source": {"name": "City Hall"}}}
)");
  RunResult r = Cli({"import", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("imported 4 commands: 4 recorded, 0 "
                                  "already applied; the last at position "
                                  "[0-9]+\n"));
  r = Cli({"import", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              MatchesRegex("nothing new: all 4 commands were already "
                           "applied \\(the last at position [0-9]+\\)\n"));
  auto response =
      ParseJson<v1::ImportResponse>(Ok({"import", file, "-o", "json"}));
  EXPECT_EQ(response.applied(), 0u);
  EXPECT_EQ(response.deduplicated(), 4u);

  // The identical evidence lines are two commands, each applied once.
  EXPECT_EQ(HistoryJson("import-a").size(), 3u);
  EXPECT_EQ(HistoryJson("import-b").size(), 1u);
  EXPECT_EQ(ShowJson("import-a").status(), v1::CLAIM_STATUS_CONTRADICTED);
}

TEST_F(CliTest, ImportWithBadLineSendsNothing) {
  const std::string file = WriteFile("bad.jsonl", R"(# header
{"recordClaim": {"claimId": "import-bad", "text": "t", "claimant": "C", "kind": "CLAIM_KIND_FACT"}}
{"recordClaim": {"claimId": "import-bad-2", "text": "t", "claimant": "C"}}
{"recordClaim": {"claimId": "import-bad-3", "text": oops}}
)");
  RunResult r = Cli({"import", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("error: ", file, ":4: ")));
  ExpectOneErrorLine(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Cli({"claim", "show", "import-bad"}).exit_code, 1);

  const std::string bad_enum = WriteFile("bad-enum.jsonl", R"(
{"addEvidence": {"claimId": "x", "stance": "STANCE_MAYBE"}}
)");
  r = Cli({"import", bad_enum});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith(absl::StrCat("error: ", bad_enum, ":2: ")));
}

TEST_F(CliTest, ImportStopsAtFirstRejectedCommand) {
  const std::string text = R"(# line 1 is a comment
{"recordClaim": {"claimId": "import-stop", "text": "t", "claimant": "C", "kind": "CLAIM_KIND_FACT"}}
{"addEvidence": {"claimId": "import-stop", "stance": "STANCE_SUPPORTS", "source": {"name": "A"}}}

{"addEvidence": {"claimId": "import-stop-missing", "stance": "STANCE_REFUTES", "source": {"name": "B"}}}
{"issueVerdict": {"claimId": "import-stop", "rating": "RATING_TRUE", "summary": "s", "reviewer": "r"}}
)";
  const std::string file = WriteFile("stop.jsonl", text);
  RunResult r = Cli({"import", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              StartsWith(absl::StrCat("error: ", file, ":5: NOT_FOUND: ")));
  // How far the import got: the two commands before it are in the log.
  EXPECT_THAT(r.err, HasSubstr("(the 2 commands before it are applied, "
                               "nothing after it; fix this line and import "
                               "the file again)"));
  ExpectOneErrorLine(r);
  std::vector<v1::Event> events = HistoryJson("import-stop");
  ASSERT_EQ(events.size(), 2u);  // recorded + evidence; no verdict
  EXPECT_FALSE(ShowJson("import-stop").has_verdict());

  // Fixing the line and importing the same file again applies the rest once.
  std::string fixed = text;
  fixed.replace(fixed.find("import-stop-missing"),
                std::string("import-stop-missing").size(), "import-stop");
  std::ofstream(file) << fixed;
  r = Cli({"import", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("imported 4 commands: 2 recorded, 2 already "
                               "applied"));
  EXPECT_EQ(HistoryJson("import-stop").size(), 4u);
  EXPECT_EQ(ShowJson("import-stop").status(), v1::CLAIM_STATUS_RATED);
}

// ---- transport security
// -------------------------------------------------------------------

// Test PKI made with the openssl CLI once per suite: a CA (ca.pem), a
// server certificate for localhost / 127.0.0.1 (server.pem, server.key)
// and a client certificate for CN=desk-client (client.pem, client.key),
// both signed by it, and an unrelated CA (wrong-ca.pem).
class CliSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TempDir();
    const std::string script = absl::StrCat(
        "set -e; cd '", pki_->path(),
        "'\n"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
        "-keyout ca.key -out ca.pem\n"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
        "-subj /CN=wrong-ca -keyout wrong-ca.key -out wrong-ca.pem\n"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
        "-keyout server.key -out server.csr\n"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext\n"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -days 2 -extfile server.ext -out server.pem\n"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=desk-client "
        "-keyout client.key -out client.csr\n"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -days 2 -out client.pem\n");
    const RunResult r = RunProcess({"/bin/sh", "-c", script});
    pki_error_ = r.exit_code == 0 ? ""
                                  : absl::StrCat("openssl failed (exit ",
                                                 r.exit_code, "): ", r.err);
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(pki_error_, ""); }

  static std::string Pki(const std::string& name) {
    return absl::StrCat(pki_->path(), "/", name);
  }

  // Writes `text` to `name` in a directory of this test; returns its path.
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = absl::StrCat(dir_.path(), "/", name);
    std::ofstream(path) << text;
    return path;
  }

  // factlog --server `server` --timeout 5 args...
  static RunResult Cli(const std::string& server, std::vector<std::string> args,
                       const std::vector<std::string>& env = {}) {
    args.insert(args.begin(),
                {FACTLOG_PATH, "--server", server, "--timeout", "5"});
    return RunProcess(std::move(args), env);
  }

  // The token `factlogd token new` prints for `principal` and the line for
  // the --auth-tokens file.
  static std::pair<std::string, std::string> NewToken(
      const std::string& principal, const std::string& role) {
    const RunResult r = RunProcess({FACTLOGD_PATH, "token", "new",
                                    "--principal", principal, "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> lines = Lines(r.out);
    EXPECT_EQ(lines.size(), 4u) << r.out;
    if (lines.size() != 4) return {};
    EXPECT_THAT(lines[0], StartsWith("token"));
    EXPECT_THAT(lines[2], StartsWith("line for the --auth-tokens file"));
    return {std::string(absl::StripAsciiWhitespace(lines[1])),
            std::string(absl::StripAsciiWhitespace(lines[3]))};
  }

  static TempDir* pki_;
  static std::string pki_error_;
  TempDir dir_;
};

TempDir* CliSecurityTest::pki_ = nullptr;
std::string CliSecurityTest::pki_error_;

TEST_F(CliSecurityTest, TlsServerIsReachedOnlyWithItsCa) {
  Factlogd server(
      "127.0.0.1:0", "",
      {"--tls-cert", Pki("server.pem"), "--tls-key", Pki("server.key")});
  const std::string host = "localhost:" + server.port();

  RunResult r = Cli(host, {"--tls-ca", Pki("ca.pem"), "claim", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  // https:// means TLS as well; the scheme is not part of the address.
  r = Cli("https://" + host, {"claim", "list"},
          {"FACTLOG_TLS_CA=" + Pki("ca.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // A CA that did not sign the server's certificate: the handshake fails,
  // reported on one line with gRPC's reason.
  r = Cli(host, {"--tls-ca", Pki("wrong-ca.pem"), "claim", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              StartsWith("error: cannot reach factlogd at " + host + ": "));
  EXPECT_THAT(absl::AsciiStrToLower(r.err), HasSubstr("handshake"));
  ExpectOneErrorLine(r);
  // https:// without --tls-ca trusts the system's CAs, which do not
  // include the test CA.
  r = Cli("https://" + host, {"claim", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  ExpectOneErrorLine(r);

  // Plaintext to a TLS server.
  r = Cli(host, {"claim", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              StartsWith("error: cannot reach factlogd at " + host + ": "));
  ExpectOneErrorLine(r);
}

TEST_F(CliSecurityTest, MutualTlsNeedsAClientCertificateWhichNamesTheActor) {
  Factlogd server("127.0.0.1:0", "",
                  {"--tls-cert", Pki("server.pem"), "--tls-key",
                   Pki("server.key"), "--tls-client-ca", Pki("ca.pem")});
  const std::string host = "localhost:" + server.port();

  RunResult r = Cli(host, {"--tls-ca", Pki("ca.pem"), "claim", "list"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              StartsWith("error: cannot reach factlogd at " + host + ": "));
  ExpectOneErrorLine(r);

  const std::vector<std::string> mtls = {"--tls-ca",   Pki("ca.pem"),
                                         "--tls-cert", Pki("client.pem"),
                                         "--tls-key",  Pki("client.key")};
  auto with_mtls = [&](std::vector<std::string> args) {
    args.insert(args.begin(), mtls.begin(), mtls.end());
    return Cli(host, std::move(args));
  };
  r = with_mtls({"claim", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = with_mtls({"claim", "add", "--id", "mtls-claim", "--text", "Over mTLS",
                 "--claimant", "C"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = with_mtls({"claim", "show", "mtls-claim", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ParseJson<v1::ClaimView>(r.out).created_by(),
              HasSubstr("desk-client"));
  r = with_mtls({"claim", "history", "mtls-claim", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<v1::Event> history = ParseJsonLines<v1::Event>(r.out);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_THAT(history[0].actor(), HasSubstr("desk-client"));

  // The client certificate also comes from the environment.
  r = Cli(host, {"claim", "list"},
          {"FACTLOG_TLS_CA=" + Pki("ca.pem"),
           "FACTLOG_TLS_CERT=" + Pki("client.pem"),
           "FACTLOG_TLS_KEY=" + Pki("client.key")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliSecurityTest, BearerTokensAuthenticateAndAuthorize) {
  const auto [alice, alice_line] = NewToken("alice", "reporter");
  const auto [bob, bob_line] = NewToken("bob", "reader");
  ASSERT_FALSE(alice.empty());
  ASSERT_FALSE(bob.empty());
  EXPECT_THAT(alice_line, StartsWith("alice reporter "));
  const std::string tokens =
      WriteFile("tokens.txt", absl::StrCat(alice_line, "\n", bob_line, "\n"));
  // Whitespace around the token is not part of it.
  const std::string alice_file =
      WriteFile("alice.token", absl::StrCat("  ", alice, "\n\n"));
  const std::string bob_file = WriteFile("bob.token", bob + "\n");

  // Loopback needs no TLS for tokens.
  Factlogd server("127.0.0.1:0", "", {"--auth-tokens", tokens});
  const std::string host = server.address();
  const std::vector<std::string> add = {"claim",    "add",        "--text",
                                        "By token", "--claimant", "C"};
  auto add_with = [&](const std::vector<std::string>& before,
                      const std::string& id,
                      const std::vector<std::string>& env = {}) {
    std::vector<std::string> args = before;
    args.insert(args.end(), add.begin(), add.end());
    args.insert(args.end(), {"--id", id});
    return Cli(host, args, env);
  };
  // Init-captured: C++17 captures no structured binding (clang refuses).
  auto expect_no_token_shown = [&, alice = alice,
                                bob = bob](const RunResult& r) {
    for (const std::string& token : {alice, bob}) {
      EXPECT_THAT(r.out, Not(HasSubstr(token)));
      EXPECT_THAT(r.err, Not(HasSubstr(token)));
    }
  };

  RunResult r = add_with({}, "no-token");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
  ExpectOneErrorLine(r);

  r = add_with({"--token-file", bob_file}, "bob-claim");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));
  ExpectOneErrorLine(r);
  expect_no_token_shown(r);

  r = add_with({"--token-file", alice_file}, "alice-claim");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_no_token_shown(r);
  // bob may read what alice recorded.
  r = Cli(host, {"--token-file", bob_file, "claim", "show", "alice-claim", "-o",
                 "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson<v1::ClaimView>(r.out).created_by(), "alice");
  // Streaming calls carry the token too.
  r = Cli(host, {"--token-file", bob_file, "events", "-o", "jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u) << r.out;

  // For scripts: the token itself, or its file, from the environment.
  r = add_with({}, "env-claim", {"FACTLOG_TOKEN=" + alice});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = add_with({}, "env-file-claim", {"FACTLOG_TOKEN_FILE=" + alice_file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // --token-file wins over FACTLOG_TOKEN.
  r = add_with({"--token-file", bob_file}, "both-claim",
               {"FACTLOG_TOKEN=" + alice});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: PERMISSION_DENIED: "));

  // Revoked: alice's line removed, then SIGHUP.
  std::ofstream(tokens) << bob_line << "\n";
  server.Signal(SIGHUP);
  ASSERT_TRUE(server.WaitForOutput("SIGHUP: reloaded")) << server.Output();
  r = add_with({"--token-file", alice_file}, "revoked-claim");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, StartsWith("error: UNAUTHENTICATED: "));
  expect_no_token_shown(r);
  r = Cli(host, {"claim", "show", "alice-claim"}, {"FACTLOG_TOKEN=" + bob});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(server.Output(), Not(HasSubstr(alice)));
}

// What the container and Kubernetes probes rely on: health over TLS with
// tokens required needs the CA but no token.
TEST_F(CliSecurityTest, HealthNeedsTlsButNoToken) {
  const auto [token, line] = NewToken("probe-test", "reader");
  ASSERT_FALSE(token.empty());
  const std::string tokens = WriteFile("tokens.txt", line + "\n");
  Factlogd server("127.0.0.1:0", "",
                  {"--tls-cert", Pki("server.pem"), "--tls-key",
                   Pki("server.key"), "--auth-tokens", tokens});
  const std::string host = "localhost:" + server.port();

  RunResult r = Cli(host, {"--tls-ca", Pki("ca.pem"), "health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
  r = Cli(host, {"--tls-ca", Pki("ca.pem"), "health"},
          {"FACTLOG_TOKEN=" + token});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The same call for data needs the token.
  r = Cli(host, {"--tls-ca", Pki("ca.pem"), "claim", "list"});
  EXPECT_EQ(r.exit_code, 1) << r.err;

  r = Cli(host, {"health"});  // plaintext to a TLS server
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err,
              StartsWith("error: cannot reach factlogd at " + host + ": "));
  ExpectOneErrorLine(r);
}

TEST_F(CliSecurityTest, UnusableSecurityFilesAreUsageErrors) {
  DeadPort dead;  // nothing is sent: a usage error comes first
  const std::string empty = WriteFile("empty.token", "\n \n");
  const std::string two = WriteFile("two.token", "first second\n");
  const std::string missing = dir_.path() + "/missing.pem";
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"--token-file", missing}, {}, "cannot read token file " + missing},
      {{}, {"FACTLOG_TOKEN_FILE=" + missing}, "cannot read token file "},
      {{"--token-file", empty}, {}, "token file " + empty + " holds no token"},
      {{"--token-file", two}, {}, "token file " + two + " must hold one token"},
      {{}, {"FACTLOG_TOKEN=a b"}, "FACTLOG_TOKEN must hold one token"},
      {{"--tls-ca", missing}, {}, "cannot read --tls-ca file " + missing},
      {{"--tls-ca", empty}, {}, "--tls-ca file " + empty + " holds no PEM"},
      {{"--tls-ca", Pki("ca.pem"), "--tls-cert", Pki("client.pem")},
       {},
       "--tls-cert and --tls-key must be given together"},
      {{"--tls-cert", Pki("client.pem"), "--tls-key", Pki("client.key")},
       {},
       "--tls-cert/--tls-key need TLS"},
      {{"--tls-ca", Pki("ca.pem"), "--tls-cert", Pki("client.pem"), "--tls-key",
        missing},
       {},
       "cannot read --tls-key file " + missing},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"claim", "list"});
    const RunResult r = Cli(dead.address(), args, c.env);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(c.args, " ") << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("error: " + c.error));
    ExpectOneErrorLine(r);
  }
  // A token is never a command-line value.
  const RunResult r = Cli(dead.address(), {"--token", "abc", "claim", "list"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(CliSecurityTest, FactlogdRefusesAnOpenNetworkWithoutInsecure) {
  TempDir data;
  const RunResult r = RunProcess(
      {FACTLOGD_PATH, "--listen", "0.0.0.0:0", "--data-dir", data.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out + r.err, HasSubstr("refusing to serve"));

  Factlogd server("0.0.0.0:0", data.path(), {"--insecure"});
  EXPECT_NE(server.address(), "");
  const RunResult list = Cli("127.0.0.1:" + server.port(), {"claim", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  server.Stop();
}

// ---- help
// ------------------------------------------------------------------------------

// ---- verify (tamper-evident log)
// ---------------------------------------------

TEST_F(CliTest, VerifyWithASignedServerChecksClaimsAndTheLog) {
  TempDir keys;
  const std::string key = keys.path() + "/head.pem";
  RunResult made = RunProcess({FACTLOGD_PATH, "key", "new", "--out", key});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("BEGIN PUBLIC KEY"));
  EXPECT_EQ(std::filesystem::status(key).permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  // A key is never overwritten.
  EXPECT_EQ(RunProcess({FACTLOGD_PATH, "key", "new", "--out", key}).exit_code,
            1);

  Factlogd signed_server("127.0.0.1:0", "", {"--signing-key", key});
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(),
                {FACTLOG_PATH, "--server", signed_server.address()});
    return RunProcess(std::move(args));
  };
  ASSERT_EQ(cli({"claim", "add", "--id", "v1", "--text", "Troops left.",
                 "--claimant", "Kremlin"})
                .exit_code,
            0);
  ASSERT_EQ(
      cli({"evidence", "add", "v1", "--stance", "refutes", "--source", "NATO"})
          .exit_code,
      0);

  RunResult r = cli({"verify", "claim", "v1", "--public-key", key + ".pub"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              StartsWith("verified 2 events of claim v1 against head 2"));
  EXPECT_THAT(r.out, HasSubstr("signature checked"));

  r = cli({"verify", "claim", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: NOT_FOUND"));

  // Heads from this server are not signed by another key.
  const std::string other = keys.path() + "/other.pem";
  ASSERT_EQ(RunProcess({FACTLOGD_PATH, "key", "new", "--out", other}).exit_code,
            0);
  r = cli({"verify", "claim", "v1", "--public-key", other + ".pub"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, StartsWith("error: verification FAILED: head 2 is not "
                                "signed by the given public key"));

  // The first run saves the head, later ones check the log extends it.
  const std::string head = keys.path() + "/head.json";
  r = cli({"verify", "log", "--since-head", head});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("saved head 2 (root "));
  ASSERT_EQ(cli({"evidence", "add", "v1", "--stance", "supports", "--source",
                 "Kremlin"})
                .exit_code,
            0);
  r = cli(
      {"verify", "log", "--since-head", head, "--public-key", key + ".pub"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("consistent: head 3 (root "));
  EXPECT_THAT(r.out, HasSubstr("extends saved head 2 (root "));

  // A saved head whose root the log never had: history differs.
  v1::LogHead saved;
  std::ifstream in(head);
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(text.str(), &saved).ok());
  saved.set_root_hash(std::string(32, 'x'));
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(saved, &json).ok());
  std::ofstream(head) << json;
  r = cli({"verify", "log", "--since-head", head});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("does not extend the saved head 3"));
  std::ifstream kept(head);
  std::stringstream kept_text;
  kept_text << kept.rdbuf();
  EXPECT_EQ(kept_text.str(), json) << "a failed check keeps the saved head";

  std::ofstream(head) << "not json";
  r = cli({"verify", "log", "--since-head", head});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("not a saved log head"));
}

// ---- repeated claims

TEST(CliSearch, FindsTheDemoByWordsInTableAndJson) {
  Factlogd demo;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", demo.address()});
    return RunProcess(std::move(args));
  };
  ASSERT_EQ(cli({"import", DEMO_PATH}).exit_code, 0);
  RunResult r = cli({"search", "pull back troops"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("CLAIM"));
  EXPECT_THAT(r.out, HasSubstr("russia-withdrawal-claim-2014-03"));
  EXPECT_THAT(r.out, HasSubstr("\xC2\xAB"));  // « around a match

  r = cli({"search", "withdrawal", "--claimant", "Vladimir Putin", "--since",
           "2014-05-10", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> ids;
  for (const v1::SearchHit& hit : ParseJsonLines<v1::SearchHit>(r.out)) {
    ids.push_back(hit.claim_id());
    EXPECT_GT(hit.score(), 0);
  }
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(
                       "putin-orders-troops-back-2014-05-19",
                       "russia-withdrawal-started-2014-05-19"));

  r = cli({"search", "--fts", "\"unbalanced"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: query: "));
  r = cli({"search", "zzzqqq"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("no claims match"));

  // claim add prints both groups: possible repeats, then already checked.
  r = cli({"claim", "add", "--text",
           "Russian troops are pulling back from the border to their bases",
           "--claimant", "Vladimir Putin", "--subject",
           "russia-troops-ukraine-border"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("possible repeats"));
  EXPECT_THAT(r.out, HasSubstr("already checked"));
  EXPECT_LT(r.out.find("possible repeats"), r.out.find("already checked"));
  EXPECT_THAT(r.out, HasSubstr("matched: "));
}

TEST(CliRepeats, AFourthWithdrawalStatementNamesTheEarlierThree) {
  Factlogd demo;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", demo.address()});
    return RunProcess(std::move(args));
  };
  ASSERT_EQ(cli({"import", DEMO_PATH}).exit_code, 0);
  RunResult r =
      cli({"claim", "add", "--id", "putin-pulling-back-2014-05-20", "--text",
           "Putin says Russian troops near the Ukraine border are "
           "pulling back to their bases.",
           "--claimant", "Vladimir Putin", "--subject",
           "russia-troops-ukraine-border", "--asserted-at", "2014-05-20",
           "--link-repeats", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<v1::CommandResponse> lines =
      ParseJsonLines<v1::CommandResponse>(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;  // the claim and three links
  std::vector<std::string> similar, checked;
  for (const v1::SimilarClaim& s : lines[0].similar_claims()) {
    (s.match() == v1::SIMILAR_MATCH_OWN_STATEMENT ? similar : checked)
        .push_back(s.claim_id());
    EXPECT_GE(s.similarity(), 0.25);
  }
  // Putin's three earlier statements on the subject, and not his
  // 40,000-troops claim.
  EXPECT_THAT(similar, ::testing::UnorderedElementsAre(
                           "putin-orders-troops-back-2014-05-19",
                           "russia-withdrawal-started-2014-05-19",
                           "putin-troops-pulled-back-2014-05"));
  // The Russian government's March statement, already contradicted, is
  // listed as checked before, and not linked.
  EXPECT_THAT(checked, ::testing::Contains("russia-withdrawal-claim-2014-03"));
  EXPECT_EQ(lines[3].claim().links_size(), 3);

  // The track record shows one group of four statements, oldest first.
  v1::ClaimantView putin = ParseJson<v1::ClaimantView>(
      cli({"claimant", "show", "Vladimir Putin", "-o", "json"}).out);
  ASSERT_EQ(putin.repeats_size(), 1);
  EXPECT_EQ(putin.repeats(0).statements(), 4u);
  EXPECT_EQ(putin.repeats(0).claim_ids(0), "putin-troops-pulled-back-2014-05");
  EXPECT_EQ(putin.repeats(0).claim_ids(3), "putin-pulling-back-2014-05-20");

  // Linking appended to existing claims and recorded no new ones.
  r = cli({"claim", "list", "--claimant", "Vladimir Putin", "-o", "json"});
  EXPECT_EQ(ParseJsonLines<v1::ClaimView>(r.out).size(), 4u);
}

// ---- ClaimReview export / import

// A string field of a JSON object parsed into a Struct, or "".
std::string Str(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}
const google::protobuf::Struct& Obj(const google::protobuf::Struct& s,
                                    const std::string& key) {
  return s.fields().at(key).struct_value();
}

// Checks the properties ClaimReview consumers require, with their types.
void ExpectValidClaimReview(const google::protobuf::Struct& r) {
  EXPECT_EQ(Str(r, "@context"), "https://schema.org");
  EXPECT_EQ(Str(r, "@type"), "ClaimReview");
  EXPECT_FALSE(Str(r, "claimReviewed").empty());
  EXPECT_FALSE(Str(r, "datePublished").empty());
  EXPECT_EQ(Str(Obj(r, "author"), "@type"), "Organization");
  EXPECT_FALSE(Str(Obj(r, "author"), "name").empty());
  const auto& item = Obj(r, "itemReviewed");
  EXPECT_EQ(Str(item, "@type"), "Claim");
  EXPECT_THAT(Str(Obj(item, "author"), "@type"),
              ::testing::AnyOf("Person", "Organization"));
  EXPECT_FALSE(Str(Obj(item, "author"), "name").empty());
  const auto& rating = Obj(r, "reviewRating");
  EXPECT_EQ(Str(rating, "@type"), "Rating");
  const double value = rating.fields().at("ratingValue").number_value();
  const double best = rating.fields().at("bestRating").number_value();
  const double worst = rating.fields().at("worstRating").number_value();
  EXPECT_LE(worst, value);
  EXPECT_LE(value, best);
  EXPECT_FALSE(Str(rating, "alternateName").empty());
}

std::vector<google::protobuf::Struct> Reviews(const std::string& jsonl) {
  std::vector<google::protobuf::Struct> out;
  for (absl::string_view line :
       absl::StrSplit(jsonl, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct s;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(std::string(line), &s).ok())
        << line;
    out.push_back(std::move(s));
  }
  return out;
}

TEST(CliClaimReview, DemoVerdictsExportImportIntoAnEmptyServerAndBack) {
  Factlogd desk, empty;
  auto cli = [](Factlogd& server, std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", server.address()});
    return RunProcess(std::move(args));
  };
  ASSERT_EQ(cli(desk, {"import", DEMO_PATH}).exit_code, 0);
  ASSERT_EQ(cli(desk, {"import", DEMO_VERDICTS_PATH}).exit_code, 0);
  RunResult exported = cli(desk, {"export", "--format", "claimreview"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const auto reviews = Reviews(exported.out);
  ASSERT_EQ(reviews.size(), 3u);  // the demo's three rated claims
  for (const auto& r : reviews) ExpectValidClaimReview(r);
  EXPECT_EQ(Str(Obj(reviews[1], "reviewRating"), "alternateName"),
            "Promise broken");  // russia-withdrawal-claim-2014-03

  TempDir dir;
  const std::string file = dir.path() + "/reviews.jsonl";
  std::ofstream(file) << exported.out;
  const std::vector<std::string> import = {
      "import", "--format",  "claimreview",
      file,     "--subject", "russia-troops-ukraine-border"};
  RunResult first = cli(empty, import);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out,
            "imported 6 commands: 6 recorded, 0 already applied; the last at "
            "position 6\n");
  RunResult again = cli(empty, import);  // a review imported twice: one claim
  EXPECT_EQ(again.out,
            "nothing new: all 6 commands were already applied (the last at "
            "position 6)\n");

  const auto round_trip = Reviews(cli(empty, {"export"}).out);
  ASSERT_EQ(round_trip.size(), reviews.size());
  for (size_t i = 0; i < reviews.size(); ++i) {
    google::protobuf::Struct want = reviews[i], got = round_trip[i];
    // The verdict's own date is when it was recorded on each server.
    want.mutable_fields()->erase("datePublished");
    got.mutable_fields()->erase("datePublished");
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, got))
        << want.ShortDebugString() << "\n"
        << got.ShortDebugString();
  }
  v1::ClaimView broken = ParseJson<v1::ClaimView>(
      cli(empty,
          {"claim", "show", "russia-withdrawal-claim-2014-03", "-o", "json"})
          .out);
  EXPECT_EQ(broken.kind(), v1::CLAIM_KIND_PROMISE);
  EXPECT_EQ(broken.rating(), v1::RATING_BROKEN);
  EXPECT_EQ(broken.subject(), "russia-troops-ukraine-border");
}

TEST(CliClaimReview, UnknownRatingNamesImportAsUnprovenKeepingTheName) {
  Factlogd server;
  TempDir dir;
  const std::string file = dir.path() + "/feed.json";
  std::ofstream(file) << R"({"@context": "https://schema.org",
    "@type": "DataFeed", "dataFeedElement": [{"@type": "ClaimReview",
    "claimReviewed": "Crime fell by half.", "author": {"name": "Desk"},
    "itemReviewed": {"@type": "Claim", "author": "Mayor",
      "appearance": {"url": "https://news.example/1"}},
    "reviewRating": {"@type": "Rating", "alternateName": "Four Pinocchios"}}]})";
  RunResult r = RunProcess({FACTLOG_PATH, "--server", server.address(),
                            "import", "--format", "claimreview", file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunProcess({FACTLOG_PATH, "--server", server.address(), "claim", "list",
                  "-o", "json"});
  std::vector<v1::ClaimView> claims = ParseJsonLines<v1::ClaimView>(r.out);
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].rating(), v1::RATING_UNPROVEN);
  EXPECT_THAT(claims[0].verdict().summary(), HasSubstr("Four Pinocchios"));
  EXPECT_EQ(claims[0].reported_by().url(), "https://news.example/1");

  std::ofstream(file) << R"({"@type": "ClaimReview", "claimReviewed": "x"})";
  r = RunProcess({FACTLOG_PATH, "--server", server.address(), "import",
                  "--format", "claimreview", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("review 1: itemReviewed.author.name"));
}

TEST(CliProvenance, ClaimHistoryAsProvJsonLd) {
  Factlogd demo;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", demo.address()});
    return RunProcess(std::move(args));
  };
  ASSERT_EQ(cli({"import", DEMO_PATH}).exit_code, 0);
  RunResult r =
      cli({"claim", "provenance", "putin-orders-troops-back-2014-05-19",
           "--format", "prov-jsonld"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &doc).ok());
  EXPECT_EQ(Str(Obj(doc, "@context"), "prov"), "http://www.w3.org/ns/prov#");
  std::map<std::string, google::protobuf::Struct> by_id;
  int activities = 0, versions = 0;
  for (const auto& node : doc.fields().at("@graph").list_value().values()) {
    const auto& n = node.struct_value();
    by_id[Str(n, "@id")] = n;
    if (Str(n, "@type") == "prov:Activity") ++activities;
    if (absl::StartsWith(Str(n, "@id"), "factlog:claim/")) ++versions;
  }
  EXPECT_EQ(activities, 5);  // recorded, 3 context evidence, 1 link
  EXPECT_EQ(versions, 5);
  const auto& v1 =
      by_id.at("factlog:claim/putin-orders-troops-back-2014-05-19/v1");
  EXPECT_EQ(Str(Obj(v1, "prov:wasGeneratedBy"), "@id"), "factlog:event/1");
  const std::string report = Str(Obj(v1, "prov:wasQuotedFrom"), "@id");
  EXPECT_EQ(Str(Obj(by_id.at(report), "prov:wasAttributedTo"), "@id"),
            "factlog:agent/Dmitry%20Peskov");
  const auto& v5 =
      by_id.at("factlog:claim/putin-orders-troops-back-2014-05-19/v5");
  EXPECT_EQ(Str(Obj(v5, "prov:wasDerivedFrom"), "@id"),
            "factlog:claim/putin-orders-troops-back-2014-05-19/v4");
  const std::string actor = Str(Obj(v5, "prov:wasAttributedTo"), "@id");
  EXPECT_EQ(Str(by_id.at(actor), "@id"), actor);  // the agent is described
}

TEST(CliOverdue, ListOverdueShowsOnlyPromisesPastDueWithoutVerdict) {
  Factlogd server;
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", server.address()});
    return RunProcess(std::move(args));
  };
  for (const auto& [id, kind, due] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"late", "promise", "2014-06-01"},
           {"future", "promise", "2199-01-01"},
           {"fact", "fact", ""}}) {
    std::vector<std::string> args = {
        "claim",      "add",           "--id",
        id,           "--text",        "Troops will leave.",
        "--claimant", "Kremlin",       "--kind",
        kind,         "--asserted-at", "2014-05-19"};
    if (!due.empty()) {
      args.push_back("--due-at");
      args.push_back(due);
    }
    ASSERT_EQ(cli(args).exit_code, 0);
  }
  RunResult r = cli({"claim", "list", "--overdue", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<v1::ClaimView> overdue = ParseJsonLines<v1::ClaimView>(r.out);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].claim_id(), "late");
  EXPECT_EQ(overdue[0].status(), v1::CLAIM_STATUS_OVERDUE);
  EXPECT_EQ(cli({"claim", "list", "--overdue", "--status", "rated"}).exit_code,
            2);
}

// `watch --overdue-only`: a promise recorded past its due date is reported
// once, with no events around it; a second watch resuming after the cursor
// the first one printed sees only what came later, and one from the epoch
// sees every claim overdue now.
TEST(CliOverdue, WatchOverdueOnlyPrintsEachNoticeOnceWithItsCursor) {
  Factlogd server(
      "127.0.0.1:0", "",
      {"--overdue-sweep-interval", "0.05", "--checkpoint-interval", "0.05"});
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", server.address()});
    return RunProcess(std::move(args));
  };
  auto add = [&](const std::string& id, const std::string& kind,
                 const std::string& due) {
    std::vector<std::string> args = {
        "claim",      "add",           "--id",
        id,           "--text",        "Troops will leave.",
        "--claimant", "Kremlin",       "--kind",
        kind,         "--asserted-at", "2014-05-19"};
    if (!due.empty()) {
      args.push_back("--due-at");
      args.push_back(due);
    }
    RunResult r = cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  auto is_overdue = [](const std::string& id) {
    return [id](const std::string& line) {
      const v1::SubscribeResponse m = ParseMessage(line);
      return m.has_overdue() && m.overdue().claim_id() == id;
    };
  };

  Background json({FACTLOG_PATH, "--server", server.address(), "watch",
                   "--overdue-only", "-o", "json"});
  std::vector<std::string> lines;
  // The first checkpoint carries the cursor the watch starts from.
  ASSERT_TRUE(json.ReadUntil(
      [](const std::string& line) {
        return ParseMessage(line).checkpoint().has_overdue_cursor();
      },
      &lines))
      << json.err();
  add("a-fact", "fact", "");
  add("late", "promise", "2014-06-01");
  add("future", "promise", "2199-01-01");
  ASSERT_TRUE(json.ReadUntil(is_overdue("late"), &lines)) << json.err();
  const v1::ClaimOverdue notice = ParseMessage(lines.back()).overdue();
  EXPECT_EQ(notice.kind(), v1::CLAIM_KIND_PROMISE);
  EXPECT_EQ(notice.claimant(), "Kremlin");
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(notice.due_at()),
            "2014-06-01T00:00:00Z");
  EXPECT_EQ(notice.cursor().claim_id(), "late");
  EXPECT_EQ(json.SignalAndWait(SIGINT), 0) << json.err();
  for (const std::string& line : [&] {
         std::vector<std::string> all = lines;
         for (const std::string& l : Lines(json.RestOfStdout())) {
           all.push_back(l);
         }
         return all;
       }()) {
    const v1::SubscribeResponse m = ParseMessage(line);
    EXPECT_FALSE(m.has_event()) << line;
    EXPECT_TRUE(!m.has_overdue() || m.overdue().claim_id() == "late") << line;
  }

  // Resuming after the printed cursor: only the later claim, in table form.
  const std::string cursor = absl::StrCat(
      google::protobuf::util::TimeUtil::ToString(notice.cursor().at()), "/",
      notice.cursor().claim_id());
  Background table({FACTLOG_PATH, "--server", server.address(), "watch",
                    "--overdue-only", "--overdue-after", cursor});
  add("later", "prediction", "2014-07-01");
  std::vector<std::string> printed;
  ASSERT_TRUE(table.ReadUntil(
      [](const std::string& line) {
        return absl::StrContains(line, "resume with --overdue-after");
      },
      &printed))
      << table.err();
  ASSERT_EQ(printed.size(), 2u) << absl::StrJoin(printed, "\n");
  EXPECT_THAT(printed[0], StartsWith("OVERDUE later PREDICTION by Kremlin, due "
                                     "2014-07-01T00:00:00Z: Troops"));
  EXPECT_THAT(printed[1], MatchesRegex("        since [0-9T:Z-]+ at position "
                                       "[0-9]+; resume with --overdue-after "
                                       "[0-9T:.Z-]+/later"));
  EXPECT_EQ(table.SignalAndWait(SIGTERM), 0) << table.err();
  EXPECT_EQ(table.RestOfStdout(), "");

  // From the epoch: everything overdue now, in the order it became so.
  Background all({FACTLOG_PATH, "--server", server.address(), "watch",
                  "--overdue-only", "--overdue-after", "1970-01-01", "-o",
                  "json"});
  lines.clear();
  ASSERT_TRUE(all.ReadUntil(is_overdue("later"), &lines)) << all.err();
  std::vector<std::string> ids;
  for (const std::string& line : lines) {
    const v1::SubscribeResponse m = ParseMessage(line);
    if (m.has_overdue()) ids.push_back(m.overdue().claim_id());
  }
  EXPECT_THAT(ids, ElementsAre("late", "later"));
  EXPECT_EQ(all.SignalAndWait(SIGINT), 0) << all.err();

  EXPECT_EQ(cli({"watch", "--overdue-after", "yesterday"}).exit_code, 2);
}

TEST(CliHelp, EveryCommandHasHelpWithExamples) {
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"claim"},
      {"claim", "add"},
      {"claim", "show"},
      {"claim", "list"},
      {"claim", "history"},
      {"claim", "correct"},
      {"claim", "retract"},
      {"claim", "link"},
      {"evidence"},
      {"evidence", "add"},
      {"evidence", "withdraw"},
      {"verdict"},
      {"claimant"},
      {"claimant", "show"},
      {"subjects"},
      {"events"},
      {"watch"},
      {"admin"},
      {"admin", "stats"},
      {"import"},
      {"health"},
      {"verify"},
      {"verify", "claim"},
      {"verify", "log"},
      {"export"},
      {"claim", "provenance"},
  };
  for (const auto& command : commands) {
    std::vector<std::string> argv = {FACTLOG_PATH};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back("--help");
    RunResult r = RunProcess(argv);
    const std::string name = absl::StrJoin(command, " ");
    EXPECT_EQ(r.exit_code, 0) << name;
    EXPECT_THAT(r.out, HasSubstr("Usage: factlog")) << name;
    EXPECT_THAT(r.out, HasSubstr("Examples:")) << name;
  }
  RunResult r = RunProcess({FACTLOG_PATH, "import", "--help"});
  EXPECT_THAT(r.out, HasSubstr("STOPS AT THE FIRST"));
  EXPECT_THAT(r.out, HasSubstr("Re-running a file is safe"));
  r = RunProcess({FACTLOG_PATH, "watch", "--help"});
  EXPECT_THAT(r.out, HasSubstr("resumes after the last position"));
  r = RunProcess({FACTLOG_PATH, "--help"});
  for (const char* text : {"Security:", "--tls-ca", "--tls-cert", "--tls-key",
                           "--token-file", "FACTLOG_TOKEN", "https://"}) {
    EXPECT_THAT(r.out, HasSubstr(text));
  }
}

// ---- What tripped new users ----------------------------------------------

// A factlogd with the demo story loaded, and a factlog to run against it.
class DemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new Factlogd();
    const RunResult r = RunProcess(
        {FACTLOG_PATH, "--server", server_->address(), "import", DEMO_PATH});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  RunResult Cli(std::vector<std::string> args,
                const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {FACTLOG_PATH, "--server", server_->address()});
    return RunProcess(std::move(args), env);
  }
  static Factlogd* server_;
};

Factlogd* DemoTest::server_ = nullptr;

// Waits (at most 15 s) until a table-mode watch says on stderr that it
// caught up: events committed from then on reach it live, with their
// status after them.
bool WaitUntilWatching(Background& watch) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!absl::StrContains(watch.err(), "watching live --")) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The demo's claim ids, from the seed file itself.
std::vector<std::string> DemoClaimIds() {
  std::ifstream in(DEMO_PATH);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> ids;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    const size_t at = line.find("\"recordClaim\"");
    if (at == absl::string_view::npos) continue;
    const size_t key = line.find("\"claimId\":\"", at);
    if (key == absl::string_view::npos) continue;
    const size_t start = key + std::strlen("\"claimId\":\"");
    ids.emplace_back(line.substr(start, line.find('"', start) - start));
  }
  return ids;
}

TEST_F(DemoTest, PipedTablesAreNeverCut) {
  RunResult r = Cli({"claim", "list"}, kPiped);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\u2026")));
  EXPECT_THAT(r.out, HasSubstr("Valentyn Nalyvaichenko"));
  EXPECT_THAT(r.out, HasSubstr("The withdrawal of the Russian troops from near "
                               "the Ukraine border has started, and could take "
                               "some time to finish."));
  r = Cli({"events"}, kPiped);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\u2026")));
  for (const std::string& id : DemoClaimIds()) {
    EXPECT_THAT(r.out, HasSubstr("  " + id + "  ")) << "events cut " << id;
  }
}

TEST_F(DemoTest, TablesFitTheWidthTheyAreGivenWithIdsWhole) {
  for (const char* columns : {"80", "132"}) {
    for (const std::vector<std::string>& command :
         {std::vector<std::string>{"claim", "list"},
          std::vector<std::string>{"events"},
          std::vector<std::string>{"claim", "history",
                                   "putin-troops-pulled-back-2014-05"}}) {
      RunResult r = Cli(command, {absl::StrCat("COLUMNS=", columns)});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      for (const std::string& line : Lines(r.out)) {
        EXPECT_LE(CodePoints(line), std::stoul(columns)) << line;
      }
    }
  }
  // The events table at 80 columns still shows every claim id whole.
  const RunResult r = Cli({"events"}, {"COLUMNS=80"});
  for (const std::string& id : DemoClaimIds()) {
    EXPECT_THAT(r.out, HasSubstr(id)) << "events cut " << id;
  }
}

TEST_F(DemoTest, JsonIsOneDocumentAndJsonlOneObjectPerLine) {
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"claim", "list"},
        std::vector<std::string>{"events"},
        std::vector<std::string>{"subjects"},
        std::vector<std::string>{"claim", "history",
                                 "putin-troops-pulled-back-2014-05"}}) {
    std::vector<std::string> args = command;
    args.insert(args.end(), {"-o", "json"});
    RunResult r = Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // What `| python3 -m json.tool` needs: a single JSON value.
    google::protobuf::ListValue list;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok())
        << absl::StrJoin(command, " ") << ":\n"
        << r.out.substr(0, 300);
    EXPECT_GT(list.values_size(), 0);

    args.back() = "jsonl";
    r = Cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<std::string> lines = Lines(r.out);
    EXPECT_EQ(lines.size(), static_cast<size_t>(list.values_size()));
    for (const std::string& line : lines) {
      google::protobuf::Struct object;
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(line, &object).ok())
          << line;
    }
  }
  // An empty list is still a document.
  EXPECT_EQ(Cli({"claim", "list", "--tag", "no-such-tag", "-o", "json"}).out,
            "[]\n");
}

TEST_F(DemoTest, WithJsonOutputErrorsAreJsonToo) {
  auto error_of = [](const RunResult& r) {
    google::protobuf::Struct parsed;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.err, &parsed).ok())
        << r.err;
    return parsed.fields().at("error").struct_value();
  };
  RunResult r = Cli({"claim", "show", "no-such-claim", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  auto error = error_of(r);
  EXPECT_EQ(error.fields().at("code").string_value(), "NOT_FOUND");
  EXPECT_EQ(error.fields().at("message").string_value(),
            "claim \"no-such-claim\" not found");
  EXPECT_EQ(error.fields().at("exitCode").number_value(), 1);

  r = Cli({"claim", "list", "--kind", "rumour", "-o", "jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  error = error_of(r);
  EXPECT_EQ(error.fields().at("code").string_value(), "USAGE");
  EXPECT_THAT(error.fields().at("message").string_value(),
              HasSubstr("allowed: fact, promise"));

  DeadPort dead;
  r = RunProcess({FACTLOG_PATH, "--server", dead.address(), "--timeout", "2",
                  "--output=json", "claim", "list"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(error_of(r).fields().at("code").string_value(), "UNREACHABLE");
}

TEST(CliHelp, TopLevelHelpListsEveryExitCode) {
  const RunResult r = RunProcess({FACTLOG_PATH, "--help"});
  EXPECT_THAT(r.out, HasSubstr("3 server unreachable, 4 verify found the log"));
  EXPECT_THAT(r.out, HasSubstr("{table|json|jsonl}"));
}

TEST(CliHelp, ExamplesUseTheDemoIds) {
  const std::vector<std::string> ids = DemoClaimIds();
  ASSERT_EQ(ids.size(), 10u);
  const std::vector<std::vector<std::string>> commands = {
      {},
      {"claim"},
      {"claim", "show"},
      {"claim", "list"},
      {"claim", "history"},
      {"claim", "provenance"},
      {"claim", "correct"},
      {"claim", "retract"},
      {"claim", "link"},
      {"evidence"},
      {"evidence", "add"},
      {"evidence", "withdraw"},
      {"verdict"},
      {"events"},
      {"watch"},
      {"verify", "claim"},
  };
  // A word after a command that takes a claim id, or after --claim.
  const std::vector<std::string> takes_id = {
      "show", "history",  "provenance", "correct", "retract", "link",
      "add",  "withdraw", "verdict",    "--claim", "claim"};
  for (const auto& command : commands) {
    std::vector<std::string> argv = {FACTLOG_PATH};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back("--help");
    const RunResult r = RunProcess(argv);
    const std::string examples = r.out.substr(r.out.find("Examples:"));
    std::vector<std::string> words =
        absl::StrSplit(examples, absl::ByAnyChar(" \n\\"), absl::SkipEmpty());
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      const std::string& next = words[i + 1];
      if (std::find(takes_id.begin(), takes_id.end(), words[i]) ==
              takes_id.end() ||
          next.empty() || next[0] == '-' || next == "ID" ||
          next.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
              std::string::npos ||
          next.find('-') == std::string::npos) {
        continue;  // not a claim id
      }
      EXPECT_NE(std::find(ids.begin(), ids.end(), next), ids.end())
          << absl::StrJoin(command, " ") << " --help: \"" << next
          << "\" is not a claim of the demo";
    }
  }
}

TEST(CliHelp, ClaimAddSaysWhatASubjectIsFor) {
  const RunResult r = RunProcess({FACTLOG_PATH, "claim", "add", "--help"});
  EXPECT_THAT(r.out, HasSubstr("optional"));
  EXPECT_THAT(r.out, HasSubstr("without one"));
}

TEST(CliHelp, AdminBackupSaysWhereARelativePathLands) {
  const RunResult r = RunProcess({FACTLOG_PATH, "admin", "backup", "--help"});
  EXPECT_THAT(r.out, HasSubstr("factlogd's working directory"));
}

TEST_F(DemoTest, AMisspeltCommandIsNamedWithTheClosestOne) {
  RunResult r = Cli({"claims", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: unknown command \"claims\" for "
                                "'factlog'; did you mean 'factlog claim'?"));
  r = Cli({"claim", "lst"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: unknown command \"lst\" for 'factlog "
                                "claim'; did you mean 'factlog claim list'?"));
  // Global options before the word are skipped over, values included.
  r = Cli({"--timeout", "5", "-o", "json", "evidense", "add"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("did you mean 'factlog evidence'?"));
  // Nothing close: the commands there are.
  r = Cli({"frobnicate"});
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(r.err, HasSubstr("(commands: claim, evidence, verdict"));
}

TEST_F(DemoTest, EnumWordsAreTakenAsTheyArePrinted) {
  // The table prints FACT and CONTRADICTED; typing them back works.
  RunResult r = Cli({"claim", "list", "--kind", "FACT", "--status",
                     "CONTRADICTED", "-o", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto claims = ParseJsonLines<v1::ClaimView>(r.out);
  EXPECT_EQ(claims.size(), 3u);
  r = Cli({"claim", "list", "--kind", "claim_kind_promise", "-o", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJsonLines<v1::ClaimView>(r.out).size(), 2u);
  r = Cli({"events", "--type", "EVIDENCE_ADDED,Claim-Linked", "-o", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 15 pieces of evidence, 3 links of an event on each of their claims.
  EXPECT_EQ(Lines(r.out).size(), 21u);
}

TEST_F(DemoTest, RefusalsReadLikeTheCli) {
  // The demo's promise takes ratings of the promise scale only.
  RunResult r = Cli({"verdict", "putin-orders-troops-back-2014-05-19",
                     "--rating", "false", "--summary", "s", "--reviewer", "r"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: INVALID_ARGUMENT: rating: false is not on the promise "
            "scale used for promise claims; it has kept, compromise, "
            "in-progress, stalled, broken, not-yet-rated\n");
  r = Cli({"claim", "link", "russia-withdrawal-started-2014-05-19",
           "putin-troops-pulled-back-2014-05", "--relation", "repeats"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: ALREADY_EXISTS: claim "
            "\"russia-withdrawal-started-2014-05-19\" is already linked "
            "repeats \"putin-troops-pulled-back-2014-05\"\n");
}

TEST_F(DemoTest, AnUnknownClaimantGetsAHint) {
  RunResult r = Cli({"claim", "list", "--claimant", "Putin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "no claims\nclaimant names match exactly (case too); claimants "
            "containing \"Putin\": Vladimir Putin\n");
  r = Cli({"claim", "list", "--claimant", "vladimir putin"});
  EXPECT_THAT(r.out, HasSubstr("containing \"vladimir putin\": Vladimir "
                               "Putin\n"));
  r = Cli({"claimant", "show", "putin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: NOT_FOUND: claimant \"putin\" has no claims (names match "
            "exactly); claimant names match exactly (case too); claimants "
            "containing \"putin\": Vladimir Putin\n");
}

// A read "as of" a position must not change later: beyond the log it is
// OUT_OF_RANGE, as `watch --from` is.
TEST_F(DemoTest, AsOfPositionBeyondTheLogIsOutOfRangeLikeWatchFrom) {
  RunResult r = Cli({"claim", "show", "russia-withdrawal-started-2014-05-19",
                     "--as-of-position", "9999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: OUT_OF_RANGE: as_of_position: 9999 is "
                                "beyond the last committed position"));
  r = Cli({"watch", "--from", "9999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("error: OUT_OF_RANGE: from_position: 9999 is "
                                "beyond the last committed position"));
  // Up to the end, the past is there.
  r = Cli({"claim", "show", "russia-withdrawal-started-2014-05-19",
           "--as-of-position", "2", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ParseJson<v1::ClaimView>(r.out).status(),
            v1::CLAIM_STATUS_UNVERIFIED);
}

TEST_F(DemoTest, ServerAddressesAreReadAsPeopleWriteThem) {
  const std::string port = server_->port();
  for (const std::string& server :
       {"http://127.0.0.1:" + port, "127.0.0.1:" + port + "/",
        "http://localhost:" + port + "/"}) {
    const RunResult r =
        RunProcess({FACTLOG_PATH, "--server", server, "health"});
    EXPECT_EQ(r.exit_code, 0) << server << ": " << r.err;
  }
  RunResult r =
      RunProcess({FACTLOG_PATH, "--server", "ftp://localhost", "health"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, StartsWith("error: --server \"ftp://localhost\": "
                                "unsupported scheme"));
  r = RunProcess({FACTLOG_PATH, "--server", "localhost:5o051", "health"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("the port must be a number from 1 to 65535"));
}

TEST_F(DemoTest, HealthOfAnUnknownServiceListsTheServices) {
  const RunResult r = Cli({"health", "--service", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: NOT_FOUND: no service \"nope\"; --service takes one of "
            "factlog.v1.ClaimService, factlog.v1.EventService, "
            "factlog.v1.AdminService, or nothing for the whole server\n");
  for (const char* service :
       {"factlog.v1.ClaimService", "factlog.v1.EventService",
        "factlog.v1.AdminService"}) {
    EXPECT_EQ(Cli({"health", "--service", service}).out, "SERVING\n");
  }
}

TEST_F(DemoTest, ProvenanceIrisAreEncoded) {
  const RunResult r =
      Cli({"claim", "provenance", "ukraine-24-servicemen-killed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"factlog:agent/Valentyn%20Nalyvaichenko\""));
  EXPECT_THAT(r.out, Not(HasSubstr("agent/Valentyn Nalyvaichenko")));
}

TEST_F(DemoTest, ReimportingSaysNothingNewWasRecorded) {
  const RunResult r = Cli({"import", DEMO_PATH});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "nothing new: all 28 commands were already applied (the last at "
            "position 31)\n");
}

TEST(CliBackup, ARelativePathIsAnsweredAbsolute) {
  // A relative path is taken under factlogd's --backup-dir (by default
  // `backups` beside its data dir), wherever factlogd was started; the
  // answer names the absolute path, which the caller may not know.
  Factlogd server;
  const RunResult r = RunProcess({FACTLOG_PATH, "--server", server.address(),
                                  "admin", "backup", "relative-backup"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string prefix = "backed up events 1..0 to ";
  const std::string suffix = " (on the server host)\n";
  ASSERT_TRUE(absl::StartsWith(r.out, prefix) && absl::EndsWith(r.out, suffix))
      << r.out;
  const std::string absolute =
      r.out.substr(prefix.size(), r.out.size() - prefix.size() - suffix.size());
  EXPECT_EQ(absolute.front(), '/') << absolute;
  EXPECT_TRUE(absl::EndsWith(absolute, "/backups/relative-backup")) << absolute;
  EXPECT_TRUE(std::filesystem::exists(absolute)) << absolute;
}

TEST_F(DemoTest, WatchShowsTheRatingOfARatedClaim) {
  Background watch({FACTLOG_PATH, "--server", server_->address(), "watch",
                    "--claim", "putin-amassed-40000-troops"});
  // Once the watch is live, rate the claim, then add evidence to it.
  ASSERT_TRUE(WaitUntilWatching(watch));
  ASSERT_EQ(Cli({"verdict", "putin-amassed-40000-troops", "--rating",
                 "mostly-false", "--summary", "s", "--reviewer", "Desk"})
                .exit_code,
            0);
  ASSERT_EQ(Cli({"evidence", "add", "putin-amassed-40000-troops", "--stance",
                 "context", "--source", "Desk"})
                .exit_code,
            0);
  std::vector<std::string> lines;
  // The demo ends at position 31: the verdict is 32, the evidence 33.
  ASSERT_TRUE(watch.ReadUntil(
      [](const std::string& line) { return absl::StartsWith(line, "   33 "); },
      &lines))
      << watch.err() << absl::StrJoin(lines, "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("putin-amassed-40000-troops verdict "));
  EXPECT_THAT(lines[0], EndsWith("\u2192 RATED MOSTLY_FALSE"));
  EXPECT_THAT(lines[1], HasSubstr("putin-amassed-40000-troops evidence "));
  EXPECT_THAT(lines[1], EndsWith("\u2192 RATED MOSTLY_FALSE"));
  EXPECT_EQ(watch.SignalAndWait(SIGINT), 0) << watch.err();
}

}  // namespace
}  // namespace factlog
