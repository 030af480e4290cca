// Unit tests for the pure domain layer: validation, Decide, Evolve, the status
// rules and the event filter. No disk, no network, no clock: state is a map of
// claim views built by deciding commands and evolving the resulting events the
// way the server's writer does.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "domain/decider.h"
#include "domain/enum_words.h"
#include "domain/event_filter.h"
#include "domain/evolve.h"
#include "domain/limits.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "domain/validation.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog::domain {
namespace {

using factlog::testing::Utc;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Claims = std::map<std::string, v1::ClaimView>;

constexpr char kSeedClaim[] = "putin-troops-back";
constexpr char kSeedSubject[] = "russia-troops-ukraine-border";
constexpr char kPutin[] = "Vladimir Putin";

// The fixed server clock of every test.
absl::Time Now() { return Utc(2014, 5, 19, 12); }

// ---- Requests ---------------------------------------------------------------

v1::RecordClaimRequest ClaimRequest(absl::string_view claim_id,
                                    v1::ClaimKind kind = v1::CLAIM_KIND_FACT) {
  v1::RecordClaimRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_text("Putin ordered the troops back to their bases");
  r.set_claimant(kPutin);
  r.set_subject(kSeedSubject);
  r.set_kind(kind);
  return r;
}

// The claim of the seed scenario, as CNN carried it.
v1::RecordClaimRequest SeedRequest() {
  v1::RecordClaimRequest r = ClaimRequest(kSeedClaim);
  r.mutable_reported_by()->set_name("Dmitry Peskov");
  r.mutable_reported_by()->set_outlet("CNN");
  r.mutable_reported_by()->set_url("https://edition.cnn.com/2014/05/19/world");
  *r.mutable_asserted_at() = ToProto(Utc(2014, 5, 19, 10));
  r.add_tags("russia");
  r.add_tags("ukraine");
  return r;
}

v1::RecordClaimRequest PromiseRequest(
    absl::string_view claim_id, absl::Time due_at,
    v1::ClaimKind kind = v1::CLAIM_KIND_PROMISE) {
  v1::RecordClaimRequest r = ClaimRequest(claim_id, kind);
  r.set_text("The troops will be back in their bases within a week");
  *r.mutable_due_at() = ToProto(due_at);
  return r;
}

v1::AddEvidenceRequest EvidenceRequest(absl::string_view claim_id,
                                       v1::Stance stance,
                                       absl::string_view source,
                                       absl::string_view evidence_id = "") {
  v1::AddEvidenceRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_evidence_id(std::string(evidence_id));
  r.set_stance(stance);
  r.mutable_source()->set_name(std::string(source));
  return r;
}

v1::WithdrawEvidenceRequest WithdrawRequest(absl::string_view claim_id,
                                            absl::string_view evidence_id) {
  v1::WithdrawEvidenceRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_evidence_id(std::string(evidence_id));
  r.set_reason("source misattributed");
  return r;
}

v1::IssueVerdictRequest VerdictRequest(absl::string_view claim_id,
                                       v1::Rating rating) {
  v1::IssueVerdictRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_rating(rating);
  r.set_summary("Satellite images show the troops still in place.");
  r.set_reviewer("desk editor");
  return r;
}

// A correction with a reason and nothing to correct yet.
v1::CorrectClaimRequest CorrectRequest(absl::string_view claim_id) {
  v1::CorrectClaimRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_reason("transcription error");
  return r;
}

v1::RetractClaimRequest RetractRequest(absl::string_view claim_id) {
  v1::RetractClaimRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_reason("the interview was fabricated");
  return r;
}

v1::LinkClaimsRequest LinkRequest(absl::string_view claim_id,
                                  absl::string_view other_claim_id,
                                  v1::LinkRelation relation) {
  v1::LinkClaimsRequest r;
  r.set_claim_id(std::string(claim_id));
  r.set_other_claim_id(std::string(other_claim_id));
  r.set_relation(relation);
  return r;
}

v1::Command Cmd(const v1::Command& c) { return c; }
v1::Command Cmd(const v1::RecordClaimRequest& r) {
  v1::Command c;
  *c.mutable_record_claim() = r;
  return c;
}
v1::Command Cmd(const v1::AddEvidenceRequest& r) {
  v1::Command c;
  *c.mutable_add_evidence() = r;
  return c;
}
v1::Command Cmd(const v1::WithdrawEvidenceRequest& r) {
  v1::Command c;
  *c.mutable_withdraw_evidence() = r;
  return c;
}
v1::Command Cmd(const v1::IssueVerdictRequest& r) {
  v1::Command c;
  *c.mutable_issue_verdict() = r;
  return c;
}
v1::Command Cmd(const v1::CorrectClaimRequest& r) {
  v1::Command c;
  *c.mutable_correct_claim() = r;
  return c;
}
v1::Command Cmd(const v1::RetractClaimRequest& r) {
  v1::Command c;
  *c.mutable_retract_claim() = r;
  return c;
}
v1::Command Cmd(const v1::LinkClaimsRequest& r) {
  v1::Command c;
  *c.mutable_link_claims() = r;
  return c;
}

// ---- Assertions -------------------------------------------------------------

// INVALID_ARGUMENT whose message starts with "<field>:".
::testing::AssertionResult IsInvalid(const absl::Status& status,
                                     absl::string_view field) {
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "expected INVALID_ARGUMENT blaming "
                                         << field << ", got " << status;
  }
  if (!absl::StartsWith(status.message(), absl::StrCat(field, ":"))) {
    return ::testing::AssertionFailure()
           << "message does not start with \"" << field << ":\": " << status;
  }
  return ::testing::AssertionSuccess();
}

bool SameClaims(const Claims& a, const Claims& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [id, view] : a) {
    auto it = b.find(id);
    if (it == b.end() || !MessageDifferencer::Equals(view, it->second)) {
      return false;
    }
  }
  return true;
}

// Applies `events` in order to fresh views, as a rebuild from the log does.
Claims Replay(const std::vector<v1::Event>& events) {
  Claims claims;
  for (const v1::Event& event : events)
    Evolve(event, &claims[event.claim_id()]);
  return claims;
}

// ---- Fixture ----------------------------------------------------------------

// Owns an in-memory claim store and a log, and applies commands to them the
// way core/writer.cc does: decide, fill the envelope, evolve.
class DomainTest : public ::testing::Test {
 protected:
  // Decides `command` against the current views; on success fills each
  // event's envelope (position from a counter, recorded_at = now_, actor,
  // request_id), evolves the views and appends to the log. Returns the
  // decision with the stored events.
  absl::StatusOr<Decision> Apply(const v1::Command& command) {
    DecideContext context;
    context.now = now_;
    context.assigned_claim_id = assigned_claim_id_;
    context.limits = limits_;
    const ClaimLookup lookup =
        [this](const std::string& id) -> absl::StatusOr<const v1::ClaimView*> {
      auto it = claims_.find(id);
      if (it == claims_.end())
        return static_cast<const v1::ClaimView*>(nullptr);
      return &it->second;
    };
    absl::StatusOr<Decision> decision = Decide(command, lookup, context);
    if (!decision.ok()) return decision;
    for (v1::Event& event : decision->events) {
      event.set_position(++position_);
      event.set_event_id(
          absl::StrFormat("00000000-0000-4000-8000-%012d", position_));
      *event.mutable_recorded_at() = ToProto(now_);
      event.set_actor(actor_);
      event.set_request_id(RequestIdOf(command));
      v1::ClaimView& view = claims_[event.claim_id()];
      // The writer relies on this: versions per claim are gapless.
      EXPECT_EQ(event.version(), view.version() + 1)
          << event.ShortDebugString();
      Evolve(event, &view);
      log_.push_back(event);
    }
    return decision;
  }
  template <typename Request>
  absl::StatusOr<Decision> Apply(const Request& request) {
    return Apply(Cmd(request));
  }

  // Applies a command the test needs to succeed.
  template <typename Request>
  void Given(const Request& request) {
    absl::StatusOr<Decision> d = Apply(request);
    ASSERT_TRUE(d.ok()) << d.status() << " for "
                        << Cmd(request).ShortDebugString();
  }

  // Applies a command expected to be refused and checks that it left no
  // trace: no event appended, no view changed. Returns the refusal.
  template <typename Request>
  absl::Status Rejected(const Request& request) {
    const Claims before = claims_;
    const size_t logged = log_.size();
    absl::StatusOr<Decision> d = Apply(request);
    EXPECT_FALSE(d.ok()) << "accepted: " << Cmd(request).ShortDebugString();
    EXPECT_EQ(log_.size(), logged) << "a refused command appended events";
    EXPECT_TRUE(SameClaims(before, claims_))
        << "a refused command changed a view";
    return d.ok() ? absl::UnknownError("command was accepted") : d.status();
  }

  const v1::ClaimView& View(const std::string& claim_id) const {
    return claims_.at(claim_id);
  }

  absl::Time now_ = Now();
  std::string assigned_claim_id_ = "01j0000000-assigned";
  std::string actor_ = "desk@example.org";
  Limits limits_;
  uint64_t position_ = 0;
  Claims claims_;
  std::vector<v1::Event> log_;
};

// ---- RecordClaim ------------------------------------------------------------

TEST_F(DomainTest, RecordClaimCreatesUnverifiedClaimAtVersionOne) {
  absl::StatusOr<Decision> d = Apply(SeedRequest());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->claim_id, kSeedClaim);
  ASSERT_EQ(d->events.size(), 1u);
  const v1::Event& event = d->events[0];
  EXPECT_TRUE(event.has_claim_recorded());
  EXPECT_EQ(event.claim_id(), kSeedClaim);
  EXPECT_EQ(event.version(), 1u);
  // Denormalised so that readers can filter without the claim.
  EXPECT_EQ(event.subject(), kSeedSubject);
  EXPECT_EQ(event.claimant(), kPutin);

  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.claim_id(), kSeedClaim);
  EXPECT_EQ(view.version(), 1u);
  EXPECT_EQ(view.last_position(), 1u);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(view.claimant(), kPutin);
  EXPECT_EQ(view.reported_by().name(), "Dmitry Peskov");
  EXPECT_EQ(view.reported_by().outlet(), "CNN");
  EXPECT_EQ(view.kind(), v1::CLAIM_KIND_FACT);
  EXPECT_EQ(FromProto(view.asserted_at()), Utc(2014, 5, 19, 10));
  EXPECT_FALSE(view.has_due_at());
  EXPECT_THAT(view.tags(), ElementsAre("russia", "ukraine"));
  EXPECT_EQ(FromProto(view.created_at()), Now());
  EXPECT_EQ(view.created_by(), actor_);
  EXPECT_THAT(view.evidence(), IsEmpty());
  EXPECT_FALSE(view.has_verdict());
  EXPECT_FALSE(view.retracted());
}

