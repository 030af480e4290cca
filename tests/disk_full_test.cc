// Disk full: appends fail without being acknowledged, reads keep working,
// the store fails closed until factlogd restarts with space freed, and
// nothing acknowledged is lost.
// Runs on a small tmpfs the test mounts (needs root; skipped otherwise).
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_support.h"

namespace factlog {
namespace {

using testing::NewClaim;
using testing::TempDir;

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_point_ = dir_.path() + "/small";
    std::filesystem::create_directories(mount_point_);
    if (mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=64m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "); disk-full behaviour is not tested on this machine";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount2(mount_point_.c_str(), MNT_DETACH);
  }

  // Fills the filesystem with one file until it refuses more.
  void FillDisk() {
    std::ofstream filler(mount_point_ + "/filler", std::ios::binary);
    const std::string chunk(1 << 16, 'x');
    while (filler.write(chunk.data(), chunk.size())) {
    }
  }

  TempDir dir_;
  std::string mount_point_;
  bool mounted_ = false;
};

grpc::Status Record(server::FactlogServer& server, v1::ClaimService::Stub& stub,
                    const std::string& id, v1::CommandResponse* resp) {
  grpc::ClientContext ctx;
  v1::RecordClaimRequest req = NewClaim(id);
  req.set_request_id("req-" + id);
  return stub.RecordClaim(&ctx, req, resp);
}

TEST_F(DiskFullTest, AppendsFailCleanlyReadsGoOnAndRestartRecovers) {
  server::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = mount_point_ + "/data";
  options.store.block_cache_bytes = 1 << 20;
  auto server = server::FactlogServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ClaimService::NewStub(channel);

  v1::CommandResponse resp;
  ASSERT_TRUE(Record(**server, *stub, "before", &resp).ok());
  FillDisk();

  // RocksDB preallocates its WAL, so small appends may still fit; import
  // 4 KiB claims until the store runs out of room.
  int refused = 0;
  std::vector<std::string> acknowledged = {"before"};
  const std::string text(4000, 'w');
  for (int batch = 0; batch < 40 && refused == 0; ++batch) {
    grpc::ClientContext ctx;
    v1::ImportResponse imported;
    auto writer = stub->Import(&ctx, &imported);
    std::vector<std::string> ids;
    for (int i = 0; i < 500; ++i) {
      v1::Command c;
      ids.push_back(absl::StrCat("full-", batch, "-", i));
      *c.mutable_record_claim() = NewClaim(ids.back(), text);
      c.mutable_record_claim()->set_request_id("req-" + ids.back());
      if (!writer->Write(c)) break;
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (s.ok()) {
      acknowledged.insert(acknowledged.end(), ids.begin(), ids.end());
      continue;
    }
    ++refused;
    EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_code() << " " << s.error_message();
    // A plain append is refused too while the disk stays full.
    grpc::Status single = Record(**server, *stub, "while-full", &resp);
    EXPECT_FALSE(single.ok());
  }
  EXPECT_GT(refused, 0) << "the disk never filled up";

  // Reads keep working.
  {
    grpc::ClientContext ctx;
    v1::GetClaimRequest get;
    get.set_claim_id("before");
    v1::ClaimView view;
    EXPECT_TRUE(stub->GetClaim(&ctx, get, &view).ok());
  }

  // Space returns; the store failed closed, so a restart brings appends back
  // and the retried request ids apply once.
  std::filesystem::remove(mount_point_ + "/filler");
  (*server)->Shutdown();
  server->reset();
  server = server::FactlogServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  channel = grpc::CreateChannel((*server)->address(),
                                grpc::InsecureChannelCredentials());
  stub = v1::ClaimService::NewStub(channel);
  grpc::Status again = Record(**server, *stub, "after", &resp);
  ASSERT_TRUE(again.ok()) << again.error_message();
  acknowledged.push_back("after");

  // Nothing acknowledged was lost, nothing half-written: restart and verify.
  (*server)->Shutdown();
  server->reset();
  auto store = storage::EventStore::Open(options.data_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const std::string& id : acknowledged) {
    auto view = (*store)->GetClaim(id);
    ASSERT_TRUE(view.ok());
    EXPECT_TRUE(view->has_value()) << id;
  }
  uint64_t expected = 1;
  ASSERT_TRUE((*store)
                  ->ReadEvents(1,
                               [&](const v1::Event& e) {
                                 EXPECT_EQ(e.position(), expected++);
                                 return true;
                               })
                  .ok());
  auto report = (*store)->Verify();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
}

}  // namespace
}  // namespace factlog
