// "What was known when": queries over valid time (known_at), alone and
// combined with the recorded-time bounds (docs/ARCHITECTURE.md, "Two
// clocks"). The property tests check the valid-time replay and the
// timeline against each other and against the plain projection; the
// server tests run the demo story through a real factlogd.
#include "domain/known_at.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/format.h"
#include "client/format_claims.h"
#include "client/format_events.h"
#include "client/import.h"
#include "domain/evolve.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using domain::FromProto;
using domain::ToProto;
using google::protobuf::util::MessageDifferencer;
using testing::Utc;

// ---- The rules, on random event sequences ----------------------------------

// One claim's events as a writer could have logged them: positions and
// versions 1, 2, ...; recorded_at never decreasing; asserted_at and
// observed_at anywhere before their recording (or unset).
std::vector<v1::Event> RandomClaimEvents(std::mt19937& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const absl::Time start = Utc(2014, 3, 1);
  absl::Time recorded = start + absl::Hours(24 * pick(60));
  // Valid times fall in a narrow window so that they collide and
  // interleave, up to the clock skew validation allows after recording.
  auto valid_time = [&]() {
    return std::min(recorded + absl::Hours(pick(2) * 24),
                    start + absl::Hours(6 * pick(40)));
  };
  std::vector<v1::Event> events;
  auto next = [&](int advance_hours) {
    recorded += absl::Hours(advance_hours);
    v1::Event& e = events.emplace_back();
    e.set_claim_id("c");
    e.set_version(events.size());
    e.set_position(events.size());
    *e.mutable_recorded_at() = ToProto(recorded);
    return &e;
  };
  v1::ClaimRecorded* r = next(0)->mutable_claim_recorded();
  r->set_text("t");
  r->set_claimant("x");
  r->set_kind(pick(3) == 0 ? v1::CLAIM_KIND_PROMISE : v1::CLAIM_KIND_FACT);
  if (r->kind() == v1::CLAIM_KIND_PROMISE) {
    *r->mutable_due_at() = ToProto(start + absl::Hours(24 * pick(30)));
  }
  if (pick(4) != 0) *r->mutable_asserted_at() = ToProto(valid_time());
  std::vector<std::string> evidence;
  const int n = 1 + pick(12);
  for (int i = 0; i < n; ++i) {
    v1::Event* e = next(pick(3) * 12);
    switch (pick(7)) {
      case 0:
      case 1:
      case 2: {
        v1::EvidenceAdded* a = e->mutable_evidence_added();
        a->set_evidence_id(absl::StrCat("e", i));
        a->set_stance(pick(2) ? v1::STANCE_SUPPORTS : v1::STANCE_REFUTES);
        a->mutable_source()->set_name(absl::StrCat("source", pick(3)));
        if (pick(4) != 0) *a->mutable_observed_at() = ToProto(valid_time());
        evidence.push_back(a->evidence_id());
        break;
      }
      case 3:
        if (!evidence.empty()) {
          e->mutable_evidence_withdrawn()->set_evidence_id(
              evidence[pick(evidence.size())]);
          break;
        }
        [[fallthrough]];
      case 4: {
        v1::VerdictIssued* v = e->mutable_verdict_issued();
        v->set_rating(r->kind() == v1::CLAIM_KIND_PROMISE
                          ? (pick(2) ? v1::RATING_KEPT : v1::RATING_BROKEN)
                          : (pick(2) ? v1::RATING_TRUE : v1::RATING_FALSE));
        v->set_reviewer("desk");
        break;
      }
      case 5:
        e->mutable_claim_corrected()->set_text(absl::StrCat("t", i));
        break;
      default:
        if (pick(3) == 0) {
          e->mutable_claim_retracted()->set_reason("gone");
        } else {
          e->mutable_claim_corrected()->set_reason("typo");
        }
    }
  }
  return events;
}

v1::ClaimView Replay(const std::vector<v1::Event>& events) {
  v1::ClaimView view;
  for (const v1::Event& e : events) domain::Evolve(e, &view);
  return view;
}

domain::KnownAtReplay KnownAt(const std::vector<v1::Event>& events,
                              absl::Time t) {
  domain::KnownAtReplay replay(t);
  for (const v1::Event& e : events) replay.Add(e);
  return replay;
}