TEST_F(DomainTest, RecordClaimWithoutIdUsesServerAssignedId) {
  absl::StatusOr<Decision> d = Apply(ClaimRequest(""));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->claim_id, assigned_claim_id_);
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_EQ(d->events[0].claim_id(), assigned_claim_id_);
  EXPECT_EQ(View(assigned_claim_id_).claim_id(), assigned_claim_id_);
}

TEST_F(DomainTest, RecordClaimIgnoresAssignedIdWhenClientChoseOne) {
  absl::StatusOr<Decision> d = Apply(ClaimRequest("client-chosen"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->claim_id, "client-chosen");
  EXPECT_EQ(claims_.count(assigned_claim_id_), 0u);
}

TEST_F(DomainTest, RecordClaimWithoutAssertedAtDefaultsToNow) {
  Given(ClaimRequest("no-date"));
  EXPECT_EQ(FromProto(View("no-date").asserted_at()), Now());
}

TEST_F(DomainTest, RecordClaimKeepsAssertedAtFarInThePast) {
  v1::RecordClaimRequest r = ClaimRequest("old-claim");
  *r.mutable_asserted_at() = ToProto(Utc(1850, 3, 1));
  Given(r);
  EXPECT_EQ(FromProto(View("old-claim").asserted_at()), Utc(1850, 3, 1));
}

TEST_F(DomainTest, RecordClaimWithExistingIdIsAlreadyExists) {
  Given(SeedRequest());
  const absl::Status s = Rejected(ClaimRequest(kSeedClaim));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(kSeedClaim));
}

TEST_F(DomainTest, EmptyCommandIsInvalidArgument) {
  EXPECT_EQ(Rejected(v1::Command()).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, LookupErrorIsReturnedAsIs) {
  DecideContext context;
  context.now = Now();
  const ClaimLookup failing =
      [](const std::string&) -> absl::StatusOr<const v1::ClaimView*> {
    return absl::UnavailableError("disk on fire");
  };
  absl::StatusOr<Decision> d =
      Decide(Cmd(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO")),
             failing, context);
  EXPECT_EQ(d.status(), absl::UnavailableError("disk on fire"));
}

// ---- AddEvidence ------------------------------------------------------------

TEST_F(DomainTest, AddEvidenceAppendsEvidenceAtNextVersion) {
  Given(SeedRequest());
  v1::AddEvidenceRequest r =
      EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato-sat");
  r.mutable_source()->set_url("https://www.nato.int/cps/en/natohq/news.htm");
  r.set_note("No sign of withdrawal on satellite images.");
  absl::StatusOr<Decision> d = Apply(r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->evidence_id, "nato-sat");
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_TRUE(d->events[0].has_evidence_added());
  EXPECT_EQ(d->events[0].version(), 2u);
  EXPECT_EQ(d->events[0].subject(), kSeedSubject);
  EXPECT_EQ(d->events[0].claimant(), kPutin);

  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.version(), 2u);
  ASSERT_EQ(view.evidence_size(), 1);
  const v1::EvidenceView& e = view.evidence(0);
  EXPECT_EQ(e.evidence_id(), "nato-sat");
  EXPECT_EQ(e.stance(), v1::STANCE_REFUTES);
  EXPECT_EQ(e.source().name(), "NATO");
  EXPECT_EQ(e.added_version(), 2u);
  EXPECT_EQ(e.added_by(), actor_);
  EXPECT_EQ(FromProto(e.added_at()), Now());
  EXPECT_FALSE(e.withdrawn());
}

TEST_F(DomainTest, AddEvidenceWithoutObservedAtDefaultsToNow) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  EXPECT_EQ(FromProto(View(kSeedClaim).evidence(0).observed_at()), Now());
}

TEST_F(DomainTest, AddEvidenceWithoutIdGetsAssignedUniqueId) {
  Given(SeedRequest());
  absl::StatusOr<Decision> first =
      Apply(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->evidence_id.empty());
  EXPECT_TRUE(ValidateSlug("evidence_id", first->evidence_id, Limits()).ok())
      << first->evidence_id;
  EXPECT_EQ(first->events[0].evidence_added().evidence_id(),
            first->evidence_id);

  // A client-chosen id that happens to look like the next assigned one.
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "OSCE", "ev4"));
  absl::StatusOr<Decision> third =
      Apply(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS"));
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(third->evidence_id, "ev4");
  EXPECT_NE(third->evidence_id, first->evidence_id);
  EXPECT_TRUE(ValidateSlug("evidence_id", third->evidence_id, Limits()).ok())
      << third->evidence_id;
  EXPECT_EQ(View(kSeedClaim).evidence_size(), 3);
}

TEST_F(DomainTest, DuplicateEvidenceIdIsAlreadyExists) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "sat-images"));
  const absl::Status s = Rejected(
      EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS", "sat-images"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("sat-images"));
}

TEST_F(DomainTest, EvidenceForUnknownClaimIsNotFound) {
  const absl::Status s =
      Rejected(EvidenceRequest("no-such-claim", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("no-such-claim"));
}

// ---- WithdrawEvidence -------------------------------------------------------

TEST_F(DomainTest, WithdrawnEvidenceStaysInViewMarkedWithdrawn) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS", "tass"));
  now_ += absl::Hours(1);
  absl::StatusOr<Decision> d = Apply(WithdrawRequest(kSeedClaim, "nato"));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_EQ(d->events[0].evidence_withdrawn().evidence_id(), "nato");
  EXPECT_EQ(d->evidence_id, "nato");

  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.version(), 4u);
  ASSERT_EQ(view.evidence_size(), 2);
  EXPECT_EQ(view.evidence(0).evidence_id(), "nato");
  EXPECT_TRUE(view.evidence(0).withdrawn());
  EXPECT_EQ(view.evidence(0).withdrawn_reason(), "source misattributed");
  EXPECT_EQ(FromProto(view.evidence(0).withdrawn_at()), Now() + absl::Hours(1));
  EXPECT_FALSE(view.evidence(1).withdrawn());
}

TEST_F(DomainTest, WithdrawUnknownEvidenceIsNotFound) {
  Given(SeedRequest());
  const absl::Status s = Rejected(WithdrawRequest(kSeedClaim, "never-added"));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("never-added"));
}

TEST_F(DomainTest, WithdrawEvidenceTwiceIsFailedPrecondition) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  Given(WithdrawRequest(kSeedClaim, "nato"));
  const absl::Status s = Rejected(WithdrawRequest(kSeedClaim, "nato"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

// ---- IssueVerdict -----------------------------------------------------------

TEST_F(DomainTest, VerdictRatesClaim) {
  Given(SeedRequest());
  absl::StatusOr<Decision> d =
      Apply(VerdictRequest(kSeedClaim, v1::RATING_FALSE));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_TRUE(d->events[0].has_verdict_issued());
  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_RATED);
  EXPECT_EQ(view.rating(), v1::RATING_FALSE);
  EXPECT_EQ(view.verdict().rating(), v1::RATING_FALSE);
  EXPECT_EQ(view.verdict().reviewer(), "desk editor");
  EXPECT_EQ(view.verdict().version(), 2u);
  EXPECT_EQ(FromProto(view.verdict().issued_at()), Now());
}

TEST_F(DomainTest, LaterVerdictSupersedesEarlier) {
  Given(SeedRequest());
  Given(VerdictRequest(kSeedClaim, v1::RATING_UNPROVEN));
  v1::IssueVerdictRequest later = VerdictRequest(kSeedClaim, v1::RATING_FALSE);
  later.set_summary("Troops confirmed in place.");
  Given(later);
  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_RATED);
  EXPECT_EQ(view.rating(), v1::RATING_FALSE);
  EXPECT_EQ(view.verdict().rating(), v1::RATING_FALSE);
  EXPECT_EQ(view.verdict().summary(), "Troops confirmed in place.");
  EXPECT_EQ(view.verdict().version(), 3u);
}

TEST_F(DomainTest, PromiseRatingOnFactIsInvalidArgument) {
  Given(SeedRequest());
  const absl::Status s =
      Rejected(VerdictRequest(kSeedClaim, v1::RATING_BROKEN));
  EXPECT_TRUE(IsInvalid(s, "rating"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("rating"));
}

TEST_F(DomainTest, TruthRatingOnPromiseIsInvalidArgument) {
  Given(PromiseRequest("troops-back-in-week", Utc(2014, 5, 26)));
  EXPECT_TRUE(IsInvalid(
      Rejected(VerdictRequest("troops-back-in-week", v1::RATING_FALSE)),
      "rating"));
}

TEST_F(DomainTest, EachKindAcceptsRatingsFromItsOwnScale) {
  Given(PromiseRequest("promise", Utc(2014, 5, 26)));
  Given(PromiseRequest("prediction", Utc(2014, 5, 26),
                       v1::CLAIM_KIND_PREDICTION));
  Given(ClaimRequest("statistic", v1::CLAIM_KIND_STATISTIC));
  Given(ClaimRequest("fact", v1::CLAIM_KIND_FACT));

  Given(VerdictRequest("promise", v1::RATING_BROKEN));
  Given(VerdictRequest("prediction", v1::RATING_MOSTLY_FALSE));
  Given(VerdictRequest("statistic", v1::RATING_MISLEADING));
  Given(VerdictRequest("fact", v1::RATING_PANTS_ON_FIRE));
  EXPECT_TRUE(IsInvalid(Rejected(VerdictRequest("prediction", v1::RATING_KEPT)),
                        "rating"));
  EXPECT_TRUE(
      IsInvalid(Rejected(VerdictRequest("statistic", v1::RATING_NOT_YET_RATED)),
                "rating"));
  EXPECT_EQ(View("promise").rating(), v1::RATING_BROKEN);
}

// Refusals read like the CLI that caused them: enum words, not proto
// identifiers, and the ratings the claim's scale does have.
TEST_F(DomainTest, WrongScaleRefusalNamesTheScaleInCliWords) {
  Given(PromiseRequest("troops-back-in-week", Utc(2014, 5, 26)));
  const std::string message(
      Rejected(VerdictRequest("troops-back-in-week", v1::RATING_FALSE))
          .message());
  EXPECT_EQ(message,
            "rating: false is not on the promise scale used for promise "
            "claims; it has kept, compromise, in-progress, stalled, broken, "
            "not-yet-rated");
}

TEST_F(DomainTest, RepeatedLinkRefusalReadsLikeTheCli) {
  Given(ClaimRequest("a", v1::CLAIM_KIND_FACT));
  Given(ClaimRequest("b", v1::CLAIM_KIND_FACT));
  Given(LinkRequest("a", "b", v1::LINK_RELATION_SAME_AS));
  const absl::Status s =
      Rejected(LinkRequest("a", "b", v1::LINK_RELATION_SAME_AS));
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "claim \"a\" is already linked same-as \"b\"");
}

