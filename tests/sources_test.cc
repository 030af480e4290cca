// Sources as entities (README "Sources"; docs/ARCHITECTURE.md, "Sources"):
// the registry's rules and the status rules with independence, as pure
// domain functions over a desk of claims and a registry built the way the
// writer builds them; then the same through a real store and writer:
// rebuild equals live, --verify clean, request ids, bad input appending
// nothing, and GetSource's track record.

#include "domain/sources.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/claim_queries.h"
#include "core/writer.h"
#include "domain/decider.h"
#include "domain/evolve.h"
#include "domain/source_decider.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/event_store.h"
#include "storage/keys.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---- Commands
// ----------------------------------------------------------------

v1::Command Register(const std::string& id, const std::string& name,
                     v1::SourceKind kind, const std::string& parent = "") {
  v1::Command c;
  v1::RegisterSourceRequest* r = c.mutable_register_source();
  r->set_source_id(id);
  r->set_name(name);
  r->set_kind(kind);
  r->set_parent_id(parent);
  return c;
}

v1::Command Organisation(const std::string& id, const std::string& name,
                         const std::string& parent = "") {
  return Register(id, name, v1::SOURCE_KIND_ORGANISATION, parent);
}

v1::Command Alias(const std::string& id, const std::string& alias) {
  v1::Command c;
  c.mutable_add_source_alias()->set_source_id(id);
  c.mutable_add_source_alias()->set_alias(alias);
  return c;
}

v1::Command Affiliate(const std::string& id, const std::string& parent) {
  v1::Command c;
  c.mutable_affiliate_source()->set_source_id(id);
  c.mutable_affiliate_source()->set_parent_id(parent);
  return c;
}

v1::Command Grade(const std::string& id, v1::SourceGrade grade,
                  const std::string& reason = "track record") {
  v1::Command c;
  c.mutable_grade_source()->set_source_id(id);
  c.mutable_grade_source()->set_grade(grade);
  c.mutable_grade_source()->set_reason(reason);
  return c;
}

v1::Command Policy(uint32_t min, bool ignore_unreliable = false) {
  v1::Command c;
  c.mutable_set_desk_policy()->set_min_independent_sources(min);
  c.mutable_set_desk_policy()->set_ignore_unreliable(ignore_unreliable);
  c.mutable_set_desk_policy()->set_reason("two-source rule");
  return c;
}

v1::Command Claim(const std::string& id) {
  v1::Command c;
  *c.mutable_record_claim() = testing::NewClaim(id, "Troops are withdrawing.");
  return c;
}

v1::Command Evidence(const std::string& claim, v1::Stance stance,
                     const std::string& source, uint32_t credibility = 0) {
  v1::Command c = testing::EvidenceCommand(claim, stance, source);
  c.mutable_add_evidence()->set_credibility(credibility);
  return c;
}

v1::Command Verdict(const std::string& claim, v1::Rating rating) {
  v1::Command c;
  c.mutable_issue_verdict()->set_claim_id(claim);
  c.mutable_issue_verdict()->set_rating(rating);
  c.mutable_issue_verdict()->set_summary("Checked.");
  c.mutable_issue_verdict()->set_reviewer("desk");
  return c;
}

v1::Command Reattribute(const std::string& claim) {
  v1::Command c;
  c.mutable_reattribute_evidence()->set_claim_id(claim);
  c.mutable_reattribute_evidence()->set_reason("registry changed");
  return c;
}

// ---- A desk in memory: claims and registry as the writer keeps them
// ----------

class Desk {
 public:
  // Decides `command` and applies its events; the decision or why not.
  absl::StatusOr<domain::Decision> Apply(const v1::Command& command) {
    domain::DecideContext ctx;
    ctx.now = testing::Utc(2014, 5, 19, 12);
    ctx.sources = &registry_;
    ctx.assigned_source_id = absl::StrCat("s-", position_ + 1);
    ctx.assigned_claim_id = absl::StrCat("c-", position_ + 1);
    absl::StatusOr<domain::Decision> d = domain::Decide(
        command,
        [this](const std::string& id) -> absl::StatusOr<const v1::ClaimView*> {
          auto it = claims_.find(id);
          return it == claims_.end() ? nullptr : &it->second;
        },
        ctx);
    if (!d.ok()) return d;
    for (v1::Event& e : d->events) {
      e.set_position(++position_);
      *e.mutable_recorded_at() = domain::ToProto(ctx.now);
      e.set_actor("editor");
      if (domain::IsRegistryEvent(e)) {
        registry_.Apply(e);
      } else {
        domain::Evolve(e, &claims_[e.claim_id()]);
      }
      log_.push_back(e);
    }
    return d;
  }
  void Must(const v1::Command& command) {
    absl::StatusOr<domain::Decision> d = Apply(command);
    ASSERT_TRUE(d.ok()) << d.status() << " for " << command.DebugString();
  }