TEST(KnownAtRules, FarFutureEqualsTheCurrentProjection) {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 2000; ++round) {
    const std::vector<v1::Event> events = RandomClaimEvents(rng);
    domain::KnownAtReplay known = KnownAt(events, Utc(2199, 12, 31));
    ASSERT_TRUE(known.exists());
    EXPECT_EQ(known.events_not_yet_known(), 0u);
    std::string diff;
    MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(Replay(events), known.view()))
        << "round " << round << ": " << diff;
  }
}

TEST(KnownAtRules, TimelineAgreesWithKnownAtEverywhere) {
  std::mt19937 rng(7);
  for (int round = 0; round < 1000; ++round) {
    const std::vector<v1::Event> events = RandomClaimEvents(rng);
    const std::vector<domain::TimelineStep> steps = domain::Timeline(events);
    ASSERT_FALSE(steps.empty());
    // Before the first step the claim does not exist.
    EXPECT_FALSE(
        KnownAt(events, steps.front().from - absl::Nanoseconds(1)).exists());
    for (size_t i = 0; i < steps.size(); ++i) {
      if (i > 0) {
        ASSERT_LT(steps[i - 1].from, steps[i].from) << "round " << round;
        // Consecutive steps differ: a step is a change.
        EXPECT_TRUE(steps[i - 1].status != steps[i].status ||
                    steps[i - 1].rating != steps[i].rating);
      }
      // Just after a step's instant, and just before the next one, the
      // claim as known then has the step's status.
      std::vector<absl::Time> probes = {steps[i].from + absl::Nanoseconds(1)};
      if (i + 1 < steps.size()) {
        probes.push_back(steps[i + 1].from - absl::Nanoseconds(1));
      } else {
        probes.push_back(Utc(2199, 1, 1));
      }
      for (absl::Time t : probes) {
        if (t < steps[i].from) continue;  // adjacent nanoseconds
        domain::KnownAtReplay known = KnownAt(events, t);
        ASSERT_TRUE(known.exists()) << "round " << round;
        EXPECT_EQ(domain::EffectiveStatus(known.view(), t), steps[i].status)
            << "round " << round << " step " << i << " at "
            << domain::Rfc3339(t);
        const v1::Rating rating = known.view().has_verdict()
                                      ? known.view().rating()
                                      : v1::RATING_UNSPECIFIED;
        EXPECT_EQ(rating, steps[i].rating) << "round " << round;
      }
    }
    // The last step is today's status (judged long after every due date).
    const v1::ClaimView current = Replay(events);
    EXPECT_EQ(steps.back().status,
              domain::EffectiveStatus(current, Utc(2199, 1, 1)));
  }
}

