#ifndef FACTLOG_REPLICATION_MEMBERSHIP_H_
#define FACTLOG_REPLICATION_MEMBERSHIP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcd/client.h"
#include "factlog/replication/records.pb.h"

namespace factlog::replication {

struct MembershipOptions {
  // The etcd cluster; must outlive the Membership.
  etcd::Client* etcd = nullptr;
  std::string prefix = "/factlog/";
  std::string node_name;
  // Where peers reach this node's gRPC port ("host:port"); empty: this node
  // never leads (it cannot be forwarded to) but still registers.
  std::string advertise_address;
  // The lease's TTL: a dead leader's key is gone within it, and a node that
  // has not heard from etcd for this long holds no leadership.
  absl::Duration lease_ttl = absl::Seconds(5);
  // This node's applied (commit, position), published with its key; what
  // the leader trims etcd's records by, so only what is durable here.
  // Called on the membership's thread once per round.
  std::function<std::pair<uint64_t, uint64_t>()> applied;
  // Called on the membership's thread when the leader it sees changes (a
  // name, or empty for none). Must not block.
  std::function<void(const std::string& leader)> on_leader_change;
};

// This node's membership of the factlog cluster (docs/ARCHITECTURE.md,
// "Replicated mode"): an etcd lease kept alive every TTL/3, the node's key
// <prefix>nodes/<name> (its address and applied position) attached to it,
// and the campaign for <prefix>leader: a key created only when absent,
// attached to the lease, so it disappears within the TTL once its holder
// dies or is cut off. Leadership only keeps contention low: the compare on
// the log's head (ReplicatedLog) is the fence, so two nodes that both
// believe they lead can never commit at the same position.
//
// Thread-safe. One thread of its own.
class Membership {
 public:
  struct Leader {
    std::string name;
    std::string address;
    bool self = false;
  };

  // Starts the thread; the first round (lease, key, campaign) runs before
  // Start returns when etcd answers.
  static std::unique_ptr<Membership> Start(MembershipOptions options);
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;
  // Stops the thread and revokes the lease (a leader that stops cleanly
  // hands over at once).
  ~Membership();

  // The leader as last seen; nullopt when there is none, or when this node
  // has not heard from etcd for a lease TTL (it then leads nothing).
  std::optional<Leader> leader() const;
  // How often the leader seen changed since start.
  uint64_t leader_changes() const;

  // What the last round read from etcd, with no I/O now: the live nodes'
  // keys (by name), the leader's name, the log's head, and when it was read
  // (InfinitePast before the first answer).
  struct View {
    std::vector<NodeInfo> nodes;
    std::string leader;
    LogHead head;
    absl::Time as_of = absl::InfinitePast();
  };
  View view() const;

  // Called on the membership's thread after each round in which this node
  // leads, with what the round read (the leader's chores: trimming).
  void set_while_leading(std::function<void(const View&)> chore);

 private:
  explicit Membership(MembershipOptions options);
  void Run();
  // One round: lease, node key, campaign, leader read.
  void Round();
  void SeeLeader(std::optional<NodeInfo> leader);
  std::string NodeKey() const;
  std::string LeaderKey() const { return options_.prefix + "leader"; }

  const MembershipOptions options_;
  etcd::Client* const etcd_;

  mutable absl::Mutex mu_;
  int64_t lease_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_contact_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::optional<NodeInfo> leader_ ABSL_GUARDED_BY(mu_);
  View view_ ABSL_GUARDED_BY(mu_);
  std::function<void(const View&)> while_leading_ ABSL_GUARDED_BY(mu_);
  uint64_t leader_changes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace factlog::replication

#endif  // FACTLOG_REPLICATION_MEMBERSHIP_H_