  const v1::ClaimView& claim(const std::string& id) { return claims_[id]; }
  v1::ClaimStatus status(const std::string& id) { return claims_[id].status(); }
  const domain::SourceRegistry& registry() const { return registry_; }
  const std::vector<v1::Event>& log() const { return log_; }
  std::vector<v1::ClaimView> claims() const {
    std::vector<v1::ClaimView> out;
    for (const auto& [id, view] : claims_) out.push_back(view);
    return out;
  }

 private:
  std::map<std::string, v1::ClaimView> claims_;
  domain::SourceRegistry registry_;
  std::vector<v1::Event> log_;
  uint64_t position_ = 0;
};

// NATO and its Secretary General, the White House and its press secretary,
// as the demo registers them.
void RegisterDemoSources(Desk& desk) {
  desk.Must(Organisation("nato", "NATO"));
  desk.Must(Register("rasmussen", "Anders Fogh Rasmussen",
                     v1::SOURCE_KIND_PERSON, "nato"));
  desk.Must(Alias("rasmussen", "NATO (Anders Fogh Rasmussen)"));
  desk.Must(Organisation("white-house", "White House"));
  desk.Must(
      Register("carney", "Jay Carney", v1::SOURCE_KIND_PERSON, "white-house"));
  desk.Must(Alias("carney", "White House (Jay Carney)"));
}

std::vector<std::string> Labels(const v1::ClaimView& claim, v1::Stance stance) {
  std::vector<std::string> labels;
  for (const domain::SourceGroup& g :
       domain::IndependentGroups(claim, stance)) {
    labels.push_back(domain::GroupLabel(g) + (g.counted ? "" : " (ignored)"));
  }
  return labels;
}

// ---- The status table with independence
// ---------------------------------------

