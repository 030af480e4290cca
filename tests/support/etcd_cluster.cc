#include "tests/support/etcd_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "etcd/client.h"

namespace factlog::testing {

absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int n) {
  std::vector<int> fds, ports;
  absl::Status status;
  for (int i = 0; i < n && status.ok(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)) {
      status = absl::InternalError("cannot bind a loopback port");
    } else {
      ports.push_back(ntohs(addr.sin_port));
    }
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) close(fd);
  if (!status.ok()) return status;
  return ports;
}

std::string FindEtcd() {
  if (access("/usr/bin/etcd", X_OK) == 0) return "/usr/bin/etcd";
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path ? path : "", ':')) {
    std::string candidate = absl::StrCat(dir, "/etcd");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

namespace {

std::string Tail(const std::string& path, size_t bytes = 1500) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string all = s.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(
    const std::string& dir, int size) {
  const std::string binary = FindEtcd();
  if (binary.empty()) {
    return absl::FailedPreconditionError(
        "no etcd binary: scripts/install-deps installs etcd-server");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir));
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<EtcdCluster> cluster(new EtcdCluster());
    cluster->binary_ = binary;
    absl::StatusOr<std::vector<int>> ports = FreeLoopbackPorts(2 * size);
    if (!ports.ok()) return ports.status();
    std::vector<std::string> initial;
    for (int i = 0; i < size; ++i) {
      Member m;
      m.name = absl::StrCat("etcd", i);
      m.client = absl::StrCat("127.0.0.1:", (*ports)[2 * i]);
      m.peer = absl::StrCat("127.0.0.1:", (*ports)[2 * i + 1]);
      m.data_dir = absl::StrCat(dir, "/", m.name, "-", attempt);
      m.log = absl::StrCat(dir, "/", m.name, ".log");
      initial.push_back(absl::StrCat(m.name, "=http://", m.peer));
      cluster->members_.push_back(std::move(m));
    }
    cluster->initial_cluster_ = absl::StrJoin(initial, ",");
    cluster->token_ = absl::StrCat("factlog-test-", std::random_device()());
    last = absl::OkStatus();
    for (int i = 0; i < size && last.ok(); ++i) {
      last =
          cluster->StartMember(i, cluster->initial_cluster_, cluster->token_);
    }
    for (int i = 0; i < size && last.ok(); ++i) {
      last = cluster->WaitReady(i, absl::Seconds(30));
    }
    if (last.ok()) return cluster;
  }
  return last;
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) {
    if (m.process) {
      m.process->Signal(SIGKILL);
      m.process->Wait();
    }
  }
}

absl::Status EtcdCluster::StartMember(int i, const std::string& initial_cluster,
                                      const std::string& token) {
  Member& m = members_[i];
  const std::string command =
      absl::StrCat("exec ", binary_, " --name ", m.name, " --data-dir ",
                   m.data_dir, " --listen-client-urls http://", m.client,
                   " --advertise-client-urls http://", m.client,
                   " --listen-peer-urls http://", m.peer,
                   " --initial-advertise-peer-urls http://", m.peer,
                   " --initial-cluster ", initial_cluster,
                   " --initial-cluster-state new", " --initial-cluster-token ",
                   token, " --heartbeat-interval 50 --election-timeout 500",
                   " --logger zap --log-outputs stderr >>", m.log, " 2>&1");
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start({"/bin/sh", "-c", command});
  if (!process.ok()) return process.status();
  m.process = *std::move(process);
  return absl::OkStatus();
}

absl::Status EtcdCluster::WaitReady(int i, absl::Duration timeout) {
  Member& m = members_[i];
  etcd::ClientOptions options;
  options.endpoints = {m.client};
  options.call_timeout = absl::Seconds(1);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last;
  while (absl::Now() < deadline) {
    if (kill(m.process->pid(), 0) != 0 ||
        Tail(m.log).find("address already in use") != std::string::npos) {
      return absl::UnavailableError(
          absl::StrCat(m.name, " exited: ", Tail(m.log)));
    }
    // A new channel for every probe: a channel whose connection was
    // accepted by the kernel while etcd was still starting (it listens
    // before it serves) stays stuck in gRPC's connect timeout, 20 s by
    // default, long after the member serves; a restarted member then
    // looked unready for up to 30 s.
    absl::StatusOr<std::unique_ptr<etcd::Client>> client =
        etcd::Client::Connect(options);
    if (!client.ok()) return client.status();
    absl::StatusOr<etcd::MemberStatus> status = (*client)->StatusOf(0);
    // A member answers Status before the cluster has a leader; wait for
    // one so that the first writes do not time out.
    if (status.ok() && status->leader != 0) return absl::OkStatus();
    last =
        status.ok() ? absl::UnavailableError("no leader yet") : status.status();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      m.name, " not ready: ", last.message(), "; log: ", Tail(m.log)));
}

std::string EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (const Member& m : members_) out.push_back(m.client);
  return absl::StrJoin(out, ",");
}

int EtcdCluster::LeaderIndex() {
  for (int i = 0; i < size(); ++i) {
    if (!members_[i].process) continue;
    etcd::ClientOptions options;
    options.endpoints = {members_[i].client};
    options.call_timeout = absl::Seconds(1);
    auto client = etcd::Client::Connect(options);
    if (!client.ok()) continue;
    auto status = (*client)->StatusOf(0);
    if (!status.ok() || status->leader == 0) continue;
    if (status->leader == status->member_id) return i;
  }
  return -1;
}

void EtcdCluster::Kill(int i) {
  Member& m = members_[i];
  if (!m.process) return;
  m.process->Signal(SIGKILL);
  m.process->Wait();
  m.process.reset();
}

absl::Status EtcdCluster::Restart(int i) {
  Kill(i);
  absl::Status started = StartMember(i, initial_cluster_, token_);
  if (!started.ok()) return started;
  return WaitReady(i, absl::Seconds(30));
}

}  // namespace factlog::testing
