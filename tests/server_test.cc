// factlogd in-process on port 0 over real RocksDB: every RPC, every error
// code, idempotency across restarts, concurrency, as-of reads, pagination.
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/wire.h"
#include "core/subscribe_response.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rpc/proto_decode.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::NewClaim;
using testing::NewEvidence;
using ::testing::StartsWith;
using testing::TestServer;

class ServerTest : public ::testing::Test {
 protected:
  // RecordClaim, asserting success.
  v1::CommandResponse Record(const v1::RecordClaimRequest& req) {
    v1::CommandResponse resp;
    grpc::Status s = testing::RecordClaim(server_.claims(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  grpc::Status AddEvidence(const v1::AddEvidenceRequest& req,
                           v1::CommandResponse* resp = nullptr) {
    grpc::ClientContext ctx;
    v1::CommandResponse ignored;
    return server_.claims().AddEvidence(&ctx, req, resp ? resp : &ignored);
  }
  v1::ClaimView Get(const std::string& claim_id) {
    grpc::ClientContext ctx;
    v1::GetClaimRequest req;
    req.set_claim_id(claim_id);
    v1::ClaimView view;
    grpc::Status s = server_.claims().GetClaim(&ctx, req, &view);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return view;
  }
  std::vector<v1::Event> ReadAll(const v1::ReadEventsRequest& req) {
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx);
    auto reader = server_.events().ReadEvents(&ctx, req);
    std::vector<v1::Event> events;
    v1::Event e;
    while (reader->Read(&e)) events.push_back(e);
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return events;
  }
  uint64_t LastPosition() { return server_.server().store().LastPosition(); }

  TestServer server_;
};

TEST_F(ServerTest, RecordThenRefuteReadsContradictedWithRefutingSourceNamed) {
  v1::CommandResponse recorded =
      Record(NewClaim("putin-troops-back", "Putin ordered the troops back"));
  EXPECT_EQ(recorded.claim_id(), "putin-troops-back");
  EXPECT_EQ(recorded.version(), 1u);
  EXPECT_EQ(recorded.first_position(), 1u);
  EXPECT_EQ(recorded.claim().status(), v1::CLAIM_STATUS_UNVERIFIED);

  v1::CommandResponse refuted;
  ASSERT_TRUE(
      AddEvidence(NewEvidence("putin-troops-back", v1::STANCE_REFUTES, "NATO"),
                  &refuted)
          .ok());
  EXPECT_EQ(refuted.version(), 2u);
  EXPECT_EQ(refuted.claim().status(), v1::CLAIM_STATUS_CONTRADICTED);

  v1::ClaimView view = Get("putin-troops-back");
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(view.refuting_sources(), ElementsAre("NATO"));
  EXPECT_EQ(view.claimant(), "Vladimir Putin");
  EXPECT_EQ(view.reported_by().name(), "Dmitry Peskov");
  EXPECT_EQ(view.evidence(0).added_by(), "anonymous");
}

TEST_F(ServerTest, EveryMutationAppliesAndIsInHistory) {
  Record(NewClaim("a"));
  Record(NewClaim("b"));
  v1::CommandResponse ev;
  ASSERT_TRUE(
      AddEvidence(NewEvidence("a", v1::STANCE_SUPPORTS, "Kiev"), &ev).ok());
  EXPECT_FALSE(ev.evidence_id().empty());

  v1::CommandResponse resp;
  {
    grpc::ClientContext ctx;
    v1::WithdrawEvidenceRequest req;
    req.set_claim_id("a");
    req.set_evidence_id(ev.evidence_id());
    req.set_reason("misattributed");
    ASSERT_TRUE(server_.claims().WithdrawEvidence(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_UNVERIFIED);
  }
  {
    grpc::ClientContext ctx;
    v1::IssueVerdictRequest req;
    req.set_claim_id("a");
    req.set_rating(v1::RATING_FALSE);
    req.set_summary("No withdrawal observed.");
    req.set_reviewer("Desk");
    ASSERT_TRUE(server_.claims().IssueVerdict(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_RATED);
    EXPECT_EQ(resp.claim().rating(), v1::RATING_FALSE);
  }
  {
    grpc::ClientContext ctx;
    v1::CorrectClaimRequest req;
    req.set_claim_id("a");
    req.set_text("Corrected text");
    req.set_reason("transcription error");
    ASSERT_TRUE(server_.claims().CorrectClaim(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.claim().text(), "Corrected text");
    ASSERT_EQ(resp.claim().corrections_size(), 1);
    EXPECT_EQ(resp.claim().corrections(0).previous().text(), "A claim.");
  }
  {
    grpc::ClientContext ctx;
    v1::LinkClaimsRequest req;
    req.set_claim_id("a");
    req.set_other_claim_id("b");
    req.set_relation(v1::LINK_RELATION_REPEATS);
    ASSERT_TRUE(server_.claims().LinkClaims(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.first_position() + 1, resp.last_position());
  }
  {
    grpc::ClientContext ctx;
    v1::RetractClaimRequest req;
    req.set_claim_id("a");
    req.set_reason("published in error");
    ASSERT_TRUE(server_.claims().RetractClaim(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_RETRACTED);
  }
  // Both ends of the link see it.
  v1::ClaimView b = Get("b");
  ASSERT_EQ(b.links_size(), 1);
  EXPECT_EQ(b.links(0).other_claim_id(), "a");
  EXPECT_EQ(b.links(0).direction(), v1::LINK_DIRECTION_INCOMING);

  grpc::ClientContext ctx;
  v1::GetClaimHistoryRequest req;
  req.set_claim_id("a");
  v1::GetClaimHistoryResponse history;
  ASSERT_TRUE(server_.claims().GetClaimHistory(&ctx, req, &history).ok());
  std::vector<v1::Event::PayloadCase> kinds;
  for (const v1::Event& e : history.events()) kinds.push_back(e.payload_case());
  EXPECT_THAT(kinds,
              ElementsAre(v1::Event::kClaimRecorded, v1::Event::kEvidenceAdded,
                          v1::Event::kEvidenceWithdrawn,
                          v1::Event::kVerdictIssued, v1::Event::kClaimCorrected,
                          v1::Event::kClaimLinked, v1::Event::kClaimRetracted));
  for (int i = 0; i < history.events_size(); ++i) {
    EXPECT_EQ(history.events(i).version(), static_cast<uint64_t>(i + 1));
    EXPECT_FALSE(history.events(i).event_id().empty());
    EXPECT_TRUE(history.events(i).has_recorded_at());
  }
  EXPECT_EQ(history.next_version(), 0u);
}

TEST_F(ServerTest, ErrorCodesNameTheFieldAndAppendNothing) {
  Record(NewClaim("known"));
  const uint64_t before = LastPosition();

  struct Case {
    std::string name;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"bad slug",
       [&] {
         grpc::ClientContext ctx;
         v1::CommandResponse r;
         return server_.claims().RecordClaim(&ctx, NewClaim("Bad Id"), &r);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "claim_id:"},
      {"empty text",
       [&] {
         grpc::ClientContext ctx;
         v1::CommandResponse r;
         return server_.claims().RecordClaim(&ctx, NewClaim("x", ""), &r);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "text: required"},
      {"unknown claim",
       [&] {
         return AddEvidence(NewEvidence("nope", v1::STANCE_REFUTES, "N"));
       },
       grpc::StatusCode::NOT_FOUND, "nope"},
      {"duplicate claim",
       [&] {
         grpc::ClientContext ctx;
         v1::CommandResponse r;
         return server_.claims().RecordClaim(&ctx, NewClaim("known"), &r);
       },
       grpc::StatusCode::ALREADY_EXISTS, "claim_id:"},
      {"stale version",
       [&] {
         v1::AddEvidenceRequest req =
             NewEvidence("known", v1::STANCE_REFUTES, "NATO");
         req.set_expected_version(7);
         return AddEvidence(req);
       },
       grpc::StatusCode::ABORTED, "at version 1, not 7"},
      {"wrong rating scale",
       [&] {
         grpc::ClientContext ctx;
         v1::IssueVerdictRequest req;
         req.set_claim_id("known");
         req.set_rating(v1::RATING_KEPT);
         req.set_summary("s");
         req.set_reviewer("r");
         v1::CommandResponse r;
         return server_.claims().IssueVerdict(&ctx, req, &r);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "rating:"},
      {"empty list filter page size",
       [&] {
         grpc::ClientContext ctx;
         v1::ListClaimsRequest req;
         req.set_page_size(5000);
         v1::ListClaimsResponse r;
         return server_.claims().ListClaims(&ctx, req, &r);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_size:"},
      {"bad page token",
       [&] {
         grpc::ClientContext ctx;
         v1::ListClaimsRequest req;
         req.set_page_token("garbage!");
         v1::ListClaimsResponse r;
         return server_.claims().ListClaims(&ctx, req, &r);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "page_token:"},
      {"oversized message",
       [&] {
         grpc::ClientContext ctx;
         v1::CommandResponse r;
         return server_.claims().RecordClaim(
             &ctx, NewClaim("huge", std::string(5 << 20, 'x')), &r);
       },
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message_part));
  }
  EXPECT_EQ(LastPosition(), before);

  // FAILED_PRECONDITION: evidence on a retracted claim.
  grpc::ClientContext ctx;
  v1::RetractClaimRequest retract;
  retract.set_claim_id("known");
  retract.set_reason("error");
  v1::CommandResponse r;
  ASSERT_TRUE(server_.claims().RetractClaim(&ctx, retract, &r).ok());
  grpc::Status s = AddEvidence(NewEvidence("known", v1::STANCE_SUPPORTS, "X"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("retracted"));
  EXPECT_EQ(LastPosition(), before + 1);
}

TEST_F(ServerTest, ExpectedVersionMatchApplies) {
  Record(NewClaim("v"));
  v1::AddEvidenceRequest req = NewEvidence("v", v1::STANCE_REFUTES, "NATO");
  req.set_expected_version(1);
  v1::CommandResponse resp;
  ASSERT_TRUE(AddEvidence(req, &resp).ok());
  EXPECT_EQ(resp.version(), 2u);
  // The same expected version again is now stale.
  req.set_evidence_id("second");
  EXPECT_EQ(AddEvidence(req).error_code(), grpc::StatusCode::ABORTED);
}

TEST_F(ServerTest, RepeatedRequestIdReturnsOriginalResultAcrossRestart) {
  v1::RecordClaimRequest req = NewClaim("idem");
  req.set_request_id("retry-me");
  v1::CommandResponse first = Record(req);
  EXPECT_FALSE(first.deduplicated());
  const uint64_t after_first = LastPosition();

  server_.Restart();
  v1::CommandResponse again = Record(req);
  EXPECT_TRUE(again.deduplicated());
  EXPECT_EQ(again.first_position(), first.first_position());
  EXPECT_EQ(again.version(), first.version());
  EXPECT_EQ(again.claim().claim_id(), "idem");
  EXPECT_EQ(LastPosition(), after_first);

  // The same key for a different command is a client bug, not a retry.
  v1::RecordClaimRequest other = NewClaim("idem-2");
  other.set_request_id("retry-me");
  grpc::ClientContext ctx;
  v1::CommandResponse r;
  grpc::Status s = server_.claims().RecordClaim(&ctx, other, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("request_id:"));
  EXPECT_EQ(LastPosition(), after_first);
}

TEST_F(ServerTest, RestartKeepsEverything) {
  Record(NewClaim("keep"));
  ASSERT_TRUE(
      AddEvidence(NewEvidence("keep", v1::STANCE_REFUTES, "NATO")).ok());
  v1::ClaimView before = Get("keep");
  server_.Restart();
  v1::ClaimView after = Get("keep");
  EXPECT_EQ(after.DebugString(), before.DebugString());
  EXPECT_EQ(LastPosition(), 2u);
}

// Read-your-writes (README, "Replicated mode"): a read or Subscribe with a
// min_position this server has not reached waits for it without holding a
// gRPC thread, and ends DEADLINE_EXCEEDED when its deadline comes first.
TEST_F(ServerTest, MinPositionWaitsUntilAppliedOrTheDeadline) {
  Record(testing::NewClaim("before"));
  const uint64_t next = LastPosition() + 1;
  {
    grpc::ClientContext ctx;
    testing::SetDeadline(&ctx, absl::Milliseconds(200));
    v1::GetClaimRequest req;
    req.set_claim_id("before");
    req.set_min_position(next);
    v1::ClaimView view;
    grpc::Status s = server_.claims().GetClaim(&ctx, req, &view);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << s.error_message();
  }
  // Several reads wait at once (more than gRPC's callback threads would
  // allow if each held one), then the write they wait for arrives.
  constexpr int kReaders = 32;
  std::vector<grpc::Status> reads(kReaders);
  std::vector<v1::ClaimView> views(kReaders);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      grpc::ClientContext ctx;
      testing::SetDeadline(&ctx);
      v1::GetClaimRequest req;
      req.set_claim_id("after");
      req.set_min_position(next);
      reads[i] = server_.claims().GetClaim(&ctx, req, &views[i]);
    });
  }
  grpc::ClientContext sub_ctx;
  testing::SetDeadline(&sub_ctx);
  v1::SubscribeRequest sub;
  // Resuming after `next`, seen elsewhere: beyond this log (OUT_OF_RANGE
  // without min_position) until the write arrives.
  sub.set_from_position(next);
  sub.set_min_position(next);
  auto reader = server_.events().Subscribe(&sub_ctx, sub);
  grpc::ClientContext head_ctx;
  testing::SetDeadline(&head_ctx);
  v1::GetLogHeadRequest head_req;
  head_req.set_min_position(next);
  v1::LogHead head;
  std::thread head_reader([&] {
    grpc::Status s = server_.events().GetLogHead(&head_ctx, head_req, &head);
    EXPECT_TRUE(s.ok()) << s.error_message();
  });
  EXPECT_EQ(Record(testing::NewClaim("after")).last_position(), next);
  for (std::thread& t : readers) t.join();
  head_reader.join();
  for (int i = 0; i < kReaders; ++i) {
    ASSERT_TRUE(reads[i].ok()) << reads[i].error_message();
    EXPECT_EQ(views[i].claim_id(), "after");
  }
  EXPECT_GE(head.tree_size(), next);
  Record(testing::NewClaim("after-2"));
  v1::SubscribeResponse first;
  do {
    ASSERT_TRUE(reader->Read(&first)) << reader->Finish().error_message();
  } while (!first.has_event());
  EXPECT_EQ(first.event().position(), next + 1);
  sub_ctx.TryCancel();
  reader->Finish();
}

TEST_F(ServerTest, ConcurrentWritersGetGaplessPositionsAndVersions) {
  constexpr int kWriters = 16;
  constexpr int kCommandsEach = 500;
  absl::Mutex mu;
  std::vector<v1::CommandResponse> acknowledged;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::ClaimService::NewStub(server_.channel());
      for (int i = 0; i < kCommandsEach; ++i) {
        grpc::ClientContext ctx;
        v1::CommandResponse resp;
        grpc::Status s;
        // Each writer opens a claim every tenth command and adds evidence to
        // it; every fifth command contends on another writer's claim.
        const std::string own = absl::StrCat("writer-", w, "-", i / 10);
        if (i % 10 == 0) {
          s = stub->RecordClaim(&ctx, NewClaim(own), &resp);
        } else {
          const std::string target =
              i % 5 ? own
                    : absl::StrCat("writer-", (w + i) % kWriters, "-", i / 10);
          v1::AddEvidenceRequest req = NewEvidence(
              target, i % 3 ? v1::STANCE_REFUTES : v1::STANCE_SUPPORTS,
              absl::StrCat("Source ", w));
          s = stub->AddEvidence(&ctx, req, &resp);
        }
        if (!s.ok()) {
          // Only a race for a claim that is not recorded yet may fail.
          EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND)
              << s.error_message();
          continue;
        }
        absl::MutexLock lock(&mu);
        acknowledged.push_back(resp);
      }
    });
  }
  for (auto& t : threads) t.join();

  std::vector<v1::Event> events = ReadAll(v1::ReadEventsRequest());
  ASSERT_EQ(events.size(), acknowledged.size());
  std::map<std::string, uint64_t> versions;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].position(), i + 1);
    EXPECT_EQ(events[i].version(), ++versions[events[i].claim_id()]);
  }
  // Every acknowledged result is readable at the position it was given.
  std::set<uint64_t> positions;
  for (const v1::CommandResponse& r : acknowledged) {
    ASSERT_GE(r.first_position(), 1u);
    ASSERT_LE(r.first_position(), events.size());
    const v1::Event& e = events[r.first_position() - 1];
    EXPECT_EQ(e.claim_id(), r.claim_id());
    EXPECT_EQ(e.version(), r.version());
    EXPECT_TRUE(positions.insert(r.first_position()).second);
  }
  for (const auto& [claim, version] : versions) {
    EXPECT_EQ(Get(claim).version(), version);
  }
}

TEST_F(ServerTest, AsOfPositionAndTimeReplayTheClaim) {
  Record(NewClaim("asof"));
  v1::CommandResponse refute;
  ASSERT_TRUE(
      AddEvidence(NewEvidence("asof", v1::STANCE_REFUTES, "NATO"), &refute)
          .ok());
  ASSERT_TRUE(
      AddEvidence(NewEvidence("asof", v1::STANCE_SUPPORTS, "Kremlin")).ok());
  EXPECT_EQ(Get("asof").status(), v1::CLAIM_STATUS_DISPUTED);

  auto get_at = [&](v1::GetClaimRequest req, v1::ClaimView* view) {
    grpc::ClientContext ctx;
    req.set_claim_id("asof");
    return server_.claims().GetClaim(&ctx, req, view);
  };
  v1::GetClaimRequest by_position;
  by_position.set_as_of_position(refute.last_position());
  v1::ClaimView view;
  ASSERT_TRUE(get_at(by_position, &view).ok());
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(view.version(), 2u);

  // By time: the recorded_at of the refutation.
  v1::GetClaimHistoryRequest hreq;
  hreq.set_claim_id("asof");
  v1::GetClaimHistoryResponse history;
  grpc::ClientContext hctx;
  ASSERT_TRUE(server_.claims().GetClaimHistory(&hctx, hreq, &history).ok());
  v1::GetClaimRequest by_time;
  *by_time.mutable_as_of_time() = history.events(0).recorded_at();
  ASSERT_TRUE(get_at(by_time, &view).ok());
  EXPECT_EQ(view.version(), 1u);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_UNVERIFIED);

  // Before the claim existed.
  v1::GetClaimRequest too_early;
  *too_early.mutable_as_of_time() = domain::ToProto(
      domain::FromProto(history.events(0).recorded_at()) - absl::Seconds(1));
  EXPECT_EQ(get_at(too_early, &view).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, PaginationWalksEveryClaimExactlyOnce) {
  constexpr int kClaims = 137;
  for (int i = 0; i < kClaims; ++i) {
    v1::RecordClaimRequest req = NewClaim(absl::StrCat("p-", i));
    req.set_subject(i % 2 ? "odd" : "even");
    req.set_claimant(i % 3 ? "Moscow" : "Kiev");
    if (i % 5 == 0) req.add_tags("fifth");
    Record(req);
  }
  auto walk = [&](v1::ListClaimsRequest req) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 100; ++pages) {
      grpc::ClientContext ctx;
      v1::ListClaimsResponse resp;
      grpc::Status s = server_.claims().ListClaims(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      for (const v1::ClaimView& c : resp.claims()) ids.push_back(c.claim_id());
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    return ids;
  };
  v1::ListClaimsRequest all;
  all.set_page_size(10);
  std::vector<std::string> ids = walk(all);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kClaims));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());

  v1::ListClaimsRequest filtered;
  filtered.set_page_size(7);
  filtered.set_subject("odd");
  filtered.set_claimant("Moscow");
  std::vector<std::string> odd = walk(filtered);
  int expected = 0;
  for (int i = 0; i < kClaims; ++i) expected += (i % 2 && i % 3) ? 1 : 0;
  EXPECT_EQ(odd.size(), static_cast<size_t>(expected));

  v1::ListClaimsRequest tagged;
  tagged.set_tag("fifth");
  EXPECT_EQ(walk(tagged).size(), static_cast<size_t>((kClaims + 4) / 5));

  // A token is bound to its filters.
  v1::ListClaimsRequest first_page = filtered;
  grpc::ClientContext ctx;
  v1::ListClaimsResponse resp;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx, first_page, &resp).ok());
  ASSERT_FALSE(resp.next_page_token().empty());
  v1::ListClaimsRequest mismatched;
  mismatched.set_page_token(resp.next_page_token());
  grpc::ClientContext ctx2;
  EXPECT_EQ(server_.claims().ListClaims(&ctx2, mismatched, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, ListByStatusClaimantTrackRecordAndSubjects) {
  Record(NewClaim("s1"));
  Record(NewClaim("s2"));
  v1::RecordClaimRequest other = NewClaim("s3");
  other.set_subject("ukraine-east-violence");
  other.set_claimant("Valentyn Nalyvaichenko");
  Record(other);
  ASSERT_TRUE(AddEvidence(NewEvidence("s1", v1::STANCE_REFUTES, "NATO")).ok());

  grpc::ClientContext ctx;
  v1::ListClaimsRequest req;
  req.set_status(v1::CLAIM_STATUS_CONTRADICTED);
  v1::ListClaimsResponse list;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx, req, &list).ok());
  ASSERT_EQ(list.claims_size(), 1);
  EXPECT_EQ(list.claims(0).claim_id(), "s1");

  grpc::ClientContext cctx;
  v1::GetClaimantRequest creq;
  creq.set_claimant("Vladimir Putin");
  v1::ClaimantView claimant;
  ASSERT_TRUE(server_.claims().GetClaimant(&cctx, creq, &claimant).ok());
  EXPECT_EQ(claimant.claim_count(), 2u);
  std::map<v1::ClaimStatus, uint64_t> counts;
  for (const auto& c : claimant.by_status()) counts[c.status()] = c.count();
  EXPECT_EQ(counts[v1::CLAIM_STATUS_CONTRADICTED], 1u);
  EXPECT_EQ(counts[v1::CLAIM_STATUS_UNVERIFIED], 1u);

  grpc::ClientContext nctx;
  creq.set_claimant("Nobody");
  EXPECT_EQ(server_.claims().GetClaimant(&nctx, creq, &claimant).error_code(),
            grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext sctx;
  v1::ListSubjectsResponse subjects;
  ASSERT_TRUE(server_.claims()
                  .ListSubjects(&sctx, v1::ListSubjectsRequest(), &subjects)
                  .ok());
  ASSERT_EQ(subjects.subjects_size(), 2);
  EXPECT_EQ(subjects.subjects(0).subject(), "russia-troops-ukraine-border");
  EXPECT_EQ(subjects.subjects(0).claim_count(), 2u);
  EXPECT_EQ(subjects.subjects(1).subject(), "ukraine-east-violence");
}