TEST(SourcesStatus, OneOrganisationSpeakingTwiceIsOneSource) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Policy(2));
  desk.Must(Claim("withdrawal"));
  desk.Must(Evidence("withdrawal", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_UNVERIFIED);
  // NATO's Secretary General is NATO again.
  desk.Must(Evidence("withdrawal", v1::STANCE_REFUTES,
                     "NATO (Anders Fogh Rasmussen)"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_THAT(Labels(desk.claim("withdrawal"), v1::STANCE_REFUTES),
              ElementsAre("NATO (Anders Fogh Rasmussen)"));
  // The White House is independent of NATO: two organisations.
  desk.Must(Evidence("withdrawal", v1::STANCE_REFUTES, "Jay Carney"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_THAT(
      Labels(desk.claim("withdrawal"), v1::STANCE_REFUTES),
      ElementsAre("NATO (Anders Fogh Rasmussen)", "White House (Jay Carney)"));
  // The names as given stay in the event and the view.
  EXPECT_THAT(
      desk.claim("withdrawal").refuting_sources(),
      ElementsAre("NATO", "NATO (Anders Fogh Rasmussen)", "Jay Carney"));
  // One supporter is not enough either; two organisations on each side
  // make it DISPUTED.
  desk.Must(Evidence("withdrawal", v1::STANCE_SUPPORTS, "Kremlin"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_CONTRADICTED);
  desk.Must(Evidence("withdrawal", v1::STANCE_SUPPORTS, "RIA Novosti"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_DISPUTED);
}

TEST(SourcesStatus, DefaultPolicyIsOneSourceAsBefore) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Claim("withdrawal"));
  desk.Must(Evidence("withdrawal", v1::STANCE_REFUTES,
                     "NATO (Anders Fogh Rasmussen)"));
  EXPECT_EQ(desk.status("withdrawal"), v1::CLAIM_STATUS_CONTRADICTED);
  EXPECT_FALSE(desk.claim("withdrawal").has_policy());
  // The event records the text given and the source it resolved to.
  const v1::EvidenceAdded& added = desk.log().back().evidence_added();
  EXPECT_EQ(added.source().name(), "NATO (Anders Fogh Rasmussen)");
  EXPECT_EQ(added.attribution().source_id(), "rasmussen");
  EXPECT_EQ(added.attribution().organisation_id(), "nato");
  EXPECT_EQ(added.attribution().organisation_name(), "NATO");
  EXPECT_FALSE(added.has_policy());
}

TEST(SourcesStatus, NamesResolveIgnoringCaseAndSpacingAndById) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Claim("c"));
  desk.Must(Evidence("c", v1::STANCE_REFUTES, "  white   HOUSE "));
  EXPECT_EQ(desk.claim("c").evidence(0).attribution().source_id(),
            "white-house");
  v1::Command by_id = Evidence("c", v1::STANCE_SUPPORTS, "");
  by_id.mutable_add_evidence()->mutable_source()->set_source_id("carney");
  desk.Must(by_id);
  EXPECT_EQ(desk.claim("c").evidence(1).attribution().source_name(),
            "Jay Carney");
  // Unregistered names are kept as given, unattributed, as before.
  desk.Must(Evidence("c", v1::STANCE_REFUTES, "Reuters"));
  EXPECT_FALSE(desk.claim("c").evidence(2).has_attribution());
}

TEST(SourcesStatus, PolicyAppliesFromItsPositionOnward) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Claim("before"));
  desk.Must(Evidence("before", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(desk.status("before"), v1::CLAIM_STATUS_CONTRADICTED);
  desk.Must(Policy(2));
  // The claim's projection depends on its own events only: unchanged.
  EXPECT_EQ(desk.status("before"), v1::CLAIM_STATUS_CONTRADICTED);
  desk.Must(Claim("after"));
  desk.Must(Evidence("after", v1::STANCE_REFUTES, "NATO"));
  EXPECT_EQ(desk.status("after"), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_EQ(desk.claim("after").policy().min_independent_sources(), 2u);
  // Re-attribution brings the older claim under the policy, by an event.
  const size_t logged = desk.log().size();
  desk.Must(Reattribute("before"));
  ASSERT_EQ(desk.log().size(), logged + 1);
  const v1::Event& event = desk.log().back();
  EXPECT_EQ(event.claim_id(), "before");
  EXPECT_EQ(event.evidence_reattributed().policy().min_independent_sources(),
            2u);
  EXPECT_EQ(desk.status("before"), v1::CLAIM_STATUS_UNVERIFIED);
  // Nothing more to do: refused, nothing appended.
  absl::StatusOr<domain::Decision> again = desk.Apply(Reattribute("before"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(desk.log().size(), logged + 1);
  // Back to one source: later evidence events record the default again.
  desk.Must(Policy(1));
  desk.Must(Evidence("after", v1::STANCE_SUPPORTS, "Kremlin"));
  EXPECT_FALSE(desk.claim("after").has_policy());
  EXPECT_EQ(desk.status("after"), v1::CLAIM_STATUS_DISPUTED);
}

TEST(SourcesStatus, ReattributionAfterAnAliasAppendsAnEvent) {
  Desk desk;
  desk.Must(Organisation("white-house", "White House"));
  desk.Must(Claim("c"));
  desk.Must(Evidence("c", v1::STANCE_REFUTES, "Jay Carney"));
  EXPECT_FALSE(desk.claim("c").evidence(0).has_attribution());
  desk.Must(
      Register("carney", "Jay Carney", v1::SOURCE_KIND_PERSON, "white-house"));
  // History never changes meaning: the old evidence is as it was.
  EXPECT_FALSE(desk.claim("c").evidence(0).has_attribution());
  desk.Must(Reattribute("c"));
  const v1::EvidenceReattributed& r = desk.log().back().evidence_reattributed();
  ASSERT_EQ(r.evidence_size(), 1);
  EXPECT_EQ(r.evidence(0).evidence_id(),
            desk.claim("c").evidence(0).evidence_id());
  EXPECT_FALSE(r.evidence(0).has_previous());
  EXPECT_EQ(r.evidence(0).attribution().organisation_id(), "white-house");
  EXPECT_EQ(desk.claim("c").evidence(0).attribution().source_id(), "carney");
}

TEST(SourcesStatus, GradesAndCredibilityShowAndUnreliableSourcesCanBeIgnored) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Grade("carney", v1::SOURCE_GRADE_E, "often wrong"));
  desk.Must(Grade("carney", v1::SOURCE_GRADE_B, "better since"));
  const v1::SourceView* carney = desk.registry().Find("carney");
  ASSERT_NE(carney, nullptr);
  EXPECT_EQ(carney->grade(), v1::SOURCE_GRADE_B);
  ASSERT_EQ(carney->grades_size(), 2);
  EXPECT_EQ(carney->grades(0).reason(), "often wrong");
  EXPECT_EQ(carney->grades(0).actor(), "editor");
  desk.Must(Grade("nato", v1::SOURCE_GRADE_F, "cannot be judged"));
  desk.Must(Policy(1, /*ignore_unreliable=*/true));
  desk.Must(Claim("c"));
  desk.Must(Evidence("c", v1::STANCE_REFUTES, "NATO", /*credibility=*/3));
  const v1::EvidenceView& e = desk.claim("c").evidence(0);
  EXPECT_EQ(e.attribution().grade(), v1::SOURCE_GRADE_F);
  EXPECT_EQ(e.credibility(), 3u);
  EXPECT_EQ(desk.status("c"), v1::CLAIM_STATUS_UNVERIFIED);
  EXPECT_THAT(Labels(desk.claim("c"), v1::STANCE_REFUTES),
              ElementsAre("NATO (ignored)"));
  desk.Must(Evidence("c", v1::STANCE_REFUTES, "Jay Carney", 2));
  EXPECT_EQ(desk.status("c"), v1::CLAIM_STATUS_CONTRADICTED);
}

TEST(SourcesRegistry, RenameKeepsTheFormerNameAsAnAlias) {
  Desk desk;
  desk.Must(Organisation("mod", "Russian MoD"));
  v1::Command rename;
  rename.mutable_rename_source()->set_source_id("mod");
  rename.mutable_rename_source()->set_name("Russian Ministry of Defence");
  desk.Must(rename);
  EXPECT_EQ(desk.registry().IdOfName(domain::SourceNameKey("russian mod")),
            "mod");
  EXPECT_THAT(desk.registry().Find("mod")->former_names(),
              ElementsAre("Russian MoD"));
  EXPECT_EQ(desk.registry().Find("mod")->version(), 2u);
}

// ---- Track record
// --------------------------------------------------------------

TEST(SourcesTrackRecord, CountsAgainstAHandComputedExample) {
  Desk desk;
  RegisterDemoSources(desk);
  // 1: NATO refutes, rated FALSE: agreed. 2: Rasmussen (a member of NATO,
  // but not NATO itself) supports, rated FALSE: not NATO's. 3: NATO
  // supports, rated FALSE: disagreed. 4: NATO refutes, rated HALF_TRUE:
  // rated, no side. 5: NATO supports, no verdict. 6: NATO refuted, then
  // withdrawn: not counted.
  for (const char* id : {"c1", "c2", "c3", "c4", "c5", "c6"})
    desk.Must(Claim(id));
  desk.Must(Evidence("c1", v1::STANCE_REFUTES, "NATO"));
  desk.Must(Verdict("c1", v1::RATING_FALSE));
  desk.Must(Evidence("c2", v1::STANCE_SUPPORTS, "Anders Fogh Rasmussen"));
  desk.Must(Verdict("c2", v1::RATING_FALSE));
  desk.Must(Evidence("c3", v1::STANCE_SUPPORTS, "nato"));
  desk.Must(Verdict("c3", v1::RATING_FALSE));
  desk.Must(Evidence("c4", v1::STANCE_REFUTES, "NATO"));
  desk.Must(Verdict("c4", v1::RATING_HALF_TRUE));
  desk.Must(Evidence("c5", v1::STANCE_SUPPORTS, "NATO"));
  desk.Must(Evidence("c6", v1::STANCE_REFUTES, "NATO"));
  v1::Command withdraw;
  withdraw.mutable_withdraw_evidence()->set_claim_id("c6");
  withdraw.mutable_withdraw_evidence()->set_evidence_id(
      desk.claim("c6").evidence(0).evidence_id());
  withdraw.mutable_withdraw_evidence()->set_reason("misquoted");
  desk.Must(withdraw);
  const v1::SourceTrackRecord nato = domain::TrackRecord("nato", desk.claims());
  EXPECT_EQ(nato.supported(), 2u);  // c3, c5
  EXPECT_EQ(nato.refuted(), 2u);    // c1, c4
  EXPECT_EQ(nato.rated(), 3u);      // c1, c3, c4
  EXPECT_EQ(nato.agreed(), 1u);     // c1
  EXPECT_EQ(nato.disagreed(), 1u);  // c3
  const v1::SourceTrackRecord rasmussen =
      domain::TrackRecord("rasmussen", desk.claims());
  EXPECT_EQ(rasmussen.supported(), 1u);
  EXPECT_EQ(rasmussen.disagreed(), 1u);
}

TEST(SourcesSuggest, GroupsCaseSpacingAndTheOrganisationBeforeParentheses) {
  EXPECT_THAT(
      domain::SuggestSameSources(
          {"NATO", "nato ", "NATO (Anders Fogh Rasmussen)",
           "White House (Jay Carney)", "Reuters", "white  house", "Kremlin"}),
      ElementsAre(ElementsAre("NATO", "NATO (Anders Fogh Rasmussen)", "nato "),
                  ElementsAre("White House (Jay Carney)", "white  house")));
}

// ---- Bad input: the field named, nothing decided
// --------------------------------

void ExpectRefused(Desk& desk, const v1::Command& command,
                   absl::StatusCode code, const std::string& field) {
  const size_t logged = desk.log().size();
  absl::StatusOr<domain::Decision> d = desk.Apply(command);
  ASSERT_FALSE(d.ok()) << command.DebugString();
  EXPECT_EQ(d.status().code(), code) << d.status();
  EXPECT_THAT(std::string(d.status().message()), StartsWith(field + ": "));
  EXPECT_EQ(desk.log().size(), logged);
}

TEST(SourcesBadInput, RefusedNamingTheField) {
  Desk desk;
  RegisterDemoSources(desk);
  desk.Must(Organisation("eu", "European Union"));
  desk.Must(Organisation("eeas", "EEAS", "eu"));
  // Affiliation cycles, directly and through a chain.
  ExpectRefused(desk, Affiliate("eu", "eeas"),
                absl::StatusCode::kInvalidArgument, "parent_id");
  ExpectRefused(desk, Affiliate("nato", "nato"),
                absl::StatusCode::kInvalidArgument, "parent_id");
  // Unknown parents, and parents that are not organisations.
  ExpectRefused(desk, Register("x", "X", v1::SOURCE_KIND_PERSON, "nowhere"),
                absl::StatusCode::kNotFound, "parent_id");
  ExpectRefused(desk, Affiliate("nato", "carney"),
                absl::StatusCode::kInvalidArgument, "parent_id");
  // Alias and name clashes, whatever the case and spacing.
  ExpectRefused(desk, Alias("carney", "nato"), absl::StatusCode::kAlreadyExists,
                "alias");
  ExpectRefused(desk, Alias("carney", " White  House (jay carney)"),
                absl::StatusCode::kAlreadyExists, "alias");
  ExpectRefused(desk, Organisation("nato-2", "Nato"),
                absl::StatusCode::kAlreadyExists, "name");
  ExpectRefused(desk, Organisation("nato", "North Atlantic Treaty"),
                absl::StatusCode::kAlreadyExists, "source_id");
  // Kinds, grades, reasons, policies, credibility.
  ExpectRefused(desk, Register("y", "Y", v1::SOURCE_KIND_UNSPECIFIED),
                absl::StatusCode::kInvalidArgument, "kind");
  ExpectRefused(desk, Register("y", "Y", static_cast<v1::SourceKind>(42)),
                absl::StatusCode::kInvalidArgument, "kind");
  ExpectRefused(desk, Grade("nato", static_cast<v1::SourceGrade>(9)),
                absl::StatusCode::kInvalidArgument, "grade");
  ExpectRefused(desk, Grade("nato", v1::SOURCE_GRADE_A, ""),
                absl::StatusCode::kInvalidArgument, "reason");
  ExpectRefused(desk, Grade("nobody", v1::SOURCE_GRADE_A),
                absl::StatusCode::kNotFound, "source_id");
  ExpectRefused(desk, Policy(0), absl::StatusCode::kInvalidArgument,
                "min_independent_sources");
  desk.Must(Claim("c"));
  ExpectRefused(desk, Evidence("c", v1::STANCE_REFUTES, "NATO", 7),
                absl::StatusCode::kInvalidArgument, "credibility");
  v1::Command unknown = Evidence("c", v1::STANCE_REFUTES, "");
  unknown.mutable_add_evidence()->mutable_source()->set_source_id("nobody");
  ExpectRefused(desk, unknown, absl::StatusCode::kNotFound, "source.source_id");
  v1::Command version = Alias("nato", "North Atlantic Treaty Organization");
  version.mutable_add_source_alias()->set_expected_version(7);
  ExpectRefused(desk, version, absl::StatusCode::kAborted, "expected_version");
}

// ---- Through a store and a writer
// ------------------------------------------------

class SourcesStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_ = testing::OpenStoreOrDie(dir_.path());
    writer_ = core::Writer::Start(store_.get(), {});
  }
  void Close() {
    writer_.reset();
    store_.reset();
  }
  absl::StatusOr<v1::CommandResponse> Apply(
      v1::Command command, const std::string& request_id = "") {
    if (!request_id.empty()) {
      // Every command type carries request_id as a string field.
      const auto* field = command.GetReflection()->GetOneofFieldDescriptor(
          command, command.GetDescriptor()->oneof_decl(0));
      google::protobuf::Message* inner =
          command.GetReflection()->MutableMessage(&command, field);
      inner->GetReflection()->SetString(
          inner, inner->GetDescriptor()->FindFieldByName("request_id"),
          request_id);
    }
    return testing::ApplySync(*writer_, std::move(command), "editor");
  }
  void Must(v1::Command command) {
    absl::StatusOr<v1::CommandResponse> r = Apply(command);
    ASSERT_TRUE(r.ok()) << r.status() << " for " << command.DebugString();
  }
  std::map<std::string, std::string> Registry() {
    std::map<std::string, std::string> out;
    store_->Sources()->ForEachAfter("", [&](const v1::SourceView& v) {
      out[v.source_id()] = v.SerializeAsString();
      return true;
    });
    out["(policy)"] = store_->Sources()->policy().SerializeAsString();
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<core::Writer> writer_;
};

TEST_F(SourcesStoreTest, LiveEqualsRebuildAndReopenAndVerifiesClean) {
  for (v1::Command c :
       {Organisation("nato", "NATO"),
        Register("rasmussen", "Anders Fogh Rasmussen", v1::SOURCE_KIND_PERSON,
                 "nato"),
        Alias("rasmussen", "NATO (Anders Fogh Rasmussen)"),
        Organisation("white-house", "White House"),
        Register("carney", "Jay Carney", v1::SOURCE_KIND_PERSON),
        Grade("carney", v1::SOURCE_GRADE_C), Policy(2), Claim("withdrawal"),
        Evidence("withdrawal", v1::STANCE_REFUTES,
                 "NATO (Anders Fogh Rasmussen)", 2),
        Evidence("withdrawal", v1::STANCE_REFUTES, "NATO"),
        Evidence("withdrawal", v1::STANCE_REFUTES, "White House (Jay Carney)"),
        Affiliate("carney", "white-house"),
        Alias("carney", "White House (Jay Carney)"), Reattribute("withdrawal"),
        Verdict("withdrawal", v1::RATING_FALSE)}) {
    Must(c);
  }
  // A source registered without an id gets one; its response carries it.
  absl::StatusOr<v1::CommandResponse> assigned =
      Apply(Register("", "Reuters", v1::SOURCE_KIND_PUBLICATION));
  ASSERT_TRUE(assigned.ok()) << assigned.status();
  EXPECT_THAT(assigned->source_id(), StartsWith("s-"));
  EXPECT_EQ(assigned->source().name(), "Reuters");

  absl::StatusOr<std::optional<v1::ClaimView>> live =
      store_->GetClaim("withdrawal");
  ASSERT_TRUE(live.ok() && live->has_value());
  ASSERT_EQ((*live)->evidence_size(), 3);
  EXPECT_EQ((*live)->evidence(2).attribution().organisation_id(),
            "white-house");
  const std::map<std::string, std::string> registry = Registry();
  EXPECT_EQ(registry.size(), 6u);  // five sources and the policy
  EXPECT_TRUE(testing::VerifiesClean(*store_));

  ASSERT_TRUE(store_->RebuildProjections().ok());
  EXPECT_TRUE(testing::VerifiesClean(*store_));
  EXPECT_EQ(Registry(), registry);
  absl::StatusOr<std::optional<v1::ClaimView>> rebuilt =
      store_->GetClaim("withdrawal");
  ASSERT_TRUE(rebuilt.ok() && rebuilt->has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(**live, **rebuilt));

  Close();
  Open();
  EXPECT_EQ(Registry(), registry);
  EXPECT_TRUE(testing::VerifiesClean(*store_));

  // The track record through the by_source index.
  core::ClaimQueries queries(store_.get(), {}, [] { return absl::Now(); });
  v1::GetSourceRequest get;
  get.set_source_id("nato");
  absl::StatusOr<v1::GetSourceResponse> nato = queries.GetSource(get);
  ASSERT_TRUE(nato.ok()) << nato.status();
  EXPECT_EQ(nato->track_record().refuted(), 1u);
  EXPECT_EQ(nato->track_record().agreed(), 1u);
  EXPECT_THAT(nato->member_ids(), ElementsAre("rasmussen"));
  get.set_source_id("carney");
  absl::StatusOr<v1::GetSourceResponse> carney = queries.GetSource(get);
  ASSERT_TRUE(carney.ok()) << carney.status();
  EXPECT_EQ(carney->organisation_name(), "White House");
  EXPECT_EQ(carney->track_record().rated(), 1u);
  v1::ListSourcesRequest list;
  list.set_page_size(2);
  absl::StatusOr<v1::ListSourcesResponse> page = queries.ListSources(list);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->sources_size(), 2);
  EXPECT_EQ(page->policy().policy().min_independent_sources(), 2u);
  EXPECT_FALSE(page->next_page_token().empty());
}

TEST_F(SourcesStoreTest, RequestIdsDeduplicateAndBadInputAppendsNothing) {
  absl::StatusOr<v1::CommandResponse> first =
      Apply(Organisation("nato", "NATO"), "req-nato");
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t last = store_->LastPosition();
  absl::StatusOr<v1::CommandResponse> again =
      Apply(Organisation("nato", "NATO"), "req-nato");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->deduplicated());
  EXPECT_EQ(again->source_id(), "nato");
  EXPECT_EQ(store_->LastPosition(), last);
  Must(Organisation("eu", "European Union", "nato"));
  const uint64_t before = store_->LastPosition();
  for (const v1::Command& bad :
       {Affiliate("nato", "eu"), Alias("eu", "NATO"),
        Register("p", "P", v1::SOURCE_KIND_PERSON, "nowhere")}) {
    EXPECT_FALSE(Apply(bad).ok()) << bad.DebugString();
  }
  EXPECT_EQ(store_->LastPosition(), before);
  EXPECT_TRUE(testing::VerifiesClean(*store_));
}

