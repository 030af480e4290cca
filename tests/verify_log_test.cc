// The tamper-evident log end to end: a real server in-process (port 0, RocksDB
// in a temp dir) with a signing key, and the CLI's verification code
// (client/verify.h) checking claims and log consistency against it — and
// catching an edited event, a rewritten history and a truncated log.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/verify.h"
#include "domain/merkle.h"
#include "domain/signed_head.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/keys.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::TestServer;

// A server with a fresh signing key; public_key() is its raw public key.
class VerifyLogTest : public ::testing::Test {
 protected:
  VerifyLogTest() : server_(Options(&key_dir_, &public_key_)) {}

  static server::ServerOptions Options(TempDir* dir, std::string* public_key) {
    absl::StatusOr<merkle::SigningKeyPem> key = merkle::NewSigningKey();
    EXPECT_TRUE(key.ok());
    const std::string path = dir->path() + "/signing.pem";
    std::ofstream(path) << key->private_pem;
    *public_key = *merkle::Ed25519PublicKeyFromPem(key->public_pem);
    server::ServerOptions options;
    options.signing_key_file = path;
    options.hub.checkpoint_interval = absl::Milliseconds(1);
    return options;
  }

  std::unique_ptr<cli::Connection> Connect() {
    cli::GlobalOptions options;
    options.server = server_.server().address();
    return std::make_unique<cli::Connection>(options);
  }

  void Record(const std::string& id, int evidence) {
    v1::CommandResponse resp;
    ASSERT_TRUE(testing::RecordClaim(server_.claims(),
                                     testing::NewClaim(id, "A claim."), &resp)
                    .ok());
    for (int i = 0; i < evidence; ++i) {
      grpc::ClientContext ev_ctx;
      ASSERT_TRUE(
          server_.claims()
              .AddEvidence(&ev_ctx,
                           testing::NewEvidence(id, v1::STANCE_REFUTES,
                                                absl::StrCat("Source ", i)),
                           &resp)
              .ok());
    }
  }

  v1::LogHead Head() {
    grpc::ClientContext ctx;
    v1::LogHead head;
    EXPECT_TRUE(
        server_.events().GetLogHead(&ctx, v1::GetLogHeadRequest(), &head).ok());
    return head;
  }

  // Stops the server, lets `edit` change its files, starts it again.
  template <typename Edit>
  void EditFilesOffline(const Edit& edit) {
    server_.Stop();
    testing::WithRawRocksDb(server_.data_dir(), edit);
    server_.Restart();
  }

  TempDir key_dir_;
  std::string public_key_;
  TestServer server_;
};

// Replaces `from` with `to` (same length) in the stored event at `position`.
auto RewriteEvent(uint64_t position, std::string from, std::string to) {
  return [=](rocksdb::DB* db, auto families) {
    std::string bytes;
    const std::string key = storage::keys::EventKey(position);
    ASSERT_TRUE(
        db->Get(rocksdb::ReadOptions(), families.at("events"), key, &bytes)
            .ok());
    const size_t at = bytes.find(from);
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, from.size(), to);
    ASSERT_TRUE(
        db->Put(rocksdb::WriteOptions(), families.at("events"), key, bytes)
            .ok());
  };
}

TEST_F(VerifyLogTest, HeadsAreSignedAndProofsVerifyForEveryEventOfAClaim) {
  Record("a", 2);
  Record("b", 3);
  Record("a2", 0);
  const v1::LogHead head = Head();
  EXPECT_EQ(head.tree_size(), 8u);
  EXPECT_EQ(head.public_key(), public_key_);
  EXPECT_TRUE(merkle::VerifyHeadSignature(head, public_key_).ok());
  v1::LogHead forged = head;
  forged.set_tree_size(7);
  EXPECT_FALSE(merkle::VerifyHeadSignature(forged, public_key_).ok());

  auto connection = Connect();
  absl::StatusOr<cli::ClaimVerification> b =
      cli::VerifyClaim(*connection, "b", public_key_);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->events, 4u);
  EXPECT_EQ(b->head.tree_size(), 8u);

  // Another key's heads are refused.
  absl::StatusOr<merkle::SigningKeyPem> other = merkle::NewSigningKey();
  const std::string other_key =
      *merkle::Ed25519PublicKeyFromPem(other->public_pem);
  EXPECT_THAT(cli::VerifyClaim(*connection, "b", other_key).status().message(),
              HasSubstr("not signed by the given public key"));
}