TEST_F(ServerTest, ReadEventsFiltersAndLimits) {
  Record(NewClaim("r1"));
  Record(NewClaim("r2"));
  ASSERT_TRUE(AddEvidence(NewEvidence("r1", v1::STANCE_REFUTES, "NATO")).ok());
  ASSERT_TRUE(AddEvidence(NewEvidence("r2", v1::STANCE_REFUTES, "NATO")).ok());

  v1::ReadEventsRequest by_claim;
  by_claim.mutable_filter()->set_claim_id("r1");
  std::vector<v1::Event> r1 = ReadAll(by_claim);
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].position(), 1u);
  EXPECT_EQ(r1[1].position(), 3u);

  v1::ReadEventsRequest by_type;
  by_type.mutable_filter()->add_types(v1::EVENT_TYPE_EVIDENCE_ADDED);
  by_type.set_from_position(4);
  std::vector<v1::Event> evidence = ReadAll(by_type);
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].claim_id(), "r2");

  v1::ReadEventsRequest limited;
  limited.set_max_count(3);
  EXPECT_EQ(ReadAll(limited).size(), 3u);

  v1::ReadEventsRequest bad;
  bad.mutable_filter()->add_types(static_cast<v1::EventType>(99));
  grpc::ClientContext ctx;
  testing::SetDeadline(&ctx);
  auto reader = server_.events().ReadEvents(&ctx, bad);
  v1::Event e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ServerTest, ImportAppliesInOrderAndStopsAtFirstRefusedCommand) {
  auto import = [&](const std::vector<v1::Command>& commands,
                    v1::ImportResponse* resp) {
    grpc::ClientContext ctx;
    auto writer = server_.claims().Import(&ctx, resp);
    for (const v1::Command& c : commands) {
      if (!writer->Write(c)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  };
  std::vector<v1::Command> commands;
  for (int i = 0; i < 600; ++i) {  // more than one chunk
    v1::Command c;
    *c.mutable_record_claim() = NewClaim(absl::StrCat("imp-", i));
    c.mutable_record_claim()->set_request_id(absl::StrCat("imp-req-", i));
    commands.push_back(c);
  }
  v1::ImportResponse resp;
  ASSERT_TRUE(import(commands, &resp).ok());
  EXPECT_EQ(resp.applied(), 600u);
  EXPECT_EQ(resp.last_position(), 600u);

  // Again: all deduplicated, nothing appended.
  v1::ImportResponse again;
  ASSERT_TRUE(import(commands, &again).ok());
  EXPECT_EQ(again.applied(), 0u);
  EXPECT_EQ(again.deduplicated(), 600u);
  EXPECT_EQ(again.last_position(), 600u);
  EXPECT_EQ(LastPosition(), 600u);

  // Command 3 is refused: 1-2 applied, 3-4 not.
  std::vector<v1::Command> bad(4);
  *bad[0].mutable_record_claim() = NewClaim("bad-1");
  *bad[1].mutable_record_claim() = NewClaim("bad-2");
  *bad[2].mutable_add_evidence() =
      NewEvidence("no-such-claim", v1::STANCE_REFUTES, "X");
  *bad[3].mutable_record_claim() = NewClaim("bad-4");
  v1::ImportResponse partial;
  grpc::Status s = import(bad, &partial);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), StartsWith("command 3: "));
  EXPECT_EQ(LastPosition(), 602u);
  grpc::ClientContext ctx;
  v1::GetClaimRequest get;
  get.set_claim_id("bad-4");
  v1::ClaimView view;
  EXPECT_EQ(server_.claims().GetClaim(&ctx, get, &view).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// GetClaim sends a stored projection as it is unless it has overdue_at;
// HasWireField is how it tells.
TEST(HasWireFieldTest, FindsAFieldAfterRepeatedOnesAndOnlyWhenPresent) {
  auto has = [](const std::string& bytes, uint32_t field) {
    absl::StatusOr<bool> found = wire::HasWireField(bytes, field);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.value_or(false);
  };
  v1::ClaimView view;
  view.set_claim_id("c");
  for (int i = 0; i < 20; ++i) {
    view.add_evidence()->set_evidence_id(absl::StrCat("e", i));
  }
  view.set_version(21);
  std::string bytes = view.SerializeAsString();
  EXPECT_FALSE(has(bytes, v1::ClaimView::kOverdueAtFieldNumber));
  EXPECT_TRUE(has(bytes, v1::ClaimView::kVersionFieldNumber));
  *view.mutable_overdue_at() = domain::ToProto(absl::UnixEpoch());
  bytes = view.SerializeAsString();
  EXPECT_TRUE(has(bytes, v1::ClaimView::kOverdueAtFieldNumber));
  EXPECT_FALSE(has("", v1::ClaimView::kOverdueAtFieldNumber));
}

TEST(HasWireFieldTest, BytesThatDoNotFrameAreDataLoss) {
  v1::ClaimView view;
  view.set_claim_id("c");
  view.set_text("a claim whose text is cut off");
  const std::string bytes = view.SerializeAsString();
  const uint32_t absent = v1::ClaimView::kOverdueAtFieldNumber;
  EXPECT_EQ(wire::HasWireField(bytes.substr(0, bytes.size() - 3), absent)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      wire::HasWireField(bytes + std::string(1, '\0'), absent).status().code(),
      absl::StatusCode::kDataLoss);
}

// Tags and lengths longer than protobuf's generated parsers read them
// (five bytes) do not frame: such bytes never answer "absent", however
// they end.
TEST(HasWireFieldTest, OverlongTagOrLengthIsDataLoss) {
  // Field 1, length-delimited, empty: its tag, then its length, each
  // padded to six bytes.
  const std::string padded_tag("\x8a\x80\x80\x80\x80\x00\x00", 7);
  const std::string padded_length("\x0a\x80\x80\x80\x80\x80\x00", 7);
  for (const std::string& bytes : {padded_tag, padded_length}) {
    v1::ClaimView parsed;
    EXPECT_FALSE(parsed.ParseFromString(bytes));
    EXPECT_EQ(wire::HasWireField(bytes, v1::ClaimView::kOverdueAtFieldNumber)
                  .status()
                  .code(),
              absl::StatusCode::kDataLoss);
  }
}

// Against protobuf's own reader of the wire format, over random damage
// to a stored view: where UnknownFieldSet frames the bytes (and they hold
// no groups, which no factlog message has), HasWireField gives the same
// answer, unless it refuses them (UnknownFieldSet also takes tags and
// lengths over five bytes, which generated parsers refuse; random damage
// seldom makes one); where it does not frame them, HasWireField never
// answers "absent".
TEST(HasWireFieldTest, AgreesWithProtobufOnDamagedBytes) {
  v1::ClaimView view;
  view.set_claim_id("c-1");
  view.set_text("the troops went back to their bases");
  view.set_kind(v1::CLAIM_KIND_PROMISE);
  *view.mutable_due_at() = domain::ToProto(absl::FromUnixSeconds(1e9));
  for (int i = 0; i < 4; ++i) {
    v1::EvidenceView* e = view.add_evidence();
    e->set_evidence_id(absl::StrCat("e", i));
    e->mutable_source()->set_name(std::string(i * 70, 's'));  // long lengths
  }
  view.set_version(300);
  *view.mutable_overdue_at() = domain::ToProto(absl::FromUnixSeconds(2e9));
  const std::string clean = view.SerializeAsString();
  std::mt19937 rng(7);
  int framed = 0, agreed = 0, agreed_found = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = clean;
    const int damage = 1 + rng() % 3;
    for (int d = 0; d < damage; ++d) {
      switch (rng() % 3) {
        case 0:
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
          break;
        case 1:
          bytes.resize(rng() % (bytes.size() + 1));
          break;
        case 2:
          bytes.insert(rng() % (bytes.size() + 1), 1, static_cast<char>(rng()));
          break;
      }
      if (bytes.empty()) bytes = clean;
    }
    const uint32_t number = 1 + rng() % 30;
    google::protobuf::UnknownFieldSet fields;
    const bool parsed = fields.ParseFromString(bytes);
    bool groups = false, present = false;
    for (int i = 0; parsed && i < fields.field_count(); ++i) {
      groups |=
          fields.field(i).type() == google::protobuf::UnknownField::TYPE_GROUP;
      present |= fields.field(i).number() == static_cast<int>(number);
    }
    const absl::StatusOr<bool> found = wire::HasWireField(bytes, number);
    if (parsed && !groups) {
      ++framed;
      if (!found.ok()) continue;
      ++agreed;
      ASSERT_EQ(*found, present) << round << ": field " << number;
      agreed_found += present;
    } else if (found.ok()) {
      ASSERT_TRUE(*found) << round << ": absent in bytes that do not frame";
    }
  }
  // Both branches were exercised, and refusals of framed bytes are rare.
  EXPECT_GT(framed, 1000);
  EXPECT_GT(agreed, framed * 0.99);
  EXPECT_GT(agreed_found, 100);
  EXPECT_LT(framed, 19000);
}

TEST(AppendWireFieldTest, AppendedFieldParsesAsTheFieldSet) {
  v1::ClaimView claim;
  claim.set_claim_id("c");
  claim.set_text(std::string(300, 'x'));  // a two-byte length
  v1::CommandResponse expected;
  expected.set_claim_id("c");
  expected.set_version(3);
  expected.add_similar_claims()->set_claim_id("d");
  std::string encoded = expected.SerializeAsString();
  wire::AppendWireField(v1::CommandResponse::kClaimFieldNumber,
                        claim.SerializeAsString(), &encoded);
  *expected.mutable_claim() = claim;
  v1::CommandResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(encoded));
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(parsed, expected))
      << parsed.DebugString();

  std::string only;
  wire::AppendWireField(v1::CommandResponse::kClaimFieldNumber, "", &only);
  ASSERT_TRUE(parsed.ParseFromString(only));
  EXPECT_TRUE(parsed.has_claim());
  EXPECT_EQ(parsed.claim().ByteSizeLong(), 0u);
}