TEST(KnownAtRules, EvidenceWithoutObservedTimeCountsFromItsRecording) {
  std::vector<v1::Event> events(2);
  events[0].set_version(1);
  *events[0].mutable_recorded_at() = ToProto(Utc(2014, 6, 1));
  events[0].mutable_claim_recorded()->set_text("t");
  *events[0].mutable_claim_recorded()->mutable_asserted_at() =
      ToProto(Utc(2014, 5, 19));
  events[1].set_version(2);
  *events[1].mutable_recorded_at() = ToProto(Utc(2014, 6, 10));
  events[1].mutable_evidence_added()->set_evidence_id("e");
  events[1].mutable_evidence_added()->set_stance(v1::STANCE_REFUTES);
  events[1].mutable_evidence_added()->mutable_source()->set_name("NATO");

  domain::KnownAtReplay before = KnownAt(events, Utc(2014, 6, 9));
  ASSERT_TRUE(before.exists());
  EXPECT_EQ(before.view().status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(before.evidence_placed_by_recorded_time(), 0u);
  EXPECT_EQ(before.events_not_yet_known(), 1u);
  domain::KnownAtReplay after = KnownAt(events, Utc(2014, 6, 10));
  EXPECT_EQ(after.view().status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(after.evidence_placed_by_recorded_time(), 1u);
}

// ---- Through a real server, on the demo story -------------------------------

class KnownAtServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<cli::ImportItem> items = cli::ParseImportFile(
        std::string(FACTLOG_SOURCE_DIR) + "/deploy/demo/seed-2014-05-19.jsonl");
    grpc::ClientContext ctx;
    v1::ImportResponse resp;
    auto writer = server_.claims().Import(&ctx, &resp);
    for (const cli::ImportItem& item : items) {
      ASSERT_TRUE(writer->Write(item.command));
    }
    ASSERT_TRUE(writer->WritesDone());
    ASSERT_TRUE(writer->Finish().ok());
    ASSERT_EQ(resp.applied(), items.size());
  }

  grpc::Status Get(const std::string& id, absl::Time known_at,
                   v1::ClaimView* view, uint64_t as_of_position = 0) {
    v1::GetClaimRequest req;
    req.set_claim_id(id);
    *req.mutable_known_at() = ToProto(known_at);
    if (as_of_position != 0) req.set_as_of_position(as_of_position);
    grpc::ClientContext ctx;
    return server_.claims().GetClaim(&ctx, req, view);
  }

  v1::ClaimStatus StatusKnownAt(const std::string& id, absl::Time known_at) {
    v1::ClaimView view;
    grpc::Status s = Get(id, known_at, &view);
    EXPECT_TRUE(s.ok()) << id << " at " << domain::Rfc3339(known_at) << ": "
                        << s.error_message();
    return view.status();
  }

  v1::CommandResponse Apply(const v1::Command& command) {
    grpc::ClientContext ctx;
    v1::CommandResponse resp;
    grpc::Status s;
    if (command.has_add_evidence()) {
      s = server_.claims().AddEvidence(&ctx, command.add_evidence(), &resp);
    } else {
      s = server_.claims().RecordClaim(&ctx, command.record_claim(), &resp);
    }
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  testing::TestServer server_;
};

TEST_F(KnownAtServerTest, TheMarchStatementBeforeAndAfterItsRefutation) {
  const std::string march = "russia-withdrawal-claim-2014-03";
  // Asserted at the end of March; the U.S. official's refutation was
  // observed on 19 May.
  EXPECT_EQ(StatusKnownAt(march, Utc(2014, 4, 15)),
            v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(StatusKnownAt(march, Utc(2014, 5, 18, 23)),
            v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(StatusKnownAt(march, Utc(2014, 5, 20)),
            v1::CLAIM_STATUS_CONTRADICTED);
  // Before it was asserted it did not exist, and the reason says when it
  // counts from.
  v1::ClaimView view;
  grpc::Status s = Get(march, Utc(2014, 3, 1), &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("2014-03-31T00:00:00Z"), std::string::npos)
      << s.error_message();
}

TEST_F(KnownAtServerTest, TheMayStatementsOnTheDayTheyWereMade) {
  v1::ClaimView view;
  EXPECT_EQ(Get("russia-withdrawal-started-2014-05-19", Utc(2014, 5, 18), &view)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // NATO and the White House refuted it the same day.
  ASSERT_TRUE(
      Get("russia-withdrawal-started-2014-05-19", Utc(2014, 5, 20), &view)
          .ok());
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(view.refuting_sources_size(), 2);
  ASSERT_TRUE(view.has_known());
  EXPECT_EQ(FromProto(view.known().known_at()), Utc(2014, 5, 20));
  EXPECT_EQ(view.known().evidence_placed_by_recorded_time(), 0u);
  // The bare command without known_at still answers the current claim.
  v1::GetClaimRequest plain;
  plain.set_claim_id("russia-withdrawal-started-2014-05-19");
  grpc::ClientContext ctx;
  v1::ClaimView current;
  ASSERT_TRUE(server_.claims().GetClaim(&ctx, plain, &current).ok());
  EXPECT_FALSE(current.has_known());
}

TEST_F(KnownAtServerTest,
       EvidenceRecordedLateChangesWhatWasKnownOnlyOnceRecorded) {
  // A claim of 19 May; evidence observed on 19 May arrives in the log only
  // now, weeks of recorded time later.
  v1::Command record;
  *record.mutable_record_claim() = testing::NewClaim("late-evidence");
  *record.mutable_record_claim()->mutable_asserted_at() =
      ToProto(Utc(2014, 5, 19, 10));
  const v1::CommandResponse recorded = Apply(record);
  v1::Command add;
  *add.mutable_add_evidence() =
      testing::NewEvidence("late-evidence", v1::STANCE_REFUTES, "NATO");
  *add.mutable_add_evidence()->mutable_observed_at() =
      ToProto(Utc(2014, 5, 19, 16));
  Apply(add);

  v1::ClaimView before_it_arrived, now;
  ASSERT_TRUE(Get("late-evidence", Utc(2014, 5, 20), &before_it_arrived,
                  recorded.last_position())
                  .ok());
  ASSERT_TRUE(Get("late-evidence", Utc(2014, 5, 20), &now).ok());
  EXPECT_EQ(before_it_arrived.status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(now.status(), v1::CLAIM_STATUS_CONTRADICTED);
  // Known by the morning of the 19th, as recorded now: not yet refuted.
  EXPECT_EQ(StatusKnownAt("late-evidence", Utc(2014, 5, 19, 12)),
            v1::CLAIM_STATUS_UNVERIFIED);

  v1::GetClaimTimelineRequest treq;
  treq.set_claim_id("late-evidence");
  grpc::ClientContext ctx;
  v1::ClaimTimeline timeline;
  ASSERT_TRUE(server_.claims().GetClaimTimeline(&ctx, treq, &timeline).ok());
  ASSERT_EQ(timeline.steps_size(), 2);
  EXPECT_EQ(FromProto(timeline.steps(0).from()), Utc(2014, 5, 19, 10));
  EXPECT_EQ(timeline.steps(0).status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(FromProto(timeline.steps(1).from()), Utc(2014, 5, 19, 16));
  EXPECT_EQ(timeline.steps(1).status(), v1::CLAIM_STATUS_CONTRADICTED);
  ASSERT_EQ(timeline.steps(1).causes_size(), 1);
  EXPECT_EQ(timeline.steps(1).causes(0).evidence_added().source().name(),
            "NATO");
  // As recorded before the evidence arrived, the story has one step.
  treq.set_as_of_position(recorded.last_position());
  grpc::ClientContext ctx2;
  ASSERT_TRUE(server_.claims().GetClaimTimeline(&ctx2, treq, &timeline).ok());
  EXPECT_EQ(timeline.steps_size(), 1);
}

TEST_F(KnownAtServerTest, ListClaimsAndGetClaimantAgreeWithGetClaim) {
  for (absl::Time t :
       {Utc(2014, 4, 1), Utc(2014, 5, 19), Utc(2014, 5, 20), Utc(2199, 1, 1)}) {
    v1::ListClaimsRequest lreq;
    *lreq.mutable_known_at() = ToProto(t);
    lreq.set_page_size(3);  // pages, to walk the token
    std::vector<v1::ClaimView> listed;
    do {
      grpc::ClientContext ctx;
      v1::ListClaimsResponse page;
      ASSERT_TRUE(server_.claims().ListClaims(&ctx, lreq, &page).ok());
      for (const v1::ClaimView& c : page.claims()) listed.push_back(c);
      lreq.set_page_token(page.next_page_token());
    } while (!lreq.page_token().empty());

    std::map<std::string, int> by_status;  // Putin's, by status name
    for (const v1::ClaimView& c : listed) {
      v1::ClaimView single;
      ASSERT_TRUE(Get(c.claim_id(), t, &single).ok());
      EXPECT_TRUE(MessageDifferencer::Equals(c, single)) << c.claim_id();
      if (c.claimant() == "Vladimir Putin")
        ++by_status[v1::ClaimStatus_Name(c.status())];
    }
    // Every claim of the demo is listed once it was asserted.
    if (t == Utc(2014, 4, 1)) {
      EXPECT_EQ(listed.size(), 1u);
    }
    if (t == Utc(2199, 1, 1)) {
      EXPECT_EQ(listed.size(), 10u);
    }

    v1::GetClaimantRequest creq;
    creq.set_claimant("Vladimir Putin");
    *creq.mutable_known_at() = ToProto(t);
    grpc::ClientContext ctx;
    v1::ClaimantView claimant;
    grpc::Status s = server_.claims().GetClaimant(&ctx, creq, &claimant);
    if (by_status.empty()) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, int> counted;
    for (const v1::StatusCount& c : claimant.by_status()) {
      counted[v1::ClaimStatus_Name(c.status())] = c.count();
    }
    EXPECT_EQ(counted, by_status) << domain::Rfc3339(t);
  }
}

TEST_F(KnownAtServerTest, StatusFilterJudgesTheClaimAsKnownThen) {
  v1::ListClaimsRequest req;
  req.set_status(v1::CLAIM_STATUS_CONTRADICTED);
  *req.mutable_known_at() = ToProto(Utc(2014, 4, 15));
  grpc::ClientContext ctx;
  v1::ListClaimsResponse page;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx, req, &page).ok());
  EXPECT_EQ(page.claims_size(), 0);  // the March statement was unrefuted yet
  req.set_status(v1::CLAIM_STATUS_UNVERIFIED);
  grpc::ClientContext ctx2;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx2, req, &page).ok());
  ASSERT_EQ(page.claims_size(), 1);
  EXPECT_EQ(page.claims(0).claim_id(), "russia-withdrawal-claim-2014-03");
}

TEST_F(KnownAtServerTest, BadBoundsAreRefusedNamingTheField) {
  v1::GetClaimRequest req;
  req.set_claim_id("russia-withdrawal-claim-2014-03");
  req.mutable_known_at()->set_seconds(-(int64_t{1} << 40));  // before 1800
  grpc::ClientContext ctx;
  v1::ClaimView view;
  grpc::Status s = server_.claims().GetClaim(&ctx, req, &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("known_at: ", 0), 0u) << s.error_message();

  req.mutable_known_at()->set_seconds(0);
  req.mutable_known_at()->set_nanos(-5);
  grpc::ClientContext ctx2;
  s = server_.claims().GetClaim(&ctx2, req, &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Known at a time after the recorded bound: contradictory.
  *req.mutable_known_at() = ToProto(Utc(2014, 5, 20));
  *req.mutable_as_of_time() = ToProto(Utc(2014, 5, 1));
  grpc::ClientContext ctx3;
  s = server_.claims().GetClaim(&ctx3, req, &view);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("after as_of_time"), std::string::npos)
      << s.error_message();

  v1::ListClaimsRequest list;
  list.mutable_known_at()->set_seconds(1LL << 40);  // after 2200
  grpc::ClientContext ctx4;
  v1::ListClaimsResponse page;
  s = server_.claims().ListClaims(&ctx4, list, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("known_at: ", 0), 0u) << s.error_message();

  // A page token is bound to its known_at.
  *list.mutable_known_at() = ToProto(Utc(2014, 5, 20));
  list.set_page_size(1);
  grpc::ClientContext ctx5;
  ASSERT_TRUE(server_.claims().ListClaims(&ctx5, list, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  *list.mutable_known_at() = ToProto(Utc(2014, 5, 21));
  grpc::ClientContext ctx6;
  s = server_.claims().ListClaims(&ctx6, list, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(KnownAtServerTest, SubscribeAgreesWithGetClaimAtEachPosition) {
  v1::SubscribeRequest req;
  req.set_from_position(0);
  req.set_max_events_per_message(4);  // batches and single events alike
  *req.mutable_known_at() = ToProto(Utc(2014, 5, 1));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = server_.events().Subscribe(&ctx, req);
  std::vector<v1::SubscribedEvent> seen;
  v1::SubscribeResponse m;
  while (reader->Read(&m)) {
    if (m.has_event()) {
      v1::SubscribedEvent& e = seen.emplace_back();
      *e.mutable_event() = m.event();
      e.set_status_after(m.status_after());
    }
    for (const v1::SubscribedEvent& e : m.events().events()) {
      seen.push_back(e);
    }
    if (m.has_caught_up()) break;
  }
  ctx.TryCancel();
  reader->Finish();
  ASSERT_FALSE(seen.empty());
  int unasserted = 0, unverified = 0;
  for (const v1::SubscribedEvent& e : seen) {
    v1::ClaimView view;
    grpc::Status s =
        Get(e.event().claim_id(), Utc(2014, 5, 1), &view, e.event().position());
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      EXPECT_EQ(e.status_after(), v1::CLAIM_STATUS_UNSPECIFIED)
          << e.event().position();
      ++unasserted;
    } else {
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(e.status_after(), view.status()) << e.event().position();
      unverified += view.status() == v1::CLAIM_STATUS_UNVERIFIED;
    }
  }
  // On 1 May the May statements were not yet made, and nothing was yet
  // refuted.
  EXPECT_GT(unasserted, 0);
  EXPECT_GT(unverified, 0);

  v1::SubscribeRequest bad;
  bad.mutable_known_at()->set_nanos(-1);
  grpc::ClientContext bctx;
  bctx.set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
  auto refused = server_.events().Subscribe(&bctx, bad);
  while (refused->Read(&m)) {
  }
  grpc::Status s = refused->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("known_at: ", 0), 0u) << s.error_message();
}

// ---- The CLI's rendering
// -----------------------------------------------------

TEST(KnownAtCli, TimelineTellsTheStoryInOrder) {
  v1::ClaimTimeline timeline;
  timeline.set_claim_id("march");
  timeline.set_evidence_placed_by_recorded_time(1);
  v1::TimelineStep* first = timeline.add_steps();
  *first->mutable_from() = ToProto(Utc(2014, 3, 31));
  first->set_status(v1::CLAIM_STATUS_UNVERIFIED);
  first->add_causes()->mutable_claim_recorded()->set_claimant(
      "Russian government");
  v1::TimelineStep* second = timeline.add_steps();
  *second->mutable_from() = ToProto(Utc(2014, 5, 19, 16));
  second->set_status(v1::CLAIM_STATUS_CONTRADICTED);
  v1::EvidenceAdded* refuted = second->add_causes()->mutable_evidence_added();
  refuted->set_stance(v1::STANCE_REFUTES);
  refuted->mutable_source()->set_name("NATO");
  v1::TimelineStep* third = timeline.add_steps();
  *third->mutable_from() = ToProto(Utc(2014, 6, 1));
  third->set_status(v1::CLAIM_STATUS_OVERDUE);

  const std::string out = cli::RenderTimeline(timeline, cli::kScreenWidth);
  EXPECT_NE(out.find("asserted by Russian government"), std::string::npos)
      << out;
  EXPECT_NE(out.find("REFUTES by NATO (at recorded time)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("due date passed"), std::string::npos) << out;
  EXPECT_NE(out.find("UNVERIFIED from 2014-03-31T00:00:00Z; CONTRADICTED from "
                     "2014-05-19T16:00:00Z; OVERDUE from "
                     "2014-06-01T00:00:00Z"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1 evidence item(s) without an observed time"),
            std::string::npos)
      << out;
}

// A timeline's causes fit a terminal's width and are never cut when the
// output is piped (README "Output"), as every other table of the CLI.
TEST(KnownAtCli, TimelineCutsCausesOnlyToFitATerminal) {
  v1::ClaimTimeline timeline;
  timeline.set_claim_id("may");
  v1::TimelineStep* step = timeline.add_steps();
  *step->mutable_from() = ToProto(Utc(2014, 5, 19));
  step->set_status(v1::CLAIM_STATUS_CONTRADICTED);
  step->add_causes()->mutable_claim_recorded()->set_claimant("Vladimir Putin");
  v1::EvidenceAdded* refuted = step->add_causes()->mutable_evidence_added();
  refuted->set_stance(v1::STANCE_REFUTES);
  refuted->mutable_source()->set_name("NATO (Anders Fogh Rasmussen)");
  *refuted->mutable_observed_at() = ToProto(Utc(2014, 5, 19));
  const std::string whole =
      "asserted by Vladimir Putin; REFUTES by NATO (Anders Fogh Rasmussen)";

  const std::string piped = cli::RenderTimeline(timeline, cli::kNoWidthLimit);
  EXPECT_NE(piped.find(whole), std::string::npos) << piped;

  const std::string narrow = cli::RenderTimeline(timeline, 60);
  EXPECT_EQ(narrow.find(whole), std::string::npos) << narrow;
  for (absl::string_view line : absl::StrSplit(narrow, '\n')) {
    EXPECT_LE(cli::DisplayWidth(line), 60u) << line;
  }
}

TEST(KnownAtCli, ClaimShowSaysWhatItIsKnownAt) {
  v1::ClaimView claim;
  claim.set_claim_id("march");
  EXPECT_EQ(cli::RenderClaim(claim).find("Known at"), std::string::npos);
  *claim.mutable_known()->mutable_known_at() = ToProto(Utc(2014, 4, 15));
  claim.mutable_known()->set_events_not_yet_known(2);
  const std::string out = cli::RenderClaim(claim);
  EXPECT_NE(out.find("Known at     2014-04-15T00:00:00Z"), std::string::npos)
      << out;
  EXPECT_NE(out.find("later event(s) not counted"), std::string::npos) << out;
}

}  // namespace
}  // namespace factlog