TEST(EnumWordsTest, AnyCaseWithOrWithoutPrefixNamesTheValue) {
  const auto* kinds = google::protobuf::GetEnumDescriptor<v1::ClaimKind>();
  for (const char* text : {"fact", "FACT", "Fact", "claim_kind_fact",
                           "CLAIM_KIND_FACT", "claim-kind-fact", " fact "}) {
    const auto* value = domain::FindEnumWord(kinds, text);
    ASSERT_NE(value, nullptr) << text;
    EXPECT_EQ(value->number(), v1::CLAIM_KIND_FACT) << text;
  }
  const auto* ratings = google::protobuf::GetEnumDescriptor<v1::Rating>();
  EXPECT_EQ(domain::FindEnumWord(ratings, "MOSTLY_TRUE")->number(),
            v1::RATING_MOSTLY_TRUE);
  EXPECT_EQ(domain::FindEnumWord(ratings, "Rating_Mostly-True")->number(),
            v1::RATING_MOSTLY_TRUE);
  for (const char* text :
       {"", "unspecified", "CLAIM_KIND_UNSPECIFIED", "claim-kind-", "facts"}) {
    EXPECT_EQ(domain::FindEnumWord(kinds, text), nullptr) << text;
  }
  EXPECT_EQ(domain::EnumWord(v1::RATING_PANTS_ON_FIRE), "pants-on-fire");
  EXPECT_EQ(domain::EnumWord(v1::LINK_RELATION_SAME_AS), "same-as");
}

TEST(RatingFitsKindTest, TruthScaleForFactsPromiseScaleForPromises) {
  const std::vector<v1::Rating> truth = {
      v1::RATING_TRUE,         v1::RATING_MOSTLY_TRUE, v1::RATING_HALF_TRUE,
      v1::RATING_MOSTLY_FALSE, v1::RATING_FALSE,       v1::RATING_PANTS_ON_FIRE,
      v1::RATING_MISLEADING,   v1::RATING_UNPROVEN};
  const std::vector<v1::Rating> promise = {
      v1::RATING_KEPT,    v1::RATING_COMPROMISE, v1::RATING_IN_PROGRESS,
      v1::RATING_STALLED, v1::RATING_BROKEN,     v1::RATING_NOT_YET_RATED};
  for (v1::ClaimKind kind : {v1::CLAIM_KIND_FACT, v1::CLAIM_KIND_STATISTIC,
                             v1::CLAIM_KIND_PREDICTION}) {
    for (v1::Rating r : truth) {
      EXPECT_TRUE(RatingFitsKind(r, kind))
          << v1::Rating_Name(r) << " " << v1::ClaimKind_Name(kind);
    }
    for (v1::Rating r : promise) {
      EXPECT_FALSE(RatingFitsKind(r, kind))
          << v1::Rating_Name(r) << " " << v1::ClaimKind_Name(kind);
    }
  }
  for (v1::Rating r : truth) {
    EXPECT_FALSE(RatingFitsKind(r, v1::CLAIM_KIND_PROMISE))
        << v1::Rating_Name(r);
  }
  for (v1::Rating r : promise) {
    EXPECT_TRUE(RatingFitsKind(r, v1::CLAIM_KIND_PROMISE))
        << v1::Rating_Name(r);
  }
  for (v1::ClaimKind kind :
       {v1::CLAIM_KIND_UNSPECIFIED, v1::CLAIM_KIND_FACT, v1::CLAIM_KIND_PROMISE,
        v1::CLAIM_KIND_PREDICTION, v1::CLAIM_KIND_STATISTIC}) {
    EXPECT_FALSE(RatingFitsKind(v1::RATING_UNSPECIFIED, kind))
        << v1::ClaimKind_Name(kind);
  }
  EXPECT_FALSE(RatingFitsKind(v1::RATING_TRUE, v1::CLAIM_KIND_UNSPECIFIED));
  EXPECT_FALSE(RatingFitsKind(v1::RATING_KEPT, v1::CLAIM_KIND_UNSPECIFIED));
}

// ---- CorrectClaim -----------------------------------------------------------

TEST_F(DomainTest, CorrectionKeepsPreviousValuesInCorrections) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_text("Putin said he ordered the troops back to their bases");
  r.mutable_tags()->add_tags("kremlin");
  absl::StatusOr<Decision> d = Apply(r);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->events.size(), 1u);
  const v1::ClaimCorrected& c = d->events[0].claim_corrected();
  EXPECT_TRUE(c.has_text());
  EXPECT_TRUE(c.has_tags());
  EXPECT_FALSE(c.has_subject()) << "subject was not given";
  EXPECT_FALSE(c.has_due_at());

  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_EQ(view.text(),
            "Putin said he ordered the troops back to their bases");
  EXPECT_THAT(view.tags(), ElementsAre("kremlin"));
  EXPECT_EQ(view.subject(), kSeedSubject);
  EXPECT_EQ(view.version(), 2u);
  ASSERT_EQ(view.corrections_size(), 1);
  const v1::CorrectionView& correction = view.corrections(0);
  EXPECT_EQ(correction.version(), 2u);
  EXPECT_EQ(correction.reason(), "transcription error");
  EXPECT_EQ(correction.actor(), actor_);
  EXPECT_EQ(correction.previous().text(),
            "Putin ordered the troops back to their bases");
  EXPECT_EQ(correction.previous().subject(), kSeedSubject);
  EXPECT_THAT(correction.previous().tags(), ElementsAre("russia", "ukraine"));
}

TEST_F(DomainTest, CorrectionChangingSubjectUpdatesEventSubject) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_subject("russia-ukraine-2014");
  absl::StatusOr<Decision> d = Apply(r);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->events.size(), 1u);
  // The envelope carries the subject as of after the event.
  EXPECT_EQ(d->events[0].subject(), "russia-ukraine-2014");
  EXPECT_EQ(View(kSeedClaim).subject(), "russia-ukraine-2014");
  EXPECT_EQ(View(kSeedClaim).corrections(0).previous().subject(), kSeedSubject);

  absl::StatusOr<Decision> later =
      Apply(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->events[0].subject(), "russia-ukraine-2014");
}

TEST_F(DomainTest, CorrectionCanClearTagsWithEmptyList) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.mutable_tags();  // present and empty: clear
  Given(r);
  EXPECT_THAT(View(kSeedClaim).tags(), IsEmpty());
  EXPECT_THAT(View(kSeedClaim).corrections(0).previous().tags(),
              ElementsAre("russia", "ukraine"));
}

TEST_F(DomainTest, CorrectionMovesAndClearsDueDateOfPromise) {
  Given(PromiseRequest("promise", Utc(2014, 5, 26)));
  v1::CorrectClaimRequest move = CorrectRequest("promise");
  *move.mutable_due_at() = ToProto(Utc(2014, 6, 30));
  Given(move);
  EXPECT_EQ(FromProto(View("promise").due_at()), Utc(2014, 6, 30));
  EXPECT_EQ(FromProto(View("promise").corrections(0).previous().due_at()),
            Utc(2014, 5, 26));

  v1::CorrectClaimRequest clear = CorrectRequest("promise");
  clear.set_clear_due_at(true);
  Given(clear);
  EXPECT_FALSE(View("promise").has_due_at());
  EXPECT_EQ(View("promise").corrections_size(), 2);
}

TEST_F(DomainTest, NoOpCorrectionIsFailedPrecondition) {
  Given(SeedRequest());
  v1::CorrectClaimRequest same_text = CorrectRequest(kSeedClaim);
  same_text.set_text(SeedRequest().text());
  EXPECT_EQ(Rejected(same_text).code(), absl::StatusCode::kFailedPrecondition);

  v1::CorrectClaimRequest same_everything = CorrectRequest(kSeedClaim);
  same_everything.set_text(SeedRequest().text());
  same_everything.set_subject(kSeedSubject);
  *same_everything.mutable_tags()->mutable_tags() = SeedRequest().tags();
  same_everything.set_clear_due_at(true);  // there is no due_at to clear
  EXPECT_EQ(Rejected(same_everything).code(),
            absl::StatusCode::kFailedPrecondition);
}