// The wire helpers write exactly the bytes protobuf's own serialization
// gives for the same fields, at every varint length boundary.
TEST(WireTest, AppendsTheBytesProtobufSerializes) {
  for (uint64_t value :
       {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{16383},
        uint64_t{16384}, uint64_t{1} << 35, ~uint64_t{0}}) {
    v1::SubscriberStats expected;
    expected.set_position(value);
    const uint32_t tag =
        wire::Tag(v1::SubscriberStats::kPositionFieldNumber, wire::kVarint);
    std::string encoded;
    wire::AppendVarint(tag, &encoded);
    wire::AppendVarint(value, &encoded);
    if (value == 0) encoded.clear();  // proto3 leaves a zero out
    EXPECT_EQ(encoded, expected.SerializeAsString()) << value;
    if (value != 0) {
      EXPECT_EQ(wire::VarintSize(tag) + wire::VarintSize(value),
                expected.ByteSizeLong())
          << value;
    }
  }
  EXPECT_EQ(wire::VarintSize(0), 1u);
  for (size_t length : {0, 1, 127, 128, 300, 16384}) {
    v1::ClaimView view;
    view.set_text(std::string(length, 't'));
    std::string encoded;
    wire::AppendLengthDelimitedHeader(v1::ClaimView::kTextFieldNumber, length,
                                      &encoded);
    encoded.append(length, 't');
    if (length == 0) encoded.clear();  // proto3 leaves an empty string out
    EXPECT_EQ(encoded, view.SerializeAsString()) << length;
    if (length > 0) {
      EXPECT_EQ(wire::LengthDelimitedFieldSize(v1::ClaimView::kTextFieldNumber,
                                               length),
                view.ByteSizeLong());
    }
  }
  for (v1::ClaimStatus status :
       {v1::CLAIM_STATUS_UNSPECIFIED, v1::CLAIM_STATUS_DISPUTED}) {
    v1::SubscribeResponse expected;
    expected.set_status_after(status);
    std::string encoded;
    wire::AppendEnumField(v1::SubscribeResponse::kStatusAfterFieldNumber,
                          status, &encoded);
    EXPECT_EQ(encoded, expected.SerializeAsString());
    EXPECT_EQ(wire::EnumFieldSize(
                  v1::SubscribeResponse::kStatusAfterFieldNumber, status),
              expected.ByteSizeLong());
  }
}

