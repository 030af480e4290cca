#include "replication/membership.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace factlog::replication {

std::unique_ptr<Membership> Membership::Start(MembershipOptions options) {
  std::unique_ptr<Membership> membership(new Membership(std::move(options)));
  membership->Round();
  membership->thread_ = std::thread([m = membership.get()] { m->Run(); });
  pthread_setname_np(membership->thread_.native_handle(), "factlog-member");
  return membership;
}

Membership::Membership(MembershipOptions options)
    : options_(std::move(options)), etcd_(options_.etcd) {}

Membership::~Membership() {
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    lease = lease_;
  }
  // Revoking deletes the node's key and, when it leads, the leader key.
  if (lease != 0) etcd_->LeaseRevoke(lease).IgnoreError();
}

std::string Membership::NodeKey() const {
  return absl::StrCat(options_.prefix, "nodes/", options_.node_name);
}

std::optional<Membership::Leader> Membership::leader() const {
  absl::MutexLock lock(&mu_);
  if (!leader_.has_value() ||
      absl::Now() - last_contact_ >= options_.lease_ttl) {
    return std::nullopt;
  }
  return Leader{leader_->name(), leader_->address(),
                leader_->name() == options_.node_name};
}

uint64_t Membership::leader_changes() const {
  absl::MutexLock lock(&mu_);
  return leader_changes_;
}

void Membership::set_while_leading(std::function<void(const View&)> chore) {
  absl::MutexLock lock(&mu_);
  while_leading_ = std::move(chore);
}

Membership::View Membership::view() const {
  absl::MutexLock lock(&mu_);
  return view_;
}

void Membership::SeeLeader(std::optional<NodeInfo> leader) {
  std::string now_leading;
  {
    absl::MutexLock lock(&mu_);
    const std::string before = leader_.has_value() ? leader_->name() : "";
    now_leading = leader.has_value() ? leader->name() : "";
    leader_ = std::move(leader);
    if (before == now_leading) return;
    ++leader_changes_;
  }
  log::Info("the cluster's leader changed",
            {{"leader", now_leading.empty() ? "(none)" : now_leading},
             {"node", options_.node_name}});
  if (options_.on_leader_change) options_.on_leader_change(now_leading);
}

void Membership::Round() {
  int64_t lease;
  {
    absl::MutexLock lock(&mu_);
    lease = lease_;
  }
  if (lease != 0) {
    absl::StatusOr<int64_t> left = etcd_->LeaseKeepAliveOnce(lease);
    if (!left.ok()) return;     // unreachable: no contact this round
    if (*left <= 0) lease = 0;  // expired while we were away
  }
  if (lease == 0) {
    absl::StatusOr<int64_t> granted = etcd_->LeaseGrant(options_.lease_ttl);
    if (!granted.ok()) return;
    lease = *granted;
    absl::MutexLock lock(&mu_);
    lease_ = lease;
  }
  NodeInfo self;
  self.set_name(options_.node_name);
  self.set_address(options_.advertise_address);
  if (options_.applied) {
    const auto [commit, position] = options_.applied();
    self.set_applied_commit(commit);
    self.set_applied_position(position);
  }
  self.set_updated_unix_millis(absl::ToUnixMillis(absl::Now()));
  self.set_lease(lease);
  const std::string value = self.SerializeAsString();

  // The node's key, the campaign (create the leader key when absent) and
  // the read of the leader in one transaction.
  etcdserverpb::TxnRequest txn;
  *txn.add_success() = etcd::PutOp(NodeKey(), value, lease);
  *txn.add_failure() = etcd::PutOp(NodeKey(), value, lease);
  if (options_.advertise_address.empty()) {
    // Never a candidate: no compare, so the success branch reads.
    *txn.add_success() = etcd::GetOp(LeaderKey());
  } else {
    *txn.add_compare() = etcd::VersionIs(LeaderKey(), 0);
    *txn.add_success() = etcd::PutOp(LeaderKey(), value, lease);
  }
  *txn.add_failure() = etcd::GetOp(LeaderKey());
  // Then, either way, what `view()` shows: the live nodes and the head.
  etcdserverpb::RequestOp nodes;
  nodes.mutable_request_range()->set_key(options_.prefix + "nodes/");
  nodes.mutable_request_range()->set_range_end(
      etcd::PrefixEnd(options_.prefix + "nodes/"));
  for (auto* ops : {txn.mutable_success(), txn.mutable_failure()}) {
    *ops->Add() = nodes;
    *ops->Add() = etcd::GetOp(options_.prefix + "head");
  }
  absl::StatusOr<etcdserverpb::TxnResponse> response = etcd_->Txn(txn);
  if (!response.ok()) return;
  const absl::Time contact = absl::Now();
  std::optional<NodeInfo> leader;
  if (response->succeeded() && !options_.advertise_address.empty()) {
    leader = self;
  } else if (response->responses_size() >= 2 &&
             response->responses(1).has_response_range()) {
    const auto& kvs = response->responses(1).response_range().kvs();
    NodeInfo found;
    if (!kvs.empty() && found.ParseFromString(kvs[0].value())) leader = found;
  }
  View view;
  view.as_of = contact;
  view.leader = leader.has_value() ? leader->name() : "";
  const int n = response->responses_size();
  if (n >= 4) {
    for (const etcdserverpb::KeyValue& kv :
         response->responses(n - 2).response_range().kvs()) {
      NodeInfo node;
      if (node.ParseFromString(kv.value())) view.nodes.push_back(node);
    }
    const auto& head = response->responses(n - 1).response_range().kvs();
    if (!head.empty()) view.head.ParseFromString(head[0].value());
  }
  const bool leading = leader.has_value() &&
                       leader->name() == options_.node_name &&
                       leader->lease() == lease;
  std::function<void(const View&)> chore;
  {
    absl::MutexLock lock(&mu_);
    last_contact_ = contact;
    view_ = view;
    if (leading) chore = while_leading_;
  }
  SeeLeader(std::move(leader));
  if (chore) chore(view);
}

void Membership::Run() {
  const absl::Duration period = options_.lease_ttl / 5;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_;
      };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), period)) return;
    }
    Round();
  }
}

}  // namespace factlog::replication