// What a schema 5 factlogd left: no sources families. Its free-text
// evidence stays valid and readable, the registry starts empty, and its
// claims can be re-attributed once their sources are registered.
TEST_F(SourcesStoreTest, ASchema5StoreMigratesWithItsEvidenceAsItWas) {
  Must(Claim("old"));
  Must(Evidence("old", v1::STANCE_REFUTES, "NATO"));
  Close();
  testing::WithRawRocksDb(dir_.path(), [](rocksdb::DB* db, auto families) {
    ASSERT_TRUE(db->DropColumnFamily(families.at("sources")).ok());
    ASSERT_TRUE(db->DropColumnFamily(families.at("by_source")).ok());
    testing::SetSchemaVersion(db, families, 5);
  });
  Open();
  EXPECT_EQ(store_->Sources()->size(), 0u);
  EXPECT_TRUE(testing::VerifiesClean(*store_));
  absl::StatusOr<std::optional<v1::ClaimView>> old = store_->GetClaim("old");
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->evidence(0).source().name(), "NATO");
  EXPECT_FALSE((*old)->evidence(0).has_attribution());
  EXPECT_EQ((*old)->status(), v1::CLAIM_STATUS_CONTRADICTED);
  Must(Organisation("nato", "NATO"));
  Must(Reattribute("old"));
  EXPECT_TRUE(testing::VerifiesClean(*store_));
  Close();
  EXPECT_EQ(testing::StoredSchemaVersion(dir_.path()),
            storage::keys::kCurrentSchemaVersion);
  Open();
}

}  // namespace
}  // namespace factlog