// Subscribe's messages assembled from an encoded event are the bytes of
// the same SubscribeResponse serialized by protobuf.
TEST(WireTest, SubscribeResponsesFromEncodedEventsMatchProtobuf) {
  v1::Event event;
  event.set_position(300);
  event.set_claim_id("c-1");
  event.mutable_claim_recorded()->set_text(std::string(200, 'x'));
  const std::string encoded_event = event.SerializeAsString();
  for (v1::ClaimStatus status :
       {v1::CLAIM_STATUS_UNSPECIFIED, v1::CLAIM_STATUS_DISPUTED}) {
    v1::SubscribeResponse single;
    *single.mutable_event() = event;
    single.set_status_after(status);
    std::string assembled;
    core::AppendEventResponse(encoded_event, status, &assembled);
    EXPECT_EQ(assembled, single.SerializeAsString());

    v1::SubscribeResponse batched;
    std::string batch;
    for (int i = 0; i < 3; ++i) {
      v1::SubscribedEvent* item = batched.mutable_events()->add_events();
      *item->mutable_event() = event;
      item->set_status_after(status);
      core::AppendBatchItem(encoded_event, status, &batch);
    }
    std::string header;
    core::AppendBatchResponseHeader(batch.size(), &header);
    EXPECT_EQ(header + batch, batched.SerializeAsString());
  }
}