// Found by fuzz_command: unknown fields made equal values look different,
// so a no-op correction was accepted and could repeat forever.
TEST_F(DomainTest, NoOpCorrectionWithUnknownFieldsIsStillFailedPrecondition) {
  Given(SeedRequest());
  v1::CorrectClaimRequest same_tags = CorrectRequest(kSeedClaim);
  *same_tags.mutable_tags()->mutable_tags() = SeedRequest().tags();
  same_tags.mutable_tags()
      ->GetReflection()
      ->MutableUnknownFields(same_tags.mutable_tags())
      ->AddVarint(99, 1);
  EXPECT_EQ(Rejected(same_tags).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, CorrectionGivingNoFieldIsInvalidArgument) {
  Given(SeedRequest());
  EXPECT_EQ(Rejected(CorrectRequest(kSeedClaim)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DomainTest, CorrectionSettingDueAtOnFactIsInvalidArgument) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  *r.mutable_due_at() = ToProto(Utc(2014, 6, 1));
  EXPECT_TRUE(IsInvalid(Rejected(r), "due_at"));
}

TEST_F(DomainTest, CorrectionRejectsDueAtCombinedWithClearDueAt) {
  Given(PromiseRequest("promise", Utc(2014, 5, 26)));
  v1::CorrectClaimRequest r = CorrectRequest("promise");
  *r.mutable_due_at() = ToProto(Utc(2014, 6, 1));
  r.set_clear_due_at(true);
  EXPECT_TRUE(IsInvalid(Rejected(r), "clear_due_at"));
}

TEST_F(DomainTest, CorrectionRequiresReason) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_text("Putin said he ordered the troops back");
  r.clear_reason();
  EXPECT_TRUE(IsInvalid(Rejected(r), "reason"));
}

// ---- RetractClaim -----------------------------------------------------------

TEST_F(DomainTest, RetractedClaimStaysReadable) {
  Given(SeedRequest());
  Given(VerdictRequest(kSeedClaim, v1::RATING_FALSE));
  absl::StatusOr<Decision> d = Apply(RetractRequest(kSeedClaim));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->events.size(), 1u);
  EXPECT_TRUE(d->events[0].has_claim_retracted());
  const v1::ClaimView& view = View(kSeedClaim);
  EXPECT_TRUE(view.retracted());
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_RETRACTED);
  EXPECT_EQ(view.retraction_reason(), "the interview was fabricated");
  EXPECT_EQ(FromProto(view.retracted_at()), Now());
  EXPECT_EQ(view.text(), "Putin ordered the troops back to their bases");
  EXPECT_EQ(view.version(), 3u);
}

TEST_F(DomainTest, RetractTwiceIsFailedPrecondition) {
  Given(SeedRequest());
  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(Rejected(RetractRequest(kSeedClaim)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, RetractedClaimRejectsEvidence) {
  Given(SeedRequest());
  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(
      Rejected(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO")).code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, RetractedClaimRejectsVerdict) {
  Given(SeedRequest());
  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(Rejected(VerdictRequest(kSeedClaim, v1::RATING_FALSE)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, RetractedClaimRejectsWithdrawalAndCorrection) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(Rejected(WithdrawRequest(kSeedClaim, "nato")).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_text("Something else");
  EXPECT_EQ(Rejected(r).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DomainTest, CommandsOnUnknownClaimAreNotFound) {
  EXPECT_EQ(Rejected(WithdrawRequest("ghost", "e1")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Rejected(VerdictRequest("ghost", v1::RATING_FALSE)).code(),
            absl::StatusCode::kNotFound);
  v1::CorrectClaimRequest r = CorrectRequest("ghost");
  r.set_text("x");
  EXPECT_EQ(Rejected(r).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Rejected(RetractRequest("ghost")).code(),
            absl::StatusCode::kNotFound);
}

// ---- LinkClaims -------------------------------------------------------------

TEST_F(DomainTest, LinkClaimsAppendsOneEventPerClaim) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));  // v2
  v1::RecordClaimRequest other = ClaimRequest("lavrov-troops-back");
  other.set_claimant("Sergei Lavrov");
  other.set_subject("russia-foreign-ministry");
  Given(other);

  absl::StatusOr<Decision> d = Apply(
      LinkRequest(kSeedClaim, "lavrov-troops-back", v1::LINK_RELATION_REPEATS));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->claim_id, kSeedClaim);
  ASSERT_EQ(d->events.size(), 2u);

  const v1::Event& out = d->events[0];
  EXPECT_EQ(out.claim_id(), kSeedClaim);
  EXPECT_EQ(out.version(), 3u);
  EXPECT_EQ(out.subject(), kSeedSubject);
  EXPECT_EQ(out.claimant(), kPutin);
  EXPECT_EQ(out.claim_linked().other_claim_id(), "lavrov-troops-back");
  EXPECT_EQ(out.claim_linked().relation(), v1::LINK_RELATION_REPEATS);
  EXPECT_EQ(out.claim_linked().direction(), v1::LINK_DIRECTION_OUTGOING);

  const v1::Event& in = d->events[1];
  EXPECT_EQ(in.claim_id(), "lavrov-troops-back");
  EXPECT_EQ(in.version(), 2u);
  EXPECT_EQ(in.subject(), "russia-foreign-ministry");
  EXPECT_EQ(in.claimant(), "Sergei Lavrov");
  EXPECT_EQ(in.claim_linked().other_claim_id(), kSeedClaim);
  EXPECT_EQ(in.claim_linked().relation(), v1::LINK_RELATION_REPEATS);
  EXPECT_EQ(in.claim_linked().direction(), v1::LINK_DIRECTION_INCOMING);

  ASSERT_EQ(View(kSeedClaim).links_size(), 1);
  EXPECT_EQ(View(kSeedClaim).links(0).direction(), v1::LINK_DIRECTION_OUTGOING);
  ASSERT_EQ(View("lavrov-troops-back").links_size(), 1);
  EXPECT_EQ(View("lavrov-troops-back").links(0).other_claim_id(), kSeedClaim);
  EXPECT_EQ(View("lavrov-troops-back").links(0).direction(),
            v1::LINK_DIRECTION_INCOMING);
  EXPECT_EQ(View("lavrov-troops-back").version(), 2u);
}

TEST_F(DomainTest, SelfLinkIsInvalidArgument) {
  Given(SeedRequest());
  EXPECT_TRUE(IsInvalid(
      Rejected(LinkRequest(kSeedClaim, kSeedClaim, v1::LINK_RELATION_SAME_AS)),
      "other_claim_id"));
}

TEST_F(DomainTest, LinkToUnknownClaimIsNotFound) {
  Given(SeedRequest());
  const absl::Status s =
      Rejected(LinkRequest(kSeedClaim, "ghost", v1::LINK_RELATION_REPEATS));
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), "other_claim_id")) << s;
  EXPECT_EQ(
      Rejected(LinkRequest("ghost", kSeedClaim, v1::LINK_RELATION_REPEATS))
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(DomainTest, DuplicateLinkIsAlreadyExists) {
  Given(SeedRequest());
  Given(ClaimRequest("other"));
  Given(LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_REPEATS));
  EXPECT_EQ(
      Rejected(LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_REPEATS))
          .code(),
      absl::StatusCode::kAlreadyExists);
  // Another relation between the same claims is a different link.
  Given(LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_CONTRADICTS));
  EXPECT_EQ(View(kSeedClaim).links_size(), 2);
  EXPECT_EQ(View("other").links_size(), 2);
}

// ---- expected_version -------------------------------------------------------

TEST_F(DomainTest, ExpectedVersionMismatchIsAbortedWithCurrentVersion) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  Given(ClaimRequest("other"));
  // The claim is at version 2; every command claiming version 1 is stale.
  v1::AddEvidenceRequest add =
      EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS");
  add.set_expected_version(1);
  v1::WithdrawEvidenceRequest withdraw = WithdrawRequest(kSeedClaim, "nato");
  withdraw.set_expected_version(1);
  v1::IssueVerdictRequest verdict =
      VerdictRequest(kSeedClaim, v1::RATING_FALSE);
  verdict.set_expected_version(1);
  v1::CorrectClaimRequest correct = CorrectRequest(kSeedClaim);
  correct.set_text("Corrected");
  correct.set_expected_version(1);
  v1::RetractClaimRequest retract = RetractRequest(kSeedClaim);
  retract.set_expected_version(1);
  v1::LinkClaimsRequest link =
      LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_SAME_AS);
  link.set_expected_version(1);

  for (const v1::Command& c : {Cmd(add), Cmd(withdraw), Cmd(verdict),
                               Cmd(correct), Cmd(retract), Cmd(link)}) {
    const absl::Status s = Rejected(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kAborted)
        << s << " for " << c.ShortDebugString();
    EXPECT_THAT(std::string(s.message()), HasSubstr("version 2"))
        << c.ShortDebugString();
  }
}

TEST_F(DomainTest, ExpectedVersionMatchIsApplied) {
  Given(SeedRequest());
  v1::AddEvidenceRequest add =
      EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO");
  add.set_expected_version(1);
  Given(add);
  v1::IssueVerdictRequest verdict =
      VerdictRequest(kSeedClaim, v1::RATING_FALSE);
  verdict.set_expected_version(2);
  Given(verdict);
  EXPECT_EQ(View(kSeedClaim).version(), 3u);
}

TEST_F(DomainTest, ExpectedVersionOfLinkAppliesToSourceClaimOnly) {
  Given(SeedRequest());
  Given(ClaimRequest("other"));
  Given(EvidenceRequest("other", v1::STANCE_REFUTES, "NATO"));  // other: v2
  v1::LinkClaimsRequest link =
      LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_SAME_AS);
  link.set_expected_version(1);
  Given(link);
  EXPECT_EQ(View("other").version(), 3u);
}

// ---- Status -----------------------------------------------------------------

TEST_F(DomainTest, OnlySupportingEvidenceIsSupported) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_SUPPORTED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(), ElementsAre("TASS"));
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), IsEmpty());
}

TEST_F(DomainTest, OnlyRefutingEvidenceIsContradicted) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "OSCE"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO", "OSCE"));
}

TEST_F(DomainTest, SupportingAndRefutingEvidenceIsDisputed) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_DISPUTED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(), ElementsAre("TASS"));
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO"));
}

TEST_F(DomainTest, ContextEvidenceDoesNotCount) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_CONTEXT, "Reuters"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(), IsEmpty());
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), IsEmpty());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_CONTEXT, "AP"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
}

TEST_F(DomainTest, SourcesAreCountedOnceCaseInsensitively) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato-1"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "nato", "nato-2"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, " Nato ", "nato-3"));
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(SourceKey(" NATO "), SourceKey("nato"));
  EXPECT_NE(SourceKey("NATO"), SourceKey("OSCE"));
}

TEST_F(DomainTest, WithdrawnEvidenceNoLongerCounts) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS", "tass"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato-1"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "nato", "nato-2"));
  ASSERT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_DISPUTED);

  Given(WithdrawRequest(kSeedClaim, "tass"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(), IsEmpty());

  // The same source still refutes through its other piece of evidence.
  Given(WithdrawRequest(kSeedClaim, "nato-1"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("nato"));

  Given(WithdrawRequest(kSeedClaim, "nato-2"));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), IsEmpty());
}

