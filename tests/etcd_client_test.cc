// etcd/client.h against a real three-member etcd cluster on loopback
// (tests/etcd_cluster.h).

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "etcd/client.h"
#include "gtest/gtest.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/temp_dir.h"

namespace factlog {
namespace {

using testing::EtcdCluster;

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto cluster = EtcdCluster::Start(dir_->path());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    client_ = Connect(cluster_->endpoints());
    ASSERT_NE(client_, nullptr);
  }
  static std::unique_ptr<etcd::Client> Connect(const std::string& endpoints) {
    etcd::ClientOptions options;
    for (absl::string_view e : absl::StrSplit(endpoints, ',')) {
      options.endpoints.emplace_back(e);
    }
    options.call_timeout = absl::Seconds(3);
    auto client = etcd::Client::Connect(options);
    return client.ok() ? *std::move(client) : nullptr;
  }
  // A key of this test only.
  std::string Key(absl::string_view name) {
    return absl::StrCat(
        "/", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
        "/", name);
  }

  static testing::TempDir* dir_;
  static EtcdCluster* cluster_;
  std::unique_ptr<etcd::Client> client_;
};

testing::TempDir* EtcdClientTest::dir_ = nullptr;
EtcdCluster* EtcdClientTest::cluster_ = nullptr;

TEST_F(EtcdClientTest, PutGetAndDelete) {
  auto put = client_->Put(Key("a"), "one");
  ASSERT_TRUE(put.ok()) << put.status();
  auto got = client_->Get(Key("a"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->value(), "one");
  EXPECT_EQ(got->mod_revision(), put->header().revision());
  EXPECT_EQ(got->version(), 1);

  auto deleted = client_->DeleteRange(Key("a"));
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted(), 1);
  EXPECT_TRUE(absl::IsNotFound(client_->Get(Key("a")).status()));
}

TEST_F(EtcdClientTest, TxnComparesModRevision) {
  auto put = client_->Put(Key("head"), "1");
  ASSERT_TRUE(put.ok()) << put.status();
  const int64_t seen = put->header().revision();

  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = etcd::ModRevisionIs(Key("head"), seen);
  *txn.add_success() = etcd::PutOp(Key("head"), "2");
  *txn.add_success() = etcd::PutOp(Key("record"), "r2");
  *txn.add_failure() = etcd::GetOp(Key("head"));
  auto first = client_->Txn(txn);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->succeeded());

  // The same compare again: the head moved, so the failure branch runs and
  // reads the head as it is.
  auto second = client_->Txn(txn);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->succeeded());
  ASSERT_EQ(second->responses_size(), 1);
  const auto& kvs = second->responses(0).response_range().kvs();
  ASSERT_EQ(kvs.size(), 1);
  EXPECT_EQ(kvs[0].value(), "2");
  EXPECT_EQ(kvs[0].mod_revision(), first->header().revision());

  // An absent key has version 0.
  etcdserverpb::TxnRequest create;
  *create.add_compare() = etcd::VersionIs(Key("new"), 0);
  *create.add_success() = etcd::PutOp(Key("new"), "x");
  EXPECT_TRUE(client_->Txn(create)->succeeded());
  EXPECT_FALSE(client_->Txn(create)->succeeded());
}

TEST_F(EtcdClientTest, RangeOverAPrefixInKeyOrder) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client_->Put(Key(absl::StrCat("r/", i)), "v").ok());
  }
  etcdserverpb::RangeRequest range;
  range.set_key(Key("r/"));
  range.set_range_end(etcd::PrefixEnd(Key("r/")));
  range.set_limit(3);
  auto page = client_->Range(range);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->kvs_size(), 3);
  EXPECT_TRUE(page->more());
  EXPECT_EQ(page->count(), 5);
  EXPECT_EQ(page->kvs(0).key(), Key("r/0"));
  EXPECT_EQ(page->kvs(2).key(), Key("r/2"));
}

TEST_F(EtcdClientTest, WatchFromARevisionSeesEveryChangeInOrder) {
  auto first = client_->Put(Key("w/0"), "0");
  ASSERT_TRUE(first.ok());
  for (int i = 1; i < 4; ++i) {
    ASSERT_TRUE(client_->Put(Key(absl::StrCat("w/", i)), "x").ok());
  }
  auto watch = client_->Watch(Key("w/"), etcd::PrefixEnd(Key("w/")),
                              first->header().revision());
  ASSERT_TRUE(watch.ok()) << watch.status();
  std::vector<std::string> seen;
  int64_t last_revision = 0;
  while (seen.size() < 5) {
    if (seen.size() == 4) {
      ASSERT_TRUE(client_->Put(Key("w/4"), "live").ok());
    }
    auto response = (*watch)->Next();
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& event : response->events()) {
      EXPECT_GT(event.kv().mod_revision(), last_revision);
      last_revision = event.kv().mod_revision();
      seen.push_back(event.kv().key());
    }
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i], Key(absl::StrCat("w/", i)));

  (*watch)->Cancel();
  EXPECT_TRUE(absl::IsCancelled((*watch)->Next().status()));
}