// FieldReader reads back what protobuf wrote, field by field in wire order.
TEST(WireTest, FieldReaderReadsProtobufsFields) {
  v1::Event event;
  event.set_position(1ULL << 40);
  event.set_claim_id("c-1");
  *event.mutable_recorded_at() = domain::ToProto(absl::FromUnixSeconds(7));
  const std::string bytes = event.SerializeAsString();
  wire::FieldReader reader(bytes);
  wire::Field field;
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(field.number, v1::Event::kPositionFieldNumber);
  EXPECT_EQ(field.type, wire::kVarint);
  EXPECT_EQ(field.varint, 1ULL << 40);
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(field.number, v1::Event::kClaimIdFieldNumber);
  EXPECT_EQ(field.type, wire::kLengthDelimited);
  EXPECT_EQ(field.bytes, "c-1");
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(field.number, v1::Event::kRecordedAtFieldNumber);
  EXPECT_EQ(field.bytes, event.recorded_at().SerializeAsString());
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_TRUE(reader.ok());

  wire::FieldReader cut(absl::string_view(bytes).substr(0, bytes.size() - 1));
  while (cut.Next(&field)) {
  }
  EXPECT_FALSE(cut.ok());
}

// A server whose clock the test moves by hand, from kStart on.
class ServerClockTest : public ::testing::Test {
 protected:
  static inline const absl::Time kStart = testing::Utc(2014, 5, 19);

