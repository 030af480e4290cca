// The replicated mode end to end (docs/ARCHITECTURE.md, "Replicated
// mode"): three etcd members and three factlogd on loopback, writers on
// every node with deliberate conflicts, subscribers on every node, and
// kill -9 of an etcd member (the Raft leader) and of factlogd nodes, each
// restarted. Then: every acknowledged request exactly once, positions
// gapless, the same bytes and Merkle root on every node, each node's
// projections equal to a rebuild (factlogd --verify), and every subscriber
// saw the log's sequence with no gap or repeat.

#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "domain/merkle.h"
#include "etcd/client.h"
#include "factlog/replication/records.pb.h"
#include "factlog/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using testing::EtcdCluster;
using testing::Subprocess;

// One factlogd of the cluster; its log in dir/<name>.log.
struct Node {
  std::string name, data_dir, log, address;
  std::unique_ptr<Subprocess> process;
};

class Cluster {
 public:
  explicit Cluster(const std::string& dir) : dir_(dir) {}

  absl::Status Start(int nodes) {
    absl::StatusOr<std::unique_ptr<EtcdCluster>> etcd =
        EtcdCluster::Start(dir_ + "/etcd");
    if (!etcd.ok()) return etcd.status();
    etcd_ = *std::move(etcd);
    for (int i = 0; i < nodes; ++i) {
      Node node;
      node.name = absl::StrCat("n", i);
      node.data_dir = absl::StrCat(dir_, "/", node.name);
      node.log = absl::StrCat(dir_, "/", node.name, ".log");
      node.address = "127.0.0.1:0";
      nodes_.push_back(std::move(node));
      if (absl::Status s = StartNode(i); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Starts node i (on its previous address once it has one).
  absl::Status StartNode(int i) {
    Node& node = nodes_[i];
    const std::string command = absl::StrCat(
        "exec ", FACTLOGD_PATH, " --listen ", node.address, " --data-dir ",
        node.data_dir, " --etcd-endpoints ", etcd_->endpoints(),
        " --node-name ", node.name, " ", extra_flags_, " 2>>", node.log);
    absl::Status last;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto process = Subprocess::Start({"/bin/sh", "-c", command});
      if (!process.ok()) return process.status();
      auto line = (*process)->WaitForLine("listening on ", absl::Seconds(60));
      if (line.ok()) {
        const size_t start = line->find("listening on ") + 13;
        node.address = line->substr(start, line->find(' ', start) - start);
        node.process = *std::move(process);
        return absl::OkStatus();
      }
      last = line.status();
      (*process)->Signal(SIGKILL);
      (*process)->Wait();
      absl::SleepFor(absl::Milliseconds(500));  // the port may still be held
    }
    return absl::UnavailableError(
        absl::StrCat(node.name, " did not start: ", last.message()));
  }

  // A node more, from the data dir `data_dir` (a restored backup); its
  // index.
  absl::StatusOr<int> AddNode(const std::string& data_dir) {
    Node node;
    node.name = absl::StrCat("n", nodes_.size());
    node.data_dir = data_dir;
    node.log = absl::StrCat(dir_, "/", node.name, ".log");
    node.address = "127.0.0.1:0";
    nodes_.push_back(std::move(node));
    const int i = static_cast<int>(nodes_.size()) - 1;
    if (absl::Status s = StartNode(i); !s.ok()) return s;
    return i;
  }

  void KillNode(int i) {
    nodes_[i].process->Signal(SIGKILL);
    nodes_[i].process->Wait();
    nodes_[i].process.reset();
  }
  void StopNode(int i) {
    nodes_[i].process->Signal(SIGTERM);
    nodes_[i].process->Wait();
    nodes_[i].process.reset();
  }

  // More factlogd flags for every node started from now on.
  void set_extra_flags(std::string flags) { extra_flags_ = std::move(flags); }
  EtcdCluster& etcd() { return *etcd_; }
  Node& node(int i) { return nodes_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }

 private:
  std::string dir_;
  std::string extra_flags_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<Node> nodes_;
};

std::unique_ptr<v1::ClaimService::Stub> ClaimStub(const std::string& address) {
  return v1::ClaimService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}
std::unique_ptr<v1::EventService::Stub> EventStub(const std::string& address) {
  return v1::EventService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// Every event of the node at `address`, in order, as served.
std::vector<v1::Event> ReadAll(const std::string& address) {
  auto stub = EventStub(address);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::ReadEventsRequest request;
  auto reader = stub->ReadEvents(&context, request);
  std::vector<v1::Event> out;
  v1::Event event;
  while (reader->Read(&event)) out.push_back(event);
  reader->Finish();
  return out;
}

absl::StatusOr<v1::LogHead> HeadOf(const std::string& address) {
  auto stub = EventStub(address);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::LogHead head;
  grpc::Status status =
      stub->GetLogHead(&context, v1::GetLogHeadRequest(), &head);
  if (!status.ok()) return absl::UnavailableError(status.error_message());
  return head;
}

// What the writers were told: request id -> acknowledged first position.
struct Acks {
  absl::Mutex mu;
  std::map<std::string, uint64_t> positions ABSL_GUARDED_BY(mu);
  std::atomic<int> failures_seen{0};
};

// Sends commands to node `home` (then the others, when it is down), each
// retried with its request id until acknowledged: RecordClaim of its own
// claims and AddEvidence to claims every writer shares (the conflicts).
void RunWriter(Cluster* cluster, int home, int commands, Acks* acks,
               absl::Mutex* addresses_mu) {
  for (int k = 0; k < commands; ++k) {
    const std::string request_id = absl::StrCat("w", home, "-", k);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (int attempt = 0; absl::Now() < deadline; ++attempt) {
      std::string address;
      {
        absl::MutexLock lock(addresses_mu);
        address = cluster->node((home + attempt) % cluster->size()).address;
      }
      auto stub = ClaimStub(address);
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
      v1::CommandResponse response;
      grpc::Status status;
      if (k % 3 == 0) {
        v1::RecordClaimRequest request =
            testing::NewClaim(absl::StrCat("own-", home, "-", k));
        request.set_request_id(request_id);
        status = stub->RecordClaim(&context, request, &response);
      } else {
        v1::AddEvidenceRequest request = testing::NewEvidence(
            absl::StrCat("shared-", k % 2), v1::STANCE_SUPPORTS,
            absl::StrCat("source ", home, " ", k));
        request.set_request_id(request_id);
        status = stub->AddEvidence(&context, request, &response);
      }
      if (status.ok()) {
        absl::MutexLock lock(&acks->mu);
        acks->positions[request_id] = response.first_position();
        break;
      }
      const grpc::StatusCode code = status.error_code();
      if (code != grpc::StatusCode::UNAVAILABLE &&
          code != grpc::StatusCode::DEADLINE_EXCEEDED &&
          code != grpc::StatusCode::CANCELLED &&
          code != grpc::StatusCode::ABORTED) {
        ADD_FAILURE() << request_id << ": " << status.error_message();
        break;
      }
      ++acks->failures_seen;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
}

// Follows node `i` from position 0, reconnecting (from the last position
// received) when it goes away, until `stop`.
void RunSubscriber(Cluster* cluster, int i, absl::Mutex* addresses_mu,
                   std::atomic<bool>* stop, std::vector<uint64_t>* positions,
                   std::vector<std::string>* event_ids) {
  while (!stop->load()) {
    std::string address;
    {
      absl::MutexLock lock(addresses_mu);
      address = cluster->node(i).address;
    }
    auto stub = EventStub(address);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
    v1::SubscribeRequest request;
    request.set_from_position(positions->empty() ? 0 : positions->back());
    auto reader = stub->Subscribe(&context, request);
    v1::SubscribeResponse response;
    while (reader->Read(&response)) {
      if (response.has_event()) {
        positions->push_back(response.event().position());
        event_ids->push_back(response.event().event_id());
      }
    }
    reader->Finish();
  }
}

// Waits until every node serves the same log head; that head.
absl::StatusOr<v1::LogHead> SameHeadEverywhere(Cluster& cluster,
                                               uint64_t at_least) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<v1::LogHead> first;
  while (absl::Now() < deadline) {
    first = HeadOf(cluster.node(0).address);
    bool same = first.ok() && first->tree_size() >= at_least;
    for (int i = 1; i < cluster.size() && same; ++i) {
      auto head = HeadOf(cluster.node(i).address);
      same = head.ok() && head->tree_size() == first->tree_size() &&
             head->root_hash() == first->root_hash();
    }
    if (same) return first;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError("the nodes' heads differ");
}

grpc::Status Record(const std::string& address, const std::string& claim_id,
                    absl::Duration timeout) {
  auto stub = ClaimStub(address);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::CommandResponse response;
  v1::RecordClaimRequest request = testing::NewClaim(claim_id);
  request.set_request_id(claim_id);
  return stub->RecordClaim(&context, request, &response);
}

// A client of the cluster's etcd (member 0 first, then the others).
std::unique_ptr<etcd::Client> EtcdOf(Cluster& cluster) {
  etcd::ClientOptions options;
  for (int i = 0; i < cluster.etcd().size(); ++i) {
    options.endpoints.push_back(cluster.etcd().client_address(i));
  }
  auto client = etcd::Client::Connect(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// The index of the node that leads (holds /factlog/leader) once it is one
// other than `not_node`, waiting up to `timeout`; -1 when none did.
int WaitForLeader(Cluster& cluster, etcd::Client& etcd, int not_node,
                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  do {
    auto kv = etcd.Get("/factlog/leader");
    replication::NodeInfo leader;
    if (kv.ok() && leader.ParseFromString(kv->value())) {
      for (int i = 0; i < cluster.size(); ++i) {
        if (i != not_node && cluster.node(i).name == leader.name()) return i;
      }
    }
    absl::SleepFor(absl::Milliseconds(50));
  } while (absl::Now() < deadline);
  return -1;
}

// The node that committed the log's last record.
std::string LastRecordNode(etcd::Client& etcd) {
  auto head_kv = etcd.Get("/factlog/head");
  if (!head_kv.ok()) return "(no head)";
  replication::LogHead head;
  head.ParseFromString(head_kv->value());
  auto record_kv =
      etcd.Get(absl::StrFormat("/factlog/log/%020d", head.commit()));
  if (!record_kv.ok()) return "(no record)";
  replication::CommitRecord record;
  record.ParseFromString(record_kv->value());
  return record.node();
}

class ClusterTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(ClusterTest, NothingAcknowledgedIsLostAcrossKills) {
  Cluster cluster(dir_.path());
  absl::Status started = cluster.Start(3);
  ASSERT_TRUE(started.ok()) << started;

  std::unique_ptr<etcd::Client> etcd = EtcdOf(cluster);
  ASSERT_NE(etcd, nullptr);
  const int leader = WaitForLeader(cluster, *etcd, -1, absl::Seconds(30));
  ASSERT_GE(leader, 0) << "one node leads";
  const int follower = (leader + 1) % 3;

  // The claims every writer adds evidence to, sent to a follower: it
  // forwards them to the leader, which commits them, and answers once it
  // has applied them itself (read-your-writes on the node asked).
  for (int shared = 0; shared < 2; ++shared) {
    auto stub = ClaimStub(cluster.node(follower).address);
    grpc::ClientContext context;
    v1::CommandResponse response;
    grpc::Status recorded = stub->RecordClaim(
        &context, testing::NewClaim(absl::StrCat("shared-", shared)),
        &response);
    ASSERT_TRUE(recorded.ok()) << recorded.error_message();
    EXPECT_EQ(LastRecordNode(*etcd), cluster.node(leader).name)
        << "the leader committed what the follower accepted";
    // Its similar claims, searched on the follower while the leader
    // committed it: the earlier alike claim, never the claim itself.
    std::vector<std::string> similar;
    for (const v1::SimilarClaim& s : response.similar_claims()) {
      similar.push_back(s.claim_id());
    }
    if (shared == 0) {
      EXPECT_THAT(similar, ::testing::IsEmpty());
    } else {
      EXPECT_THAT(similar, ::testing::ElementsAre("shared-0"));
    }
    grpc::ClientContext read_context;
    v1::GetClaimRequest get;
    get.set_claim_id(absl::StrCat("shared-", shared));
    v1::ClaimView view;
    grpc::Status read = stub->GetClaim(&read_context, get, &view);
    ASSERT_TRUE(read.ok()) << read.error_message();
    EXPECT_EQ(view.version(), response.version());
  }

  // On the leader, a claim whose id the leader assigns: the index may
  // already hold it when its similar claims are searched, and it is left
  // out all the same.
  {
    auto stub = ClaimStub(cluster.node(leader).address);
    grpc::ClientContext context;
    v1::CommandResponse response;
    grpc::Status recorded =
        stub->RecordClaim(&context, testing::NewClaim(""), &response);
    ASSERT_TRUE(recorded.ok()) << recorded.error_message();
    std::vector<std::string> similar;
    for (const v1::SimilarClaim& s : response.similar_claims()) {
      similar.push_back(s.claim_id());
    }
    EXPECT_THAT(similar,
                ::testing::UnorderedElementsAre("shared-0", "shared-1"))
        << "assigned " << response.claim_id();
  }

  absl::Mutex addresses_mu;
  Acks acks;
  std::atomic<bool> stop_subscribers{false};
  std::vector<std::vector<uint64_t>> seen_positions(3);
  std::vector<std::vector<std::string>> seen_ids(3);
  std::vector<std::thread> subscribers;
  for (int i = 0; i < 3; ++i) {
    subscribers.emplace_back(RunSubscriber, &cluster, i, &addresses_mu,
                             &stop_subscribers, &seen_positions[i],
                             &seen_ids[i]);
  }
  constexpr int kCommandsPerWriter = 60;
  std::vector<std::thread> writers;
  for (int i = 0; i < 3; ++i) {
    writers.emplace_back(RunWriter, &cluster, i, kCommandsPerWriter, &acks,
                         &addresses_mu);
  }
  auto acked = [&] {
    absl::MutexLock lock(&acks.mu);
    return acks.positions.size();
  };
  auto wait_acked = [&](size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (acked() < n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  };

  // The etcd Raft leader dies and comes back.
  wait_acked(30);
  const int etcd_leader = cluster.etcd().LeaderIndex();
  ASSERT_GE(etcd_leader, 0);
  cluster.etcd().Kill(etcd_leader);
  wait_acked(60);
  ASSERT_TRUE(cluster.etcd().Restart(etcd_leader).ok());

  // The factlogd leader dies mid-write: another node takes over within
  // about the lease's TTL, writes go on, and it comes back on its address.
  wait_acked(90);
  const int dying = WaitForLeader(cluster, *etcd, -1, absl::Seconds(30));
  ASSERT_GE(dying, 0);
  {
    absl::MutexLock lock(&addresses_mu);
    cluster.KillNode(dying);
  }
  const int successor = WaitForLeader(cluster, *etcd, dying, absl::Seconds(30));
  EXPECT_GE(successor, 0) << "a surviving node leads";
  wait_acked(110);
  {
    absl::MutexLock lock(&addresses_mu);
    ASSERT_TRUE(cluster.StartNode(dying).ok());
  }
  // And a follower.
  wait_acked(140);
  {
    absl::MutexLock lock(&addresses_mu);
    const int current = WaitForLeader(cluster, *etcd, -1, absl::Seconds(30));
    const int other = (current + 1) % 3;
    cluster.KillNode(other);
    ASSERT_TRUE(cluster.StartNode(other).ok());
  }

  for (std::thread& t : writers) t.join();
  ASSERT_EQ(acked(), 3u * kCommandsPerWriter)
      << "every command is eventually acknowledged";

  // Every node reaches the same head.
  absl::StatusOr<v1::LogHead> head0 =
      SameHeadEverywhere(cluster, 3 + 3 * kCommandsPerWriter);
  ASSERT_TRUE(head0.ok()) << head0.status();
  std::cout << "acknowledged " << acked() << " commands after "
            << acks.failures_seen << " refused attempts\n";

  // Identical bytes at every position, gapless, every acknowledged request
  // exactly once.
  std::vector<v1::Event> log0 = ReadAll(cluster.node(0).address);
  ASSERT_EQ(log0.size(), head0->tree_size());
  for (size_t p = 0; p < log0.size(); ++p) {
    ASSERT_EQ(log0[p].position(), p + 1);
  }
  for (int i = 1; i < 3; ++i) {
    std::vector<v1::Event> log = ReadAll(cluster.node(i).address);
    ASSERT_EQ(log.size(), log0.size());
    for (size_t p = 0; p < log.size(); ++p) {
      ASSERT_EQ(log[p].SerializeAsString(), log0[p].SerializeAsString())
          << "node " << i << " position " << p + 1;
    }
  }
  std::map<std::string, int> requests_in_log;
  for (const v1::Event& event : log0) ++requests_in_log[event.request_id()];
  EXPECT_EQ(log0.size(), 3u + 3u * kCommandsPerWriter)
      << "the shared claims, the leader's claim and one event per "
         "acknowledged command";
  {
    absl::MutexLock lock(&acks.mu);
    for (const auto& [request_id, position] : acks.positions) {
      EXPECT_EQ(requests_in_log[request_id], 1) << request_id;
      ASSERT_GE(position, 1u);
      ASSERT_LE(position, log0.size());
      EXPECT_EQ(log0[position - 1].request_id(), request_id);
    }
  }

  // Subscribers saw the log's sequence: no gap, no repeat.
  const absl::Time sub_deadline = absl::Now() + absl::Seconds(20);
  auto caught_up = [&] {
    for (int i = 0; i < 3; ++i) {
      if (seen_positions[i].size() < log0.size()) return false;
    }
    return true;
  };
  while (!caught_up() && absl::Now() < sub_deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  stop_subscribers = true;
  for (std::thread& t : subscribers) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(seen_positions[i].size(), log0.size()) << "subscriber " << i;
    for (size_t p = 0; p < log0.size(); ++p) {
      ASSERT_EQ(seen_positions[i][p], p + 1) << "subscriber " << i;
      ASSERT_EQ(seen_ids[i][p], log0[p].event_id()) << "subscriber " << i;
    }
  }

  // Each node's projections equal a rebuild from its log.
  for (int i = 0; i < 3; ++i) {
    cluster.StopNode(i);
    testing::RunResult verify = testing::RunToCompletion(
        {FACTLOGD_PATH, "--verify", "--data-dir", cluster.node(i).data_dir});
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
  }
}

TEST_F(ClusterTest, AFrozenLeaderCatchesUpWithoutAForkAndANodeJoinsAfterTrim) {
  Cluster cluster(dir_.path());
  // etcd keeps the newest 30 records; older ones go once all live nodes
  // applied them (more than the frozen phase below writes, so that the
  // frozen node, not live meanwhile, still finds its tail).
  cluster.set_extra_flags("--etcd-retain-records 30");
  absl::Status started = cluster.Start(3);
  ASSERT_TRUE(started.ok()) << started;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Record(cluster.node(i).address, absl::StrCat("before-", i),
                       absl::Seconds(15))
                    .ok());
  }
  // The leader freezes with a command on its way in (SIGSTOP: it neither
  // commits nor renews its lease); the others forward to it until its
  // lease runs out, then decide their commands themselves (they carry
  // request ids), one of them takes over, and writes go on.
  std::unique_ptr<etcd::Client> etcd = EtcdOf(cluster);
  ASSERT_NE(etcd, nullptr);
  const int frozen = WaitForLeader(cluster, *etcd, -1, absl::Seconds(30));
  ASSERT_GE(frozen, 0);
  cluster.node(frozen).process->Signal(SIGSTOP);
  grpc::Status frozen_write;
  std::thread frozen_client([&] {
    frozen_write =
        Record(cluster.node(frozen).address, "to-the-frozen", absl::Seconds(3));
  });
  for (int k = 0; k < 20; ++k) {
    grpc::Status status =
        Record(cluster.node((frozen + 1 + k % 2) % 3).address,
               absl::StrCat("while-frozen-", k), absl::Seconds(15));
    // EXPECT, not ASSERT: returning here would leave frozen_client
    // joinable, and its destructor would terminate the whole binary.
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  frozen_client.join();
  EXPECT_EQ(frozen_write.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a frozen node acknowledges nothing";
  const int successor =
      WaitForLeader(cluster, *etcd, frozen, absl::Seconds(30));
  EXPECT_GE(successor, 0) << "another node took over";
  EXPECT_NE(LastRecordNode(*etcd), cluster.node(frozen).name);

  // It resumes: its queued command is decided against a head that moved on
  // (superseded, decided again), and it catches up without a fork.
  cluster.node(frozen).process->Signal(SIGCONT);
  ASSERT_TRUE(
      Record(cluster.node(frozen).address, "after-thaw", absl::Seconds(15))
          .ok());
  absl::StatusOr<v1::LogHead> head = SameHeadEverywhere(cluster, 3 + 20 + 1);
  ASSERT_TRUE(head.ok()) << head.status();

  // The log grows past what etcd keeps: the leader trims the oldest
  // records, and a node with an empty data dir can no longer start from
  // etcd alone (refused, saying how to bootstrap it).
  constexpr int kMore = 40;
  for (int k = 0; k < kMore; ++k) {
    ASSERT_TRUE(Record(cluster.node(k % 3).address, absl::StrCat("more-", k),
                       absl::Seconds(15))
                    .ok());
  }
  uint64_t trimmed = 0;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       trimmed == 0 && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    auto kv = etcd->Get("/factlog/trimmed");
    if (kv.ok()) {
      ASSERT_TRUE(absl::SimpleAtoi(kv->value(), &trimmed));
    }
  }
  ASSERT_GT(trimmed, 0u) << "the leader trimmed etcd's copy of the log";
  EXPECT_FALSE(etcd->Get(absl::StrFormat("/factlog/log/%020d", 1)).ok())
      << "the first record is gone from etcd";
  {
    testing::RunResult fresh = testing::RunToCompletion(
        {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir",
         dir_.path() + "/fresh", "--etcd-endpoints", cluster.etcd().endpoints(),
         "--node-name", "fresh"},
        absl::Seconds(60));
    EXPECT_NE(fresh.exit_code, 0);
    EXPECT_NE(fresh.output.find("were trimmed"), std::string::npos)
        << fresh.output;
  }

  // A fourth node bootstraps from node 0's backup and applies the rest.
  // Under node 0's --backup-dir (by default `backups` beside its data
  // dir); the answer names the absolute path.
  std::string backup;
  {
    auto admin = v1::AdminService::NewStub(grpc::CreateChannel(
        cluster.node(0).address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    v1::BackupRequest request;
    request.set_dir("bootstrap");
    v1::BackupResponse response;
    grpc::Status status = admin->Backup(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    backup = response.dir();
  }
  ASSERT_TRUE(
      Record(cluster.node(1).address, "after-backup", absl::Seconds(15)).ok());
  const std::string restored = dir_.path() + "/n3";
  testing::RunResult restore = testing::RunToCompletion(
      {FACTLOGD_PATH, "--restore-from", backup, "--data-dir", restored});
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  absl::StatusOr<int> fourth = cluster.AddNode(restored);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  ASSERT_TRUE(
      Record(cluster.node(*fourth).address, "on-the-fourth", absl::Seconds(15))
          .ok());
  head = SameHeadEverywhere(cluster, 3 + 20 + 1 + kMore + 2);
  ASSERT_TRUE(head.ok()) << head.status();
  std::vector<v1::Event> log = ReadAll(cluster.node(2).address);
  EXPECT_EQ(log.size(), head->tree_size());
  std::set<std::string> requests;
  for (size_t p = 0; p < log.size(); ++p) {
    EXPECT_EQ(log[p].position(), p + 1);
    EXPECT_TRUE(requests.insert(log[p].request_id()).second)
        << "appended twice: " << log[p].request_id();
  }
  for (int i = 0; i < cluster.size(); ++i) {
    cluster.StopNode(i);
    testing::RunResult verify = testing::RunToCompletion(
        {FACTLOGD_PATH, "--verify", "--data-dir", cluster.node(i).data_dir});
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
  }
}

TEST_F(ClusterTest, RefusesASingleNodeStoreAndAStoreOfAnotherCluster) {
  Cluster cluster(dir_.path());
  absl::Status started = cluster.Start(1);
  ASSERT_TRUE(started.ok()) << started;
  {
    auto stub = ClaimStub(cluster.node(0).address);
    grpc::ClientContext context;
    v1::CommandResponse response;
    grpc::Status recorded =
        stub->RecordClaim(&context, testing::NewClaim("c0"), &response);
    ASSERT_TRUE(recorded.ok()) << recorded.error_message();
    EXPECT_EQ(response.first_position(), 1u);
  }
  cluster.StopNode(0);

  // A single-node store with events.
  const std::string single = dir_.path() + "/single";
  {
    auto process = testing::StartFactlogd(FACTLOGD_PATH, single);
    ASSERT_TRUE(process.ok()) << process.status();
    auto stub = ClaimStub(process->address);
    grpc::ClientContext context;
    v1::CommandResponse response;
    ASSERT_TRUE(
        stub->RecordClaim(&context, testing::NewClaim("c1"), &response).ok());
    process->process->Signal(SIGTERM);
    process->process->Wait();
  }
  testing::RunResult refused = testing::RunToCompletion(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir", single,
       "--etcd-endpoints", cluster.etcd().endpoints(), "--node-name", "x"},
      absl::Seconds(60));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("single-node store"), std::string::npos)
      << refused.output;

  // The cluster's node against another etcd cluster's... same etcd, other
  // prefix: a different factlog cluster.
  testing::RunResult other = testing::RunToCompletion(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir",
       cluster.node(0).data_dir, "--etcd-endpoints", cluster.etcd().endpoints(),
       "--node-name", "n0", "--etcd-prefix", "/other/"},
      absl::Seconds(60));
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.output.find("belongs to factlog cluster"), std::string::npos)
      << other.output;

  // A record whose Merkle root does not match what its events hash to (a
  // forked log, forged here straight into etcd): the node stops applying
  // and writing, and says why.
  ASSERT_TRUE(cluster.StartNode(0).ok());
  {
    etcd::ClientOptions options;
    options.endpoints = {cluster.etcd().client_address(0)};
    auto client = etcd::Client::Connect(options);
    ASSERT_TRUE(client.ok());
    auto head_kv = (*client)->Get("/factlog/head");
    ASSERT_TRUE(head_kv.ok()) << head_kv.status();
    replication::LogHead head;
    ASSERT_TRUE(head.ParseFromString(head_kv->value()));
    std::vector<v1::Event> log = ReadAll(cluster.node(0).address);
    ASSERT_EQ(log.size(), head.last_position());
    v1::Event forged = log.back();
    forged.set_position(head.last_position() + 1);
    forged.set_version(forged.version() + 1);
    forged.set_event_id("00000000-0000-4000-8000-00000000f0f0");
    forged.mutable_claim_retracted()->set_reason("forged");
    replication::CommitRecord record;
    record.set_commit(head.commit() + 1);
    record.set_first_position(forged.position());
    record.add_events(merkle::CanonicalEventBytes(forged));
    record.set_root_after(std::string(32, '\0'));
    record.set_node("forger");
    replication::LogHead forged_head;
    forged_head.set_commit(record.commit());
    forged_head.set_last_position(forged.position());
    forged_head.set_root(record.root_after());
    etcdserverpb::TxnRequest txn;
    *txn.add_compare() =
        etcd::ModRevisionIs("/factlog/head", head_kv->mod_revision());
    *txn.add_success() =
        etcd::PutOp("/factlog/head", forged_head.SerializeAsString());
    *txn.add_success() =
        etcd::PutOp(absl::StrFormat("/factlog/log/%020d", record.commit()),
                    record.SerializeAsString());
    auto forged_txn = (*client)->Txn(txn);
    ASSERT_TRUE(forged_txn.ok() && forged_txn->succeeded());
  }
  grpc::Status after_fork;
  const absl::Time fork_deadline = absl::Now() + absl::Seconds(20);
  do {
    after_fork =
        Record(cluster.node(0).address, "after-fork", absl::Seconds(5));
  } while (after_fork.ok() == false &&
           after_fork.error_message().find("stopped applying") ==
               std::string::npos &&
           absl::Now() < fork_deadline);
  EXPECT_EQ(after_fork.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(after_fork.error_message().find("stopped applying"),
            std::string::npos)
      << after_fork.error_message();
  std::vector<v1::Event> kept = ReadAll(cluster.node(0).address);
  EXPECT_EQ(kept.size(), 1u) << "the forked record was not applied";
  cluster.StopNode(0);
  {
    std::ifstream in(cluster.node(0).log);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find("FORKED LOG"), std::string::npos);
  }

  // etcd unreachable: factlogd waits, saying so, serves nothing, and a
  // SIGTERM ends the wait.
  {
    auto ports = testing::FreeLoopbackPorts(1);
    ASSERT_TRUE(ports.ok());
    auto waiting = Subprocess::Start(
        {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir",
         dir_.path() + "/waiting", "--etcd-endpoints",
         absl::StrCat("127.0.0.1:", (*ports)[0]), "--node-name", "w"});
    ASSERT_TRUE(waiting.ok());
    auto line = (*waiting)->WaitForLine("waiting for etcd", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    (*waiting)->Signal(SIGTERM);
    auto rest = (*waiting)->ReadToEnd(absl::Seconds(30));
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(rest->find("listening on"), std::string::npos) << *rest;
    EXPECT_NE((*waiting)->Wait(), 0);
  }

  // No --node-name.
  testing::RunResult unnamed = testing::RunToCompletion(
      {FACTLOGD_PATH, "--listen", "127.0.0.1:0", "--data-dir",
       dir_.path() + "/fresh", "--etcd-endpoints", cluster.etcd().endpoints()},
      absl::Seconds(60));
  EXPECT_NE(unnamed.exit_code, 0);
  EXPECT_NE(unnamed.output.find("--node-name"), std::string::npos)
      << unnamed.output;
}

}  // namespace
}  // namespace factlog