TEST_F(DomainTest, VerdictOutranksEvidenceAndRetractionOutranksVerdict) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS"));
  Given(VerdictRequest(kSeedClaim, v1::RATING_HALF_TRUE));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_RATED);
  // Sources stay visible next to the verdict.
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO"));
  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_RETRACTED);
  EXPECT_EQ(StoredStatus(View(kSeedClaim)), v1::CLAIM_STATUS_RETRACTED);
}

TEST_F(DomainTest, SeedScenarioEndToEnd) {
  Given(SeedRequest());
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_UNVERIFIED);

  v1::AddEvidenceRequest nato =
      EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato-no-sign");
  nato.mutable_source()->set_url("https://www.nato.int/cps/en/natohq/");
  nato.set_note("NATO sees no sign of withdrawal");
  Given(nato);
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO"));

  absl::StatusOr<Decision> independent = Apply(
      EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "Associated Press"));
  ASSERT_TRUE(independent.ok()) << independent.status();
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_DISPUTED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(),
              ElementsAre("Associated Press"));

  Given(WithdrawRequest(kSeedClaim, independent->evidence_id));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(View(kSeedClaim).supporting_sources(), IsEmpty());
  EXPECT_THAT(View(kSeedClaim).refuting_sources(), ElementsAre("NATO"));

  Given(VerdictRequest(kSeedClaim, v1::RATING_FALSE));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_RATED);
  EXPECT_EQ(View(kSeedClaim).rating(), v1::RATING_FALSE);

  Given(RetractRequest(kSeedClaim));
  EXPECT_EQ(View(kSeedClaim).status(), v1::CLAIM_STATUS_RETRACTED);
  EXPECT_EQ(View(kSeedClaim).version(), 6u);
  EXPECT_EQ(log_.size(), 6u);

  EXPECT_EQ(
      Rejected(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "Reuters"))
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Rejected(VerdictRequest(kSeedClaim, v1::RATING_TRUE)).code(),
            absl::StatusCode::kFailedPrecondition);
  // Still readable, with its whole history.
  EXPECT_EQ(View(kSeedClaim).text(),
            "Putin ordered the troops back to their bases");
  EXPECT_EQ(View(kSeedClaim).evidence_size(), 2);
}

// ---- OVERDUE ----------------------------------------------------------------

class OverdueTest : public DomainTest {
 protected:
  static absl::Time Due() { return Utc(2014, 5, 26); }
  static absl::Time AfterDue() { return Due() + absl::Hours(1); }
};

TEST_F(OverdueTest, PromisePastDueWithoutVerdictOrSupportIsOverdue) {
  Given(PromiseRequest("promise", Due()));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
  Given(EvidenceRequest("promise", v1::STANCE_CONTEXT, "Reuters"));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
}