  static server::ServerOptions WithClock(
      const std::shared_ptr<testing::FakeClock>& clock) {
    server::ServerOptions options;
    options.clock = [clock] { return clock->Now(); };
    return options;
  }
  // A promise due a week after kStart.
  static v1::RecordClaimRequest PromiseDueAWeekLater(const std::string& id) {
    v1::RecordClaimRequest req = NewClaim(id);
    req.set_kind(v1::CLAIM_KIND_PROMISE);
    *req.mutable_due_at() = domain::ToProto(kStart + absl::Hours(24 * 7));
    return req;
  }

  std::shared_ptr<testing::FakeClock> clock_ =
      std::make_shared<testing::FakeClock>(kStart);
  TestServer server_{WithClock(clock_)};
};

TEST_F(ServerClockTest, PromisePastDueWithoutSupportReadsOverdue) {
  const v1::RecordClaimRequest req = PromiseDueAWeekLater("promise");
  grpc::ClientContext ctx;
  v1::CommandResponse resp;
  ASSERT_TRUE(server_.claims().RecordClaim(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_UNVERIFIED);

  clock_->Advance(absl::Hours(24 * 8));
  auto get = [&] {
    grpc::ClientContext gctx;
    v1::GetClaimRequest g;
    g.set_claim_id("promise");
    v1::ClaimView view;
    EXPECT_TRUE(server_.claims().GetClaim(&gctx, g, &view).ok());
    return view.status();
  };
  EXPECT_EQ(get(), v1::CLAIM_STATUS_OVERDUE);
  grpc::ClientContext lctx;
  v1::ListClaimsRequest list;
  list.set_status(v1::CLAIM_STATUS_OVERDUE);
  v1::ListClaimsResponse listed;
  ASSERT_TRUE(server_.claims().ListClaims(&lctx, list, &listed).ok());
  ASSERT_EQ(listed.claims_size(), 1);
  // Stored status is still UNVERIFIED; the index does not list it as such.
  grpc::ClientContext uctx;
  list.set_status(v1::CLAIM_STATUS_UNVERIFIED);
  ASSERT_TRUE(server_.claims().ListClaims(&uctx, list, &listed).ok());
  EXPECT_EQ(listed.claims_size(), 0);
}

// A command's response carries the claim as readers see it: past due, an
// unsupported promise reads OVERDUE there too, though it is stored as
// CONTRADICTED; a retry's response carries it as well.
TEST_F(ServerClockTest, CommandResponsesPresentTheClaimAsReadersSeeIt) {
  const v1::RecordClaimRequest req = PromiseDueAWeekLater("promise");
  {
    grpc::ClientContext ctx;
    v1::CommandResponse resp;
    ASSERT_TRUE(server_.claims().RecordClaim(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_UNVERIFIED);
    EXPECT_EQ(resp.claim().claim_id(), "promise");
  }
  clock_->Advance(absl::Hours(24 * 8));
  v1::AddEvidenceRequest evidence =
      NewEvidence("promise", v1::STANCE_REFUTES, "NATO");
  evidence.set_request_id("refute-1");
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext ctx;
    v1::CommandResponse resp;
    ASSERT_TRUE(server_.claims().AddEvidence(&ctx, evidence, &resp).ok());
    EXPECT_EQ(resp.deduplicated(), attempt == 1);
    EXPECT_EQ(resp.claim().status(), v1::CLAIM_STATUS_OVERDUE) << attempt;
    EXPECT_EQ(resp.claim().version(), 2u);
    ASSERT_EQ(resp.claim().refuting_sources_size(), 1);
    EXPECT_EQ(resp.claim().refuting_sources(0), "NATO");
  }
}

TEST_F(ServerClockTest, ListOverduePagesThroughExactlyTheOverdueClaimsById) {
  // 30 promises and predictions due on days 1..30, recorded in a shuffled
  // id order; every third one is supported (never overdue), every fifth is
  // a fact, which has no due date.
  std::set<std::string> expected;
  const absl::Time now = kStart + absl::Hours(24 * 20) + absl::Minutes(1);
  for (int i = 0; i < 30; ++i) {
    const int day = (i * 7) % 30 + 1;
    const std::string id = absl::StrFormat("c%02d", (i * 11) % 30);
    v1::RecordClaimRequest req = NewClaim(id);
    req.set_kind(i % 5 == 0   ? v1::CLAIM_KIND_FACT
                 : i % 2 == 0 ? v1::CLAIM_KIND_PROMISE
                              : v1::CLAIM_KIND_PREDICTION);
    if (i % 5 != 0) {
      *req.mutable_due_at() = domain::ToProto(kStart + absl::Hours(24 * day));
    }
    grpc::ClientContext ctx;
    v1::CommandResponse resp;
    ASSERT_TRUE(server_.claims().RecordClaim(&ctx, req, &resp).ok()) << id;
    if (i % 3 == 0) {
      grpc::ClientContext ectx;
      ASSERT_TRUE(server_.claims()
                      .AddEvidence(&ectx,
                                   NewEvidence(id, v1::STANCE_SUPPORTS, "TASS"),
                                   &resp)
                      .ok());
    } else if (i % 5 != 0 && kStart + absl::Hours(24 * day) < now) {
      expected.insert(id);
    }
  }
  clock_->Advance(now - kStart);
  ASSERT_GT(expected.size(), 5u);
  v1::ListClaimsRequest list;
  list.set_status(v1::CLAIM_STATUS_OVERDUE);
  list.set_page_size(2);
  std::vector<std::string> listed;
  for (int page = 0;; ++page) {
    ASSERT_LT(page, 100);
    grpc::ClientContext ctx;
    v1::ListClaimsResponse resp;
    ASSERT_TRUE(server_.claims().ListClaims(&ctx, list, &resp).ok());
    for (const v1::ClaimView& c : resp.claims()) {
      EXPECT_EQ(c.status(), v1::CLAIM_STATUS_OVERDUE) << c.claim_id();
      listed.push_back(c.claim_id());
    }
    if (resp.next_page_token().empty()) break;
    list.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(listed, std::vector<std::string>(expected.begin(), expected.end()));
  // Other filters still apply.
  list.clear_page_token();
  list.set_page_size(1000);
  list.set_kind(v1::CLAIM_KIND_PREDICTION);
  grpc::ClientContext ctx;
  v1::ListClaimsResponse predictions;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx, list, &predictions).ok());
  ASSERT_GT(predictions.claims_size(), 0);
  EXPECT_LT(predictions.claims_size(), static_cast<int>(expected.size()));
  for (const v1::ClaimView& c : predictions.claims()) {
    EXPECT_EQ(c.kind(), v1::CLAIM_KIND_PREDICTION);
    EXPECT_TRUE(expected.count(c.claim_id())) << c.claim_id();
  }
}

