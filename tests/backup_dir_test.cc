// AdminService.Backup writes only inside factlogd's backup directory
// (--backup-dir; storage/backup_path.h): every way out is refused, with
// the field named and nothing written anywhere.
#include <filesystem>
#include <set>
#include <string>

#include "factlog/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "storage/backup_path.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::SetDeadline;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TestServer;

// Every path below `dir`, symlinks not followed, the data dir left out
// (RocksDB writes there on its own schedule).
std::set<std::string> Tree(const std::string& dir,
                           const std::string& data_dir) {
  std::set<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(dir);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->path() == data_dir) {
      it.disable_recursion_pending();
      continue;
    }
    paths.insert(it->path().string());
  }
  return paths;
}

class BackupDirTest : public ::testing::Test {
 protected:
  BackupDirTest()
      : root_(outer_.path() + "/backups"),
        outside_(outer_.path() + "/elsewhere"),
        server_(Options(root_)),
        admin_(v1::AdminService::NewStub(server_.channel())) {
    fs::create_directories(root_);
    fs::create_directories(outside_);
  }

  static server::ServerOptions Options(const std::string& backup_dir) {
    server::ServerOptions options;
    options.backup_dir = backup_dir;
    return options;
  }

  grpc::Status Backup(const std::string& dir, v1::BackupResponse* resp) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::BackupRequest req;
    req.set_dir(dir);
    return admin_->Backup(&ctx, req, resp);
  }

  // Asks for a backup at `dir`, expects `code` with a message that names
  // the field, and that nothing appeared in the temp dirs.
  void ExpectRefused(const std::string& dir, grpc::StatusCode code) {
    const std::set<std::string> before =
        Tree(outer_.path(), server_.data_dir());
    const std::set<std::string> before_server =
        Tree(fs::path(server_.data_dir()).parent_path(), server_.data_dir());
    v1::BackupResponse resp;
    grpc::Status status = Backup(dir, &resp);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith("dir: "));
    EXPECT_EQ(resp.dir(), "");
    EXPECT_EQ(Tree(outer_.path(), server_.data_dir()), before);
    EXPECT_EQ(
        Tree(fs::path(server_.data_dir()).parent_path(), server_.data_dir()),
        before_server);
  }

  TempDir outer_;
  const std::string root_;
  const std::string outside_;
  TestServer server_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

TEST_F(BackupDirTest, RelativePathLandsInsideTheBackupDir) {
  v1::BackupResponse resp;
  grpc::Status status = Backup("nightly/2026-12-07", &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.dir(), root_ + "/nightly/2026-12-07");
  EXPECT_TRUE(fs::exists(root_ + "/nightly/2026-12-07/CURRENT"));
}

TEST_F(BackupDirTest, AbsolutePathInsideTheBackupDirIsAccepted) {
  v1::BackupResponse resp;
  grpc::Status status = Backup(root_ + "/one", &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resp.dir(), root_ + "/one");
  EXPECT_TRUE(fs::exists(root_ + "/one/CURRENT"));
}

TEST_F(BackupDirTest, DotDotIsRefusedEvenWhenItComesBackInside) {
  ExpectRefused("../x", grpc::StatusCode::INVALID_ARGUMENT);
  ExpectRefused("a/../../x", grpc::StatusCode::INVALID_ARGUMENT);
  ExpectRefused("a/../b", grpc::StatusCode::INVALID_ARGUMENT);
  ExpectRefused(root_ + "/../elsewhere/x", grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BackupDirTest, AbsolutePathOutsideIsRefused) {
  ExpectRefused(outside_ + "/x", grpc::StatusCode::PERMISSION_DENIED);
  ExpectRefused("/x", grpc::StatusCode::PERMISSION_DENIED);
  // A sibling whose name starts like the backup dir's is not inside it.
  ExpectRefused(root_ + "-old/x", grpc::StatusCode::PERMISSION_DENIED);
  // Nor is the backup dir itself a new backup.
  ExpectRefused(root_, grpc::StatusCode::PERMISSION_DENIED);
  ExpectRefused(root_ + "/", grpc::StatusCode::PERMISSION_DENIED);
  ExpectRefused(".", grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(BackupDirTest, SymlinkOutOfTheBackupDirIsRefused) {
  fs::create_directory_symlink(outside_, root_ + "/out");
  ExpectRefused("out/x", grpc::StatusCode::PERMISSION_DENIED);
  ExpectRefused(root_ + "/out/x", grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(BackupDirTest, ExistingEntryIsRefusedEvenADanglingSymlink) {
  fs::create_symlink(outside_ + "/not-yet", root_ + "/dangling");
  ExpectRefused("dangling", grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(BackupDirTest, NulByteIsRefused) {
  ExpectRefused(std::string("x\0/../../etc", 12),
                grpc::StatusCode::INVALID_ARGUMENT);
  ExpectRefused(std::string("ok\0", 3), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BackupDirTest, EmptyIsRefused) {
  ExpectRefused("", grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(BackupDirDefaultTest, BackupsGoNextToTheDataDir) {
  TestServer server;  // no backup_dir
  auto admin = v1::AdminService::NewStub(server.channel());
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::BackupRequest req;
  req.set_dir("first");
  v1::BackupResponse resp;
  grpc::Status status = admin->Backup(&ctx, req, &resp);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string expected =
      (fs::path(server.data_dir()).parent_path() / "backups" / "first")
          .string();
  EXPECT_EQ(resp.dir(), expected);
  EXPECT_TRUE(fs::exists(expected + "/CURRENT"));
}

TEST(BackupPathTest, DefaultRootIsBackupsNextToTheDataDir) {
  EXPECT_EQ(storage::DefaultBackupRoot("/var/lib/factlog/data"),
            "/var/lib/factlog/backups");
  EXPECT_EQ(storage::DefaultBackupRoot("/var/lib/factlog/data/"),
            "/var/lib/factlog/backups");
  EXPECT_EQ(storage::DefaultBackupRoot("data"),
            (fs::current_path() / "backups").string());
}

TEST(BackupPathTest, ResolvesInsideTheRootOnly) {
  TempDir dir;
  const std::string root = dir.path() + "/b";
  EXPECT_EQ(*storage::ResolveBackupPath(root, "x"), root + "/x");
  EXPECT_EQ(*storage::ResolveBackupPath(root + "/", "./x/"), root + "/x");
  EXPECT_EQ(*storage::ResolveBackupPath(root, root + "/x/y"), root + "/x/y");
  EXPECT_EQ(storage::ResolveBackupPath(root, "x/../y").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      storage::ResolveBackupPath(root, dir.path() + "/bx").status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(
      std::string(
          storage::ResolveBackupPath(root, "/etc/x").status().message()),
      HasSubstr(root));
  // Nothing was created while resolving.
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace factlog