// The store keeps the tree from subtrees of 16 events up, and the tail
// over the newest; an edited event can also fail the proofs of the other
// events of its stored subtree or tail peak, never of others.
TEST_F(VerifyLogTest, AnEditedEventFailsItsClaimsVerification) {
  Record("a", 1);       // positions 1 and 2
  Record("other", 14);  // 3 to 17
  Record("b", 1);       // 18 (recorded) and 19 (evidence): in the tail
  EditFilesOffline(RewriteEvent(18, "A claim.", "A clbim."));
  auto connection = Connect();
  EXPECT_TRUE(cli::VerifyClaim(*connection, "a", public_key_).ok());
  absl::StatusOr<cli::ClaimVerification> b =
      cli::VerifyClaim(*connection, "b", public_key_);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(b.status().message(), HasSubstr("event 18 (version 1"));

  // In a stored subtree: its claim fails, a claim outside it does not.
  EditFilesOffline([](rocksdb::DB* db, auto families) {
    RewriteEvent(18, "A clbim.", "A claim.")(db, families);
    RewriteEvent(1, "A claim.", "A clbim.")(db, families);
  });
  connection = Connect();
  EXPECT_TRUE(cli::VerifyClaim(*connection, "b", public_key_).ok());
  absl::StatusOr<cli::ClaimVerification> a =
      cli::VerifyClaim(*connection, "a", public_key_);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(a.status().message(), HasSubstr("event 1 (version 1"));
}

TEST_F(VerifyLogTest, ConsistencyHoldsAcrossAppendsAndCatchesRewrittenHistory) {
  Record("a", 3);
  const v1::LogHead saved = Head();
  Record("b", 2);
  auto connection = Connect();
  absl::StatusOr<v1::LogHead> now =
      cli::VerifyLogExtends(*connection, saved, public_key_);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->tree_size(), 7u);
  connection.reset();

  // An attacker with the files edits event 2 and recomputes the whole tree
  // (drops it and lets factlogd migrate): the log is self-consistent again,
  // and --verify alone would not notice, but the saved head does.
  EditFilesOffline([](rocksdb::DB* db, auto families) {
    RewriteEvent(2, "Source 0", "Source X")(db, families);
    ASSERT_TRUE(db->DropColumnFamily(families.at("merkle")).ok());
    testing::SetSchemaVersion(db, families, 1);
  });
  auto report = server_.server().store().Verify();
  ASSERT_TRUE(report.ok());
  // The rewritten tree matches the rewritten events (only the stale
  // projection of claim "a" differs, which a rebuild would hide too).
  EXPECT_THAT(report->mismatches,
              ::testing::Not(::testing::Contains(HasSubstr("merkle"))));
  connection = Connect();
  absl::StatusOr<v1::LogHead> after =
      cli::VerifyLogExtends(*connection, saved, public_key_);
  EXPECT_EQ(after.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(after.status().message(), HasSubstr("does not extend the saved"));
}

TEST_F(VerifyLogTest, ALogShorterThanTheSavedHeadIsReported) {
  Record("a", 1);
  v1::LogHead saved = Head();
  saved.set_tree_size(saved.tree_size() + 5);
  auto connection = Connect();
  absl::StatusOr<v1::LogHead> now =
      cli::VerifyLogExtends(*connection, saved, public_key_);
  EXPECT_EQ(now.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(now.status().message(), HasSubstr("shorter than the saved"));
}

TEST_F(VerifyLogTest, ProofRequestsOutsideTheLogAreOutOfRange) {
  Record("a", 1);
  auto inclusion = [&](uint64_t position, uint64_t head) {
    grpc::ClientContext ctx;
    v1::GetInclusionProofRequest req;
    req.set_position(position);
    req.set_head_position(head);
    v1::InclusionProof proof;
    return server_.events().GetInclusionProof(&ctx, req, &proof).error_code();
  };
  EXPECT_EQ(inclusion(0, 0), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(inclusion(3, 0), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(inclusion(2, 1), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(inclusion(1, 3), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(inclusion(1, 2), grpc::StatusCode::OK);

  grpc::ClientContext ctx;
  v1::GetConsistencyProofRequest req;
  req.set_old_position(2);
  req.set_new_position(1);
  v1::ConsistencyProof proof;
  EXPECT_EQ(
      server_.events().GetConsistencyProof(&ctx, req, &proof).error_code(),
      grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(VerifyLogTest, SubscribeCheckpointsCarryTheRootAtTheirPosition) {
  Record("a", 2);
  Record("b", 2);
  grpc::ClientContext ctx;
  testing::SetDeadline(&ctx);
  v1::SubscribeRequest req;
  req.set_from_position(0);
  req.mutable_filter()->set_claim_id("a");  // b's events move checkpoints
  auto reader = server_.events().Subscribe(&ctx, req);
  // Checkpoints go out when the stream is idle and the cursor has moved
  // past what was sent: each commit of b's moves it and wakes the stream.
  v1::SubscribeResponse message;
  bool saw_checkpoint = false;
  int commits = 0;
  while (!saw_checkpoint && commits < 1000 && reader->Read(&message)) {
    if (!message.has_checkpoint()) {
      if (message.has_caught_up() || commits > 0) {
        Record(absl::StrCat("b", ++commits), 0);
      }
      continue;
    }
    saw_checkpoint = true;
    const uint64_t position = message.checkpoint().position();
    EXPECT_EQ(merkle::ToBytes(*server_.server().store().RootAt(position)),
              message.checkpoint().root_hash())
        << position;
  }
  EXPECT_TRUE(saw_checkpoint);
  ctx.TryCancel();
  reader->Finish();
}

}  // namespace
}  // namespace factlog