TEST_F(ServerClockTest, ClockGoingBackwardsKeepsPositionsAndVersionsOrdered) {
  grpc::ClientContext ctx;
  v1::CommandResponse first;
  ASSERT_TRUE(
      server_.claims().RecordClaim(&ctx, NewClaim("tick"), &first).ok());
  clock_->Advance(-absl::Hours(24));  // NTP step, VM restore, ...
  grpc::ClientContext ectx;
  v1::CommandResponse second;
  v1::AddEvidenceRequest evidence =
      NewEvidence("tick", v1::STANCE_REFUTES, "NATO");
  *evidence.mutable_observed_at() = domain::ToProto(clock_->Now());
  ASSERT_TRUE(server_.claims().AddEvidence(&ectx, evidence, &second).ok());
  EXPECT_EQ(second.first_position(), first.last_position() + 1);
  EXPECT_EQ(second.version(), first.version() + 1);
  // recorded_at does not go backwards with the clock: a batch is stamped no
  // earlier than the one before (overdue notices rely on it).
  EXPECT_EQ(domain::FromProto(second.claim().updated_at()),
            domain::FromProto(second.claim().created_at()));
  EXPECT_EQ(second.claim().status(), v1::CLAIM_STATUS_CONTRADICTED);
}

TEST(ServerLifecycleTest, SecondServerOnSameDataDirIsRefusedAsLocked) {
  TestServer server;
  server::ServerOptions second;
  second.listen = "127.0.0.1:0";
  second.data_dir = server.data_dir();
  auto refused = server::FactlogServer::Start(second);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("locked"));
}

TEST(ServerLifecycleTest, AddressInUseIsRefused) {
  TestServer first;
  testing::TempDir dir;
  server::ServerOptions second;
  second.listen = first.server().address();
  second.data_dir = dir.path() + "/data";
  auto refused = server::FactlogServer::Start(second);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("cannot listen"));
}

}  // namespace
}  // namespace factlog