TEST_F(EtcdClientTest, WatchBelowTheCompactedRevisionIsOutOfRange) {
  auto put = client_->Put(Key("c"), "1");
  ASSERT_TRUE(put.ok());
  auto again = client_->Put(Key("c"), "2");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(client_->Compact(again->header().revision()).ok());
  auto watch = client_->Watch(Key("c"), "", put->header().revision());
  ASSERT_TRUE(watch.ok()) << watch.status();
  EXPECT_TRUE(absl::IsOutOfRange((*watch)->Next().status()));
}

TEST_F(EtcdClientTest, LeasedKeyGoesWhenTheLeaseExpires) {
  auto lease = client_->LeaseGrant(absl::Seconds(1));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->Put(Key("leased"), "me", *lease).ok());
  auto ttl = client_->LeaseKeepAliveOnce(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GE(*ttl, 1);
  EXPECT_EQ(client_->Get(Key("leased"))->lease(), *lease);
  // No more keep-alives: etcd deletes the key once the TTL has passed.
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (client_->Get(Key("leased")).ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::IsNotFound(client_->Get(Key("leased")).status()));
  EXPECT_EQ(*client_->LeaseKeepAliveOnce(*lease), 0);
}

TEST_F(EtcdClientTest, EveryMemberReportsTheSameClusterAndOneLeader) {
  uint64_t cluster_id = 0;
  for (size_t i = 0; i < client_->endpoint_count(); ++i) {
    auto status = client_->StatusOf(i);
    ASSERT_TRUE(status.ok()) << status.status();
    if (i == 0) cluster_id = status->cluster_id;
    EXPECT_EQ(status->cluster_id, cluster_id);
    EXPECT_NE(status->member_id, 0u);
    EXPECT_NE(status->leader, 0u);
    EXPECT_EQ(status->version.substr(0, 4), "3.4.");
  }
  EXPECT_GE(cluster_->LeaderIndex(), 0);
}

TEST_F(EtcdClientTest, UnreachableEndpointsAreUnavailableNotAHang) {
  auto ports = testing::FreeLoopbackPorts(1);
  ASSERT_TRUE(ports.ok());
  etcd::ClientOptions options;
  options.endpoints = {absl::StrCat("127.0.0.1:", (*ports)[0])};
  options.call_timeout = absl::Milliseconds(500);
  auto client = etcd::Client::Connect(options);
  ASSERT_TRUE(client.ok());
  absl::Status status = (*client)->Put("k", "v").status();
  EXPECT_TRUE(absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status))
      << status;
}

TEST_F(EtcdClientTest, BadTlsOptionsAreRefusedNamingTheFile) {
  etcd::ClientOptions options;
  options.endpoints = {"127.0.0.1:1"};
  options.ca_file = "/nonexistent/ca.pem";
  auto client = etcd::Client::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(client.status()));
  EXPECT_NE(client.status().message().find("/nonexistent/ca.pem"),
            std::string::npos);
  options.endpoints.clear();
  EXPECT_TRUE(absl::IsInvalidArgument(etcd::Client::Connect(options).status()));
}

// Runs last in this suite: it kills a member.
TEST_F(EtcdClientTest, ZzSurvivesTheLossOfOneMember) {
  const int leader = cluster_->LeaderIndex();
  ASSERT_GE(leader, 0);
  // The client's first endpoint is the one killed: it moves on.
  cluster_->Kill(0);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Status put;
  do {
    put = client_->Put(Key("after"), "x").status();
  } while (!put.ok() && absl::Now() < deadline);
  ASSERT_TRUE(put.ok()) << put;
  EXPECT_EQ(client_->Get(Key("after"))->value(), "x");
  const absl::Status restarted = cluster_->Restart(0);
  ASSERT_TRUE(restarted.ok()) << restarted;
  auto status = client_->StatusOf(0);
  ASSERT_TRUE(status.ok()) << status.status();
}

}  // namespace
}  // namespace factlog