TEST_F(OverdueTest, PredictionPastDueIsOverdue) {
  Given(PromiseRequest("prediction", Due(), v1::CLAIM_KIND_PREDICTION));
  EXPECT_EQ(EffectiveStatus(View("prediction"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
}

TEST_F(OverdueTest, ContradictedPromisePastDueIsOverdue) {
  Given(PromiseRequest("promise", Due()));
  Given(EvidenceRequest("promise", v1::STANCE_REFUTES, "NATO"));
  ASSERT_EQ(View("promise").status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
}

TEST_F(OverdueTest, NotOverdueBeforeDueAt) {
  Given(PromiseRequest("promise", Due()));
  EXPECT_EQ(EffectiveStatus(View("promise"), Now()),
            v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(EffectiveStatus(View("promise"), Due() - absl::Seconds(1)),
            v1::CLAIM_STATUS_UNVERIFIED);
}

TEST_F(OverdueTest, SupportedPromiseIsNotOverdue) {
  Given(PromiseRequest("promise", Due()));
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS"));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_SUPPORTED);
}

TEST_F(OverdueTest, DisputedPromiseIsNotOverdue) {
  Given(PromiseRequest("promise", Due()));
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS"));
  Given(EvidenceRequest("promise", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_DISPUTED);
}

TEST_F(OverdueTest, RatedPromiseIsNotOverdue) {
  Given(PromiseRequest("promise", Due()));
  Given(VerdictRequest("promise", v1::RATING_IN_PROGRESS));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_RATED);
}

TEST_F(OverdueTest, RetractedPromiseIsNotOverdue) {
  Given(PromiseRequest("promise", Due()));
  Given(RetractRequest("promise"));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_RETRACTED);
}

TEST_F(OverdueTest, WithdrawingTheOnlySupportMakesPromiseOverdueAgain) {
  Given(PromiseRequest("promise", Due()));
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS", "tass"));
  ASSERT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_SUPPORTED);
  Given(WithdrawRequest("promise", "tass"));
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
}

TEST_F(OverdueTest, PromiseWithoutDueAtIsNeverOverdue) {
  Given(ClaimRequest("open-promise", v1::CLAIM_KIND_PROMISE));
  EXPECT_EQ(EffectiveStatus(View("open-promise"), Utc(2199, 1, 1)),
            v1::CLAIM_STATUS_UNVERIFIED);
}

TEST_F(OverdueTest, FactIsNeverOverdue) {
  Given(SeedRequest());
  Given(ClaimRequest("stat", v1::CLAIM_KIND_STATISTIC));
  // Commands cannot give a FACT a due_at; a view that has one anyway (an old
  // log, a hand-built view) is still not OVERDUE.
  for (const char* id : {kSeedClaim, "stat"}) {
    v1::ClaimView view = View(id);
    *view.mutable_due_at() = ToProto(Due());
    EXPECT_EQ(EffectiveStatus(view, AfterDue()), v1::CLAIM_STATUS_UNVERIFIED)
        << id;
  }
}

TEST_F(OverdueTest, StoredStatusIsNeverOverdue) {
  Given(PromiseRequest("promise", Due()));
  now_ = AfterDue();  // a later event, recorded after due_at
  Given(EvidenceRequest("promise", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(View("promise").status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(StoredStatus(View("promise")), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(EffectiveStatus(View("promise"), AfterDue()),
            v1::CLAIM_STATUS_OVERDUE);
}

TEST_F(OverdueTest, PresentAtShowsOverdueToReaders) {
  Given(PromiseRequest("promise", Due()));
  v1::ClaimView view = View("promise");
  PresentAt(Now(), &view);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_UNVERIFIED);
  PresentAt(AfterDue(), &view);
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_OVERDUE);
}

// ---- overdue_at: when an overdue episode begins
// ------------------------------

absl::Time OverdueAt(const v1::ClaimView& view) {
  EXPECT_TRUE(view.has_overdue_at()) << view.ShortDebugString();
  return FromProto(view.overdue_at());
}

TEST_F(OverdueTest, RecordedPromiseBecomesOverdueAtItsDueDate) {
  Given(PromiseRequest("promise", Due()));  // recorded at Now(), before Due()
  EXPECT_EQ(OverdueAt(View("promise")), Due());
  Given(PromiseRequest("prediction", Due(), v1::CLAIM_KIND_PREDICTION));
  EXPECT_EQ(OverdueAt(View("prediction")), Due());
}

TEST_F(OverdueTest, PromiseRecordedPastItsDueDateIsOverdueFromItsRecording) {
  now_ = AfterDue();
  Given(PromiseRequest("late", Due()));
  EXPECT_EQ(OverdueAt(View("late")), AfterDue());
}

TEST_F(OverdueTest, OnlyPromisesAndPredictionsWithADueDateHaveOverdueAt) {
  Given(SeedRequest());
  Given(ClaimRequest("open-promise", v1::CLAIM_KIND_PROMISE));
  EXPECT_FALSE(View(kSeedClaim).has_overdue_at());
  EXPECT_FALSE(View("open-promise").has_overdue_at());
}

TEST_F(OverdueTest, RefutationsAndContextKeepTheEpisode) {
  Given(PromiseRequest("promise", Due()));
  now_ = AfterDue();
  Given(EvidenceRequest("promise", v1::STANCE_REFUTES, "NATO"));
  Given(EvidenceRequest("promise", v1::STANCE_CONTEXT, "Reuters"));
  EXPECT_EQ(View("promise").status(), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_EQ(OverdueAt(View("promise")), Due());
}

TEST_F(OverdueTest, SupportEndsTheEpisodeAndItsWithdrawalStartsANewOne) {
  Given(PromiseRequest("promise", Due()));
  now_ = AfterDue();
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS", "tass"));
  EXPECT_FALSE(View("promise").has_overdue_at());
  now_ = AfterDue() + absl::Hours(5);
  Given(WithdrawRequest("promise", "tass"));
  EXPECT_EQ(OverdueAt(View("promise")), AfterDue() + absl::Hours(5));
}

TEST_F(OverdueTest, SupportWithdrawnBeforeTheDueDateKeepsTheDueDate) {
  Given(PromiseRequest("promise", Due()));
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS", "tass"));
  Given(WithdrawRequest("promise", "tass"));
  EXPECT_EQ(OverdueAt(View("promise")), Due());
}

TEST_F(OverdueTest, VerdictAndRetractionEndTheEpisode) {
  Given(PromiseRequest("rated", Due()));
  Given(PromiseRequest("retracted", Due()));
  now_ = AfterDue();
  Given(VerdictRequest("rated", v1::RATING_BROKEN));
  Given(RetractRequest("retracted"));
  EXPECT_FALSE(View("rated").has_overdue_at());
  EXPECT_FALSE(View("retracted").has_overdue_at());
}

TEST_F(OverdueTest, CorrectingTheDueDateMovesOverdueAt) {
  Given(PromiseRequest("promise", Due()));
  v1::CorrectClaimRequest later = CorrectRequest("promise");
  *later.mutable_due_at() = ToProto(Due() + absl::Hours(24 * 7));
  Given(later);
  EXPECT_EQ(OverdueAt(View("promise")), Due() + absl::Hours(24 * 7));
  // Moved into the past: the episode begins with the correction.
  now_ = AfterDue() + absl::Hours(24 * 10);
  v1::CorrectClaimRequest earlier = CorrectRequest("promise");
  *earlier.mutable_due_at() = ToProto(Due());
  Given(earlier);
  EXPECT_EQ(OverdueAt(View("promise")), now_);
  // Other corrections leave it alone.
  const absl::Time episode = now_;
  now_ += absl::Hours(1);
  v1::CorrectClaimRequest text = CorrectRequest("promise");
  text.set_text("The troops will be back within two weeks");
  Given(text);
  EXPECT_EQ(OverdueAt(View("promise")), episode);
  v1::CorrectClaimRequest clear = CorrectRequest("promise");
  clear.set_clear_due_at(true);
  Given(clear);
  EXPECT_FALSE(View("promise").has_overdue_at());
}

TEST_F(OverdueTest, ReplayingTheLogGivesTheSameOverdueAt) {
  Given(PromiseRequest("promise", Due()));
  now_ = AfterDue();
  Given(EvidenceRequest("promise", v1::STANCE_SUPPORTS, "TASS", "tass"));
  now_ += absl::Hours(2);
  Given(WithdrawRequest("promise", "tass"));
  v1::ClaimView replayed;
  for (const v1::Event& e : log_) Evolve(e, &replayed);
  EXPECT_TRUE(MessageDifferencer::Equals(replayed, View("promise")));
}

// ---- Validation limits ------------------------------------------------------

TEST_F(DomainTest, TextIsLimitedTo4096Bytes) {
  v1::RecordClaimRequest ok = ClaimRequest("text-4096");
  ok.set_text(std::string(4096, 'a'));
  Given(ok);
  EXPECT_EQ(View("text-4096").text().size(), 4096u);

  v1::RecordClaimRequest too_long = ClaimRequest("text-4097");
  too_long.set_text(std::string(4097, 'a'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "text"));
}

TEST_F(DomainTest, TextLimitCountsBytesNotCharacters) {
  std::string text;
  for (int i = 0; i < 2048; ++i) text += "\xC3\xA9";  // é, 2 bytes
  v1::RecordClaimRequest ok = ClaimRequest("e-4096");
  ok.set_text(text);
  Given(ok);
  v1::RecordClaimRequest too_long = ClaimRequest("e-4097");
  too_long.set_text(text + "a");
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "text"));
}

TEST_F(DomainTest, EmptyOrBlankTextIsRejected) {
  v1::RecordClaimRequest empty = ClaimRequest("empty");
  empty.clear_text();
  EXPECT_TRUE(IsInvalid(Rejected(empty), "text"));
  v1::RecordClaimRequest blank = ClaimRequest("blank");
  blank.set_text(" \n\t ");
  EXPECT_TRUE(IsInvalid(Rejected(blank), "text"));
}

TEST_F(DomainTest, InvalidUtf8IsRejected) {
  const std::vector<std::string> invalid = {
      "\xC3\x28",          // continuation byte missing
      "\xC0\xAF",          // overlong encoding of '/'
      "\xE0\x80\xAF",      // overlong, three bytes
      "\xED\xA0\x80",      // UTF-16 surrogate D800
      "\xF4\x90\x80\x80",  // beyond U+10FFFF
      "\xFF",              // never valid
      "abc\xE2\x82",       // truncated at the end
  };
  for (const std::string& bad : invalid) {
    v1::RecordClaimRequest r = ClaimRequest("bad-utf8");
    r.set_text(absl::StrCat("Putin ", bad, " said"));
    EXPECT_TRUE(IsInvalid(Rejected(r), "text")) << absl::CEscape(bad);
  }
  v1::RecordClaimRequest claimant = ClaimRequest("bad-claimant");
  claimant.set_claimant("Putin \xC3\x28");
  EXPECT_TRUE(IsInvalid(Rejected(claimant), "claimant"));
}

TEST_F(DomainTest, ValidMultiByteUtf8IsAccepted) {
  v1::RecordClaimRequest r = ClaimRequest("cyrillic");
  // Two-, three- and four-byte sequences, and the largest code point.
  r.set_text(
      "\xD0\x9F\xD1\x83\xD1\x82\xD0\xB8\xD0\xBD \xE2\x82\xAC "
      "\xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
  r.set_claimant(
      "\xD0\x92\xD0\xBB\xD0\xB0\xD0\xB4\xD0\xB8\xD0\xBC\xD0\xB8\xD1\x80");
  Given(r);
  EXPECT_EQ(View("cyrillic").text(), r.text());
}

TEST_F(DomainTest, ControlCharactersAreRejectedInNames) {
  v1::RecordClaimRequest r = ClaimRequest("nul");
  r.set_claimant(std::string("Putin\0", 6));
  EXPECT_TRUE(IsInvalid(Rejected(r), "claimant"));
  v1::RecordClaimRequest newline = ClaimRequest("newline");
  newline.set_claimant("Vladimir\nPutin");
  EXPECT_TRUE(IsInvalid(Rejected(newline), "claimant"));
}

TEST_F(DomainTest, ClaimantIsRequiredAndLimitedTo256Bytes) {
  v1::RecordClaimRequest none = ClaimRequest("no-claimant");
  none.clear_claimant();
  EXPECT_TRUE(IsInvalid(Rejected(none), "claimant"));
  v1::RecordClaimRequest ok = ClaimRequest("claimant-256");
  ok.set_claimant(std::string(256, 'p'));
  Given(ok);
  v1::RecordClaimRequest too_long = ClaimRequest("claimant-257");
  too_long.set_claimant(std::string(257, 'p'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "claimant"));
}

TEST_F(DomainTest, ClaimIdSlugIsLimitedTo64Characters) {
  const std::string id64 = "a" + std::string(63, '-');
  ASSERT_EQ(id64.size(), 64u);
  Given(ClaimRequest(id64));
  EXPECT_EQ(View(id64).claim_id(), id64);
  EXPECT_TRUE(
      IsInvalid(Rejected(ClaimRequest(std::string(65, 'a'))), "claim_id"));
}

TEST_F(DomainTest, MalformedSlugsAreRejected) {
  for (const char* bad : {"Putin-troops", "putin_troops", "-putin",
                          "putin troops", "putin.troops", "put\xC3\xADn"}) {
    EXPECT_TRUE(IsInvalid(Rejected(ClaimRequest(bad)), "claim_id")) << bad;
    v1::RecordClaimRequest subject = ClaimRequest("subject-check");
    subject.set_subject(bad);
    EXPECT_TRUE(IsInvalid(Rejected(subject), "subject")) << bad;
  }
  // Digits may lead; dashes may follow anywhere after the first character.
  Given(ClaimRequest("9-lives"));
  Given(ClaimRequest("trailing-"));
}

TEST_F(DomainTest, SubjectAndEvidenceIdSlugsAreLimitedTo64Characters) {
  v1::RecordClaimRequest ok = ClaimRequest("subject-64");
  ok.set_subject(std::string(64, 's'));
  Given(ok);
  v1::RecordClaimRequest too_long = ClaimRequest("subject-65");
  too_long.set_subject(std::string(65, 's'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "subject"));

  Given(EvidenceRequest("subject-64", v1::STANCE_REFUTES, "NATO",
                        std::string(64, 'e')));
  EXPECT_TRUE(
      IsInvalid(Rejected(EvidenceRequest("subject-64", v1::STANCE_REFUTES,
                                         "NATO", std::string(65, 'e'))),
                "evidence_id"));
  EXPECT_TRUE(IsInvalid(Rejected(EvidenceRequest(
                            "subject-64", v1::STANCE_REFUTES, "NATO", "Ev_1")),
                        "evidence_id"));
}

TEST_F(DomainTest, AtMost32Tags) {
  v1::RecordClaimRequest ok = ClaimRequest("tags-32");
  for (int i = 0; i < 32; ++i) ok.add_tags(absl::StrCat("tag", i));
  Given(ok);
  EXPECT_EQ(View("tags-32").tags_size(), 32);
  v1::RecordClaimRequest too_many = ClaimRequest("tags-33");
  for (int i = 0; i < 33; ++i) too_many.add_tags(absl::StrCat("tag", i));
  EXPECT_TRUE(IsInvalid(Rejected(too_many), "tags"));
}

TEST_F(DomainTest, TagIsLimitedTo64Bytes) {
  v1::RecordClaimRequest ok = ClaimRequest("tag-64");
  ok.add_tags(std::string(64, 't'));
  Given(ok);
  v1::RecordClaimRequest too_long = ClaimRequest("tag-65");
  too_long.add_tags("fine");
  too_long.add_tags(std::string(65, 't'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "tags[1]"));
}

TEST_F(DomainTest, DuplicateOrEmptyTagIsRejected) {
  v1::RecordClaimRequest dup = ClaimRequest("dup-tags");
  dup.add_tags("russia");
  dup.add_tags("ukraine");
  dup.add_tags("russia");
  EXPECT_TRUE(IsInvalid(Rejected(dup), "tags[2]"));
  v1::RecordClaimRequest empty = ClaimRequest("empty-tag");
  empty.add_tags("");
  EXPECT_TRUE(IsInvalid(Rejected(empty), "tags[0]"));
}

TEST_F(DomainTest, CorrectionTagsAreValidatedLikeRecordedOnes) {
  Given(SeedRequest());
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  for (int i = 0; i < 33; ++i) r.mutable_tags()->add_tags(absl::StrCat("t", i));
  EXPECT_TRUE(IsInvalid(Rejected(r), "tags"));
  v1::CorrectClaimRequest text = CorrectRequest(kSeedClaim);
  text.set_text(std::string(4097, 'a'));
  EXPECT_TRUE(IsInvalid(Rejected(text), "text"));
}

TEST_F(DomainTest, UrlIsLimitedTo2048Bytes) {
  const std::string prefix = "https://example.org/";
  v1::RecordClaimRequest ok = SeedRequest();
  ok.mutable_reported_by()->set_url(prefix +
                                    std::string(2048 - prefix.size(), 'a'));
  ASSERT_EQ(ok.reported_by().url().size(), 2048u);
  Given(ok);

  Given(ClaimRequest("url-evidence"));
  v1::AddEvidenceRequest too_long =
      EvidenceRequest("url-evidence", v1::STANCE_REFUTES, "NATO");
  too_long.mutable_source()->set_url(prefix +
                                     std::string(2049 - prefix.size(), 'a'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "source.url"));

  v1::RecordClaimRequest too_long_claim = ClaimRequest("url-2049");
  too_long_claim.mutable_reported_by()->set_name("Dmitry Peskov");
  too_long_claim.mutable_reported_by()->set_url(
      prefix + std::string(2049 - prefix.size(), 'a'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long_claim), "reported_by.url"));
}

TEST_F(DomainTest, OnlyHttpAndHttpsUrlsAreAccepted) {
  Given(ClaimRequest("urls"));
  for (const char* bad :
       {"ftp://example.org/file", "javascript:alert(1)", "example.org/page",
        "https://", "http:///path", "https://example.org/a b",
        "mailto:desk@example.org"}) {
    v1::AddEvidenceRequest r =
        EvidenceRequest("urls", v1::STANCE_REFUTES, "NATO");
    r.mutable_source()->set_url(bad);
    EXPECT_TRUE(IsInvalid(Rejected(r), "source.url")) << bad;
  }
  for (const char* good : {"http://example.org", "https://www.nato.int/x?y=1",
                           "HTTPS://EXAMPLE.ORG/"}) {
    v1::AddEvidenceRequest r =
        EvidenceRequest("urls", v1::STANCE_REFUTES, "NATO");
    r.mutable_source()->set_url(good);
    EXPECT_TRUE(Apply(r).ok()) << good;
  }
}

TEST_F(DomainTest, SourceNameIsRequiredForEvidenceAndWhenOutletGiven) {
  Given(ClaimRequest("sources"));
  EXPECT_TRUE(
      IsInvalid(Rejected(EvidenceRequest("sources", v1::STANCE_REFUTES, "")),
                "source.name"));
  v1::RecordClaimRequest r = ClaimRequest("outlet-only");
  r.mutable_reported_by()->set_outlet("CNN");
  EXPECT_TRUE(IsInvalid(Rejected(r), "reported_by.name"));
}

TEST_F(DomainTest, NoteIsLimitedTo16KiB) {
  Given(ClaimRequest("notes"));
  v1::AddEvidenceRequest ok =
      EvidenceRequest("notes", v1::STANCE_REFUTES, "NATO");
  ok.set_note(std::string(16384, 'n'));
  Given(ok);
  v1::AddEvidenceRequest too_long =
      EvidenceRequest("notes", v1::STANCE_REFUTES, "NATO");
  too_long.set_note(std::string(16385, 'n'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "note"));
}

TEST_F(DomainTest, VerdictSummaryIsLimitedTo16KiB) {
  Given(ClaimRequest("summary"));
  v1::IssueVerdictRequest too_long =
      VerdictRequest("summary", v1::RATING_FALSE);
  too_long.set_summary(std::string(16385, 's'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "summary"));
  v1::IssueVerdictRequest ok = VerdictRequest("summary", v1::RATING_FALSE);
  ok.set_summary(std::string(16384, 's'));
  Given(ok);
}

TEST_F(DomainTest, RequestIdIsLimitedTo128Bytes) {
  v1::RecordClaimRequest ok = ClaimRequest("rid-128");
  ok.set_request_id(std::string(128, 'r'));
  absl::StatusOr<Decision> d = Apply(ok);
  ASSERT_TRUE(d.ok()) << d.status();

  v1::RecordClaimRequest too_long = ClaimRequest("rid-129");
  too_long.set_request_id(std::string(129, 'r'));
  EXPECT_TRUE(IsInvalid(Rejected(too_long), "request_id"));

  v1::AddEvidenceRequest evidence =
      EvidenceRequest("rid-128", v1::STANCE_REFUTES, "NATO");
  evidence.set_request_id(std::string(129, 'r'));
  EXPECT_TRUE(IsInvalid(Rejected(evidence), "request_id"));
  v1::RetractClaimRequest retract = RetractRequest("rid-128");
  retract.set_request_id(std::string(129, 'r'));
  EXPECT_TRUE(IsInvalid(Rejected(retract), "request_id"));
  v1::LinkClaimsRequest link =
      LinkRequest("rid-128", kSeedClaim, v1::LINK_RELATION_REPEATS);
  link.set_request_id(std::string(129, 'r'));
  EXPECT_TRUE(IsInvalid(Rejected(link), "request_id"));
}

TEST_F(DomainTest, RequestIdMustBePrintableAscii) {
  for (const std::string& bad : {std::string("has space"), std::string("tab\t"),
                                 std::string("caf\xC3\xA9")}) {
    v1::RecordClaimRequest r = ClaimRequest("rid-bad");
    r.set_request_id(bad);
    EXPECT_TRUE(IsInvalid(Rejected(r), "request_id")) << absl::CEscape(bad);
  }
}

TEST_F(DomainTest, AssertedAtBefore1800IsRejected) {
  v1::RecordClaimRequest ok = ClaimRequest("year-1800");
  *ok.mutable_asserted_at() = ToProto(Utc(1800, 1, 1));
  Given(ok);
  v1::RecordClaimRequest too_early = ClaimRequest("year-1799");
  *too_early.mutable_asserted_at() =
      ToProto(Utc(1800, 1, 1) - absl::Seconds(1));
  EXPECT_TRUE(IsInvalid(Rejected(too_early), "asserted_at"));
}

TEST_F(DomainTest, AssertedAtMoreThan24HoursAheadIsRejected) {
  v1::RecordClaimRequest ok = ClaimRequest("skew-24h");
  *ok.mutable_asserted_at() = ToProto(Now() + absl::Hours(24));
  Given(ok);
  v1::RecordClaimRequest ahead = ClaimRequest("skew-24h-1s");
  *ahead.mutable_asserted_at() =
      ToProto(Now() + absl::Hours(24) + absl::Seconds(1));
  EXPECT_TRUE(IsInvalid(Rejected(ahead), "asserted_at"));
}

TEST_F(DomainTest, ObservedAtFollowsTheSameTimeBounds) {
  Given(ClaimRequest("observed"));
  v1::AddEvidenceRequest ahead =
      EvidenceRequest("observed", v1::STANCE_REFUTES, "NATO");
  *ahead.mutable_observed_at() = ToProto(Now() + absl::Hours(25));
  EXPECT_TRUE(IsInvalid(Rejected(ahead), "observed_at"));
  v1::AddEvidenceRequest early =
      EvidenceRequest("observed", v1::STANCE_REFUTES, "NATO");
  *early.mutable_observed_at() = ToProto(Utc(1700, 1, 1));
  EXPECT_TRUE(IsInvalid(Rejected(early), "observed_at"));
}

TEST_F(DomainTest, TimestampWithOutOfRangeNanosIsRejected) {
  v1::RecordClaimRequest r = ClaimRequest("nanos");
  r.mutable_asserted_at()->set_seconds(absl::ToUnixSeconds(Now()));
  r.mutable_asserted_at()->set_nanos(1000000000);
  EXPECT_TRUE(IsInvalid(Rejected(r), "asserted_at"));
}

TEST_F(DomainTest, DueAtOnlyForPromisesAndPredictions) {
  for (v1::ClaimKind kind : {v1::CLAIM_KIND_FACT, v1::CLAIM_KIND_STATISTIC}) {
    EXPECT_TRUE(IsInvalid(
        Rejected(PromiseRequest("not-due", Utc(2014, 6, 1), kind)), "due_at"))
        << v1::ClaimKind_Name(kind);
  }
  Given(PromiseRequest("promise", Utc(2014, 6, 1)));
  Given(
      PromiseRequest("prediction", Utc(2014, 6, 1), v1::CLAIM_KIND_PREDICTION));
  EXPECT_EQ(FromProto(View("prediction").due_at()), Utc(2014, 6, 1));
}

TEST_F(DomainTest, DueAtMustLieBetween1800And2200) {
  Given(PromiseRequest("due-late", Utc(2199, 12, 31, 23, 59, 59)));
  EXPECT_TRUE(IsInvalid(Rejected(PromiseRequest("due-2200", Utc(2200, 1, 1))),
                        "due_at"));
  EXPECT_TRUE(IsInvalid(Rejected(PromiseRequest("due-1799", Utc(1799, 12, 31))),
                        "due_at"));
}

TEST_F(DomainTest, UnspecifiedEnumsAreRejected) {
  EXPECT_TRUE(IsInvalid(
      Rejected(ClaimRequest("no-kind", v1::CLAIM_KIND_UNSPECIFIED)), "kind"));
  EXPECT_TRUE(IsInvalid(
      Rejected(ClaimRequest("bad-kind", static_cast<v1::ClaimKind>(42))),
      "kind"));

  Given(SeedRequest());
  Given(ClaimRequest("other"));
  EXPECT_TRUE(IsInvalid(
      Rejected(EvidenceRequest(kSeedClaim, v1::STANCE_UNSPECIFIED, "NATO")),
      "stance"));
  EXPECT_TRUE(IsInvalid(
      Rejected(LinkRequest(kSeedClaim, "other", v1::LINK_RELATION_UNSPECIFIED)),
      "relation"));
  EXPECT_TRUE(IsInvalid(
      Rejected(VerdictRequest(kSeedClaim, v1::RATING_UNSPECIFIED)), "rating"));
}

TEST_F(DomainTest, RequiredFreeTextFieldsAreRejectedWhenMissing) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  v1::IssueVerdictRequest no_summary =
      VerdictRequest(kSeedClaim, v1::RATING_FALSE);
  no_summary.clear_summary();
  EXPECT_TRUE(IsInvalid(Rejected(no_summary), "summary"));
  v1::IssueVerdictRequest no_reviewer =
      VerdictRequest(kSeedClaim, v1::RATING_FALSE);
  no_reviewer.clear_reviewer();
  EXPECT_TRUE(IsInvalid(Rejected(no_reviewer), "reviewer"));
  v1::WithdrawEvidenceRequest no_reason = WithdrawRequest(kSeedClaim, "nato");
  no_reason.clear_reason();
  EXPECT_TRUE(IsInvalid(Rejected(no_reason), "reason"));
  v1::RetractClaimRequest no_retract_reason = RetractRequest(kSeedClaim);
  no_retract_reason.set_reason("   ");
  EXPECT_TRUE(IsInvalid(Rejected(no_retract_reason), "reason"));
  v1::RetractClaimRequest long_reason = RetractRequest(kSeedClaim);
  long_reason.set_reason(std::string(4097, 'r'));
  EXPECT_TRUE(IsInvalid(Rejected(long_reason), "reason"));
}

TEST_F(DomainTest, TightenedLimitsApply) {
  limits_.max_text_bytes = 10;
  limits_.max_tags = 1;
  v1::RecordClaimRequest r = ClaimRequest("tight");
  r.set_text("0123456789");
  r.add_tags("one");
  Given(r);
  v1::RecordClaimRequest long_text = ClaimRequest("tight-text");
  long_text.set_text("0123456789a");
  EXPECT_TRUE(IsInvalid(Rejected(long_text), "text"));
  v1::RecordClaimRequest two_tags = ClaimRequest("tight-tags");
  two_tags.set_text("short");
  two_tags.add_tags("one");
  two_tags.add_tags("two");
  EXPECT_TRUE(IsInvalid(Rejected(two_tags), "tags"));
}

// ---- Event filter -----------------------------------------------------------

class EventFilterTest : public DomainTest {
 protected:
  void SetUp() override {
    Given(SeedRequest());                                            // 1
    Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO"));  // 2
    v1::RecordClaimRequest other = ClaimRequest("nato-no-sign");
    other.set_claimant("Jens Stoltenberg");
    other.set_subject("nato-posture");
    Given(other);                                         // 3
    Given(VerdictRequest(kSeedClaim, v1::RATING_FALSE));  // 4
    Given(LinkRequest(kSeedClaim, "nato-no-sign",
                      v1::LINK_RELATION_CONTRADICTS));  // 5, 6
    ASSERT_EQ(log_.size(), 6u);
  }

  // The positions of the logged events that `filter` lets through.
  std::vector<uint64_t> Passing(const v1::EventFilter& filter) const {
    std::vector<uint64_t> positions;
    for (const v1::Event& event : log_) {
      if (Matches(filter, event)) positions.push_back(event.position());
    }
    return positions;
  }
};

TEST_F(EventFilterTest, EmptyFilterMatchesEverything) {
  EXPECT_THAT(Passing(v1::EventFilter()), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_F(EventFilterTest, MatchesOnClaimId) {
  v1::EventFilter filter;
  filter.set_claim_id("nato-no-sign");
  EXPECT_THAT(Passing(filter), ElementsAre(3, 6));
}

TEST_F(EventFilterTest, MatchesOnSubject) {
  v1::EventFilter filter;
  filter.set_subject(kSeedSubject);
  EXPECT_THAT(Passing(filter), ElementsAre(1, 2, 4, 5));
}

TEST_F(EventFilterTest, MatchesOnClaimant) {
  v1::EventFilter filter;
  filter.set_claimant("Jens Stoltenberg");
  EXPECT_THAT(Passing(filter), ElementsAre(3, 6));
}

TEST_F(EventFilterTest, MatchesAnyOfTypes) {
  v1::EventFilter filter;
  filter.add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
  filter.add_types(v1::EVENT_TYPE_VERDICT_ISSUED);
  EXPECT_THAT(Passing(filter), ElementsAre(1, 3, 4));
}

TEST_F(EventFilterTest, CombinedFieldsMustAllMatch) {
  v1::EventFilter filter;
  filter.set_claimant(kPutin);
  filter.add_types(v1::EVENT_TYPE_CLAIM_LINKED);
  filter.add_types(v1::EVENT_TYPE_EVIDENCE_ADDED);
  EXPECT_THAT(Passing(filter), ElementsAre(2, 5));
  filter.set_subject("nato-posture");  // no Putin event has this subject
  EXPECT_THAT(Passing(filter), IsEmpty());
}

TEST_F(EventFilterTest, SubjectFilterFollowsCorrectedSubject) {
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_subject("nato-posture");
  Given(r);  // 7
  v1::EventFilter filter;
  filter.set_subject("nato-posture");
  EXPECT_THAT(Passing(filter), ElementsAre(3, 6, 7));
}

TEST_F(EventFilterTest, TypeOfNamesEachPayload) {
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "OSCE", "osce"));
  Given(WithdrawRequest(kSeedClaim, "osce"));
  v1::CorrectClaimRequest r = CorrectRequest(kSeedClaim);
  r.set_text("corrected");
  Given(r);
  Given(RetractRequest(kSeedClaim));
  std::vector<v1::EventType> types;
  for (const v1::Event& e : log_) types.push_back(TypeOf(e));
  EXPECT_THAT(
      types,
      ElementsAre(
          v1::EVENT_TYPE_CLAIM_RECORDED, v1::EVENT_TYPE_EVIDENCE_ADDED,
          v1::EVENT_TYPE_CLAIM_RECORDED, v1::EVENT_TYPE_VERDICT_ISSUED,
          v1::EVENT_TYPE_CLAIM_LINKED, v1::EVENT_TYPE_CLAIM_LINKED,
          v1::EVENT_TYPE_EVIDENCE_ADDED, v1::EVENT_TYPE_EVIDENCE_WITHDRAWN,
          v1::EVENT_TYPE_CLAIM_CORRECTED, v1::EVENT_TYPE_CLAIM_RETRACTED));
  EXPECT_EQ(TypeOf(v1::Event()), v1::EVENT_TYPE_UNSPECIFIED);
}

TEST(ValidateEventFilterTest, AcceptsWellFormedFilters) {
  EXPECT_TRUE(ValidateEventFilter(v1::EventFilter(), Limits()).ok());
  v1::EventFilter filter;
  filter.set_claim_id(kSeedClaim);
  filter.set_subject(kSeedSubject);
  filter.set_claimant(kPutin);
  filter.add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
  filter.add_types(v1::EVENT_TYPE_CLAIM_LINKED);
  EXPECT_TRUE(ValidateEventFilter(filter, Limits()).ok());
}

TEST(ValidateEventFilterTest, RejectsUnknownTypes) {
  v1::EventFilter unspecified;
  unspecified.add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
  unspecified.add_types(v1::EVENT_TYPE_UNSPECIFIED);
  EXPECT_TRUE(
      IsInvalid(ValidateEventFilter(unspecified, Limits()), "filter.types[1]"));
  v1::EventFilter unknown;
  unknown.add_types(static_cast<v1::EventType>(99));
  EXPECT_TRUE(
      IsInvalid(ValidateEventFilter(unknown, Limits()), "filter.types[0]"));
}

TEST(ValidateEventFilterTest, RejectsMalformedFields) {
  v1::EventFilter claim;
  claim.set_claim_id("Not A Slug");
  EXPECT_TRUE(
      IsInvalid(ValidateEventFilter(claim, Limits()), "filter.claim_id"));
  v1::EventFilter subject;
  subject.set_subject("under_score");
  EXPECT_TRUE(
      IsInvalid(ValidateEventFilter(subject, Limits()), "filter.subject"));
  v1::EventFilter claimant;
  claimant.set_claimant(std::string(257, 'c'));
  EXPECT_TRUE(
      IsInvalid(ValidateEventFilter(claimant, Limits()), "filter.claimant"));
  v1::EventFilter many;
  for (int i = 0; i < 17; ++i) many.add_types(v1::EVENT_TYPE_CLAIM_RECORDED);
  EXPECT_TRUE(IsInvalid(ValidateEventFilter(many, Limits()), "filter.types"));
}

// ---- Evolve -----------------------------------------------------------------

TEST_F(DomainTest, EvolveIsDeterministic) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_SUPPORTS, "TASS", "tass"));
  now_ += absl::Minutes(5);
  Given(WithdrawRequest(kSeedClaim, "tass"));
  Given(PromiseRequest("promise", Utc(2014, 6, 1)));
  Given(LinkRequest("promise", kSeedClaim, v1::LINK_RELATION_SUPPORTS));
  v1::CorrectClaimRequest correct = CorrectRequest("promise");
  correct.set_subject("troop-movements");
  *correct.mutable_due_at() = ToProto(Utc(2014, 7, 1));
  Given(correct);
  Given(VerdictRequest(kSeedClaim, v1::RATING_FALSE));
  Given(VerdictRequest("promise", v1::RATING_STALLED));
  Given(RetractRequest(kSeedClaim));

  const Claims first = Replay(log_);
  const Claims second = Replay(log_);
  ASSERT_EQ(first.size(), 2u);
  for (const auto& [id, view] : first) {
    EXPECT_TRUE(MessageDifferencer::Equals(view, second.at(id))) << id;
    // A rebuild from the log gives what the writer built incrementally.
    EXPECT_TRUE(MessageDifferencer::Equals(view, claims_.at(id))) << id;
  }
  EXPECT_EQ(first.at(kSeedClaim).last_position(), log_.back().position());
}

