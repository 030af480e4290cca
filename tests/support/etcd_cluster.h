#ifndef FACTLOG_TESTS_ETCD_CLUSTER_H_
#define FACTLOG_TESTS_ETCD_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace factlog::testing {

// A throwaway etcd cluster of `size` members (the Debian etcd-server
// binary, found on PATH or at /usr/bin/etcd) on loopback ports, each with
// its data dir under `dir`, its output in dir/<name>.log. Elections are
// fast (heartbeat 50 ms, election timeout 500 ms) so that failover tests
// stay short. The destructor SIGKILLs every member still running.
class EtcdCluster {
 public:
  // Picks free ports (all members' at once), starts the members and waits
  // until each answers Status. A member that cannot bind its port (another
  // process took it in between) makes the whole start retry with new
  // ports, up to three times.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(
      const std::string& dir, int size = 3);
  ~EtcdCluster();

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member i's client URL.
  const std::string& client_address(int i) const { return members_[i].client; }
  // Every member's client address, comma-separated (--etcd-endpoints).
  std::string endpoints() const;
  // Index of the member the others follow, from Status; -1 if unknown.
  int LeaderIndex();

  // SIGKILLs member i and waits for it to exit.
  void Kill(int i);
  // Starts member i again on its ports and data dir; waits until it
  // answers Status.
  absl::Status Restart(int i);

 private:
  struct Member {
    std::string name, client, peer, data_dir, log;
    std::unique_ptr<Subprocess> process;
  };
  EtcdCluster() = default;
  absl::Status StartMember(int i, const std::string& initial_cluster,
                           const std::string& token);
  absl::Status WaitReady(int i, absl::Duration timeout);

  std::string binary_;
  std::string initial_cluster_, token_;
  std::vector<Member> members_;
};

// `n` distinct free TCP ports on 127.0.0.1, held open together while
// chosen (so that they differ), then released.
absl::StatusOr<std::vector<int>> FreeLoopbackPorts(int n);

// The etcd binary: /usr/bin/etcd or the first `etcd` on PATH; empty when
// none (scripts/install-deps installs etcd-server).
std::string FindEtcd();

}  // namespace factlog::testing

#endif  // FACTLOG_TESTS_ETCD_CLUSTER_H_