TEST_F(DomainTest, EvolveToleratesWithdrawalOfUnknownEvidence) {
  Given(SeedRequest());
  Given(EvidenceRequest(kSeedClaim, v1::STANCE_REFUTES, "NATO", "nato"));
  v1::Event event;
  event.set_position(99);
  event.set_claim_id(kSeedClaim);
  event.set_version(3);
  *event.mutable_recorded_at() = ToProto(Now());
  event.mutable_evidence_withdrawn()->set_evidence_id("never-added");
  v1::ClaimView view = View(kSeedClaim);
  Evolve(event, &view);
  EXPECT_EQ(view.version(), 3u);
  EXPECT_EQ(view.last_position(), 99u);
  ASSERT_EQ(view.evidence_size(), 1);
  EXPECT_FALSE(view.evidence(0).withdrawn());
  EXPECT_EQ(view.status(), v1::CLAIM_STATUS_CONTRADICTED);
}

// ---- Time conversions -------------------------------------------------------

TEST(TimeUtilTest, Rfc3339ShowsFractionOnlyWhenPresent) {
  EXPECT_EQ(Rfc3339(Utc(2014, 5, 19, 10)), "2014-05-19T10:00:00Z");
  EXPECT_EQ(Rfc3339(Utc(2014, 5, 19, 10) + absl::Milliseconds(500)),
            "2014-05-19T10:00:00.5Z");
}

TEST(TimeUtilTest, ProtoRoundTripKeepsNanosNonNegativeBeforeEpoch) {
  const absl::Time t = Utc(1969, 12, 31, 23, 59, 59) + absl::Milliseconds(500);
  const google::protobuf::Timestamp ts = ToProto(t);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 500000000);
  EXPECT_EQ(FromProto(ts), t);
  EXPECT_EQ(FromProto(ToProto(Utc(1800, 1, 1))), Utc(1800, 1, 1));
}

}  // namespace
}  // namespace factlog::domain
