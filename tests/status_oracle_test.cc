// A second, independent oracle for the status rules: a small reference
// model written from the rules table (docs/ARCHITECTURE.md, "Status
// rules"), folded over the log that random command streams left, compared
// with what the real projection stores (status, distinct sources, rating)
// and what reads present. It calls neither domain::Evolve nor the functions
// of domain/status.h, so a rule that is wrong the same way in the live
// path, the rebuild and --verify (which all share them) shows here.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/claim_queries.h"
#include "core/writer.h"
#include "gtest/gtest.h"
#include "storage/event_store.h"
#include "tests/support/command_generator.h"
#include "tests/support/test_support.h"

namespace factlog {
namespace {

// The identity sources are counted under: the trimmed, case-insensitive
// name (rule 3).
std::string SourceIdentity(const std::string& name) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  auto begin = std::find_if_not(name.begin(), name.end(), space);
  auto end = std::find_if_not(name.rbegin(), name.rend(), space).base();
  std::string key(begin, begin < end ? end : begin);
  for (char& c : key) c = std::tolower(static_cast<unsigned char>(c));
  return key;
}

// What the rules need to know of one claim.
struct ModelClaim {
  struct Evidence {
    v1::Stance stance = v1::STANCE_UNSPECIFIED;
    std::string source;  // SourceIdentity of the name
    bool withdrawn = false;
  };
  v1::ClaimKind kind = v1::CLAIM_KIND_UNSPECIFIED;
  bool has_due = false;
  int64_t due_seconds = 0;
  bool retracted = false;
  bool rated = false;
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  std::map<std::string, Evidence> evidence;  // by evidence id

  void Apply(const v1::Event& e) {
    switch (e.payload_case()) {
      case v1::Event::kClaimRecorded:
        kind = e.claim_recorded().kind();
        has_due = e.claim_recorded().has_due_at();
        due_seconds = e.claim_recorded().due_at().seconds();
        break;
      case v1::Event::kEvidenceAdded:
        evidence[e.evidence_added().evidence_id()] = {
            e.evidence_added().stance(),
            SourceIdentity(e.evidence_added().source().name()), false};
        break;
      case v1::Event::kEvidenceWithdrawn:
        evidence[e.evidence_withdrawn().evidence_id()].withdrawn = true;
        break;
      case v1::Event::kVerdictIssued:
        rated = true;
        rating = e.verdict_issued().rating();
        break;
      case v1::Event::kClaimCorrected:
        if (e.claim_corrected().has_due_at()) {
          has_due = true;
          due_seconds = e.claim_corrected().due_at().seconds();
        }
        if (e.claim_corrected().due_at_cleared()) has_due = false;
        break;
      case v1::Event::kClaimRetracted:
        retracted = true;
        break;
      default:  // links do not bear on status
        break;
    }
  }

  // Distinct sources among the evidence not withdrawn, with `stance`.
  size_t Sources(v1::Stance stance) const {
    std::set<std::string> sources;
    for (const auto& [id, e] : evidence) {
      if (!e.withdrawn && e.stance == stance) sources.insert(e.source);
    }
    return sources.size();
  }

  // Rules 1-3.
  v1::ClaimStatus Stored() const {
    if (retracted) return v1::CLAIM_STATUS_RETRACTED;
    if (rated) return v1::CLAIM_STATUS_RATED;
    const bool supported = Sources(v1::STANCE_SUPPORTS) > 0;
    const bool refuted = Sources(v1::STANCE_REFUTES) > 0;
    if (supported && refuted) return v1::CLAIM_STATUS_DISPUTED;
    if (supported) return v1::CLAIM_STATUS_SUPPORTED;
    if (refuted) return v1::CLAIM_STATUS_CONTRADICTED;
    return v1::CLAIM_STATUS_UNVERIFIED;
  }

  // Rule 4 on top, at `now_seconds`.
  v1::ClaimStatus ReadAt(int64_t now_seconds) const {
    const bool dated =
        kind == v1::CLAIM_KIND_PROMISE || kind == v1::CLAIM_KIND_PREDICTION;
    if (dated && has_due && due_seconds < now_seconds && !retracted && !rated &&
        Sources(v1::STANCE_SUPPORTS) == 0) {
      return v1::CLAIM_STATUS_OVERDUE;
    }
    return Stored();
  }
};

TEST(StatusOracleTest, ProjectionAgreesWithTheRulesTableOnRandomCommands) {
  std::set<v1::ClaimStatus> seen;
  // The seeds of
  // EventStoreTest.RebuildEqualsLiveProjectionsAfterRandomCommands.
  for (uint32_t seed : {1u, 7u, 2014u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    testing::TempDir dir;
    absl::StatusOr<std::unique_ptr<storage::EventStore>> store =
        storage::EventStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status();
    testing::CommandGenerator generator(seed);
    {
      auto writer = core::Writer::Start(store->get(), {});
      const testing::BurstOutcome outcome =
          testing::SubmitInBursts(*writer, generator, 30, 100);
      EXPECT_GT(outcome.applied, 1500);
    }
    std::map<std::string, ModelClaim> model;
    for (const v1::Event& e : testing::StoredEvents(**store)) {
      model[e.claim_id()].Apply(e);
    }
    // Due dates lie years away from now, so that the clock cannot move
    // a claim across one during the test.
    const absl::Time now = absl::Now();
    core::ClaimQueries queries(store->get(), domain::Limits(),
                               [now] { return now; });
    size_t checked = 0;
    for (const auto& [id, claim] : model) {
      SCOPED_TRACE(id);
      auto stored = (*store)->GetClaim(id);
      ASSERT_TRUE(stored.ok() && stored->has_value()) << stored.status();
      EXPECT_EQ(v1::ClaimStatus_Name((*stored)->status()),
                v1::ClaimStatus_Name(claim.Stored()));
      // Rule 3 counts distinct sources: the view lists them.
      EXPECT_EQ((*stored)->supporting_sources_size(),
                claim.Sources(v1::STANCE_SUPPORTS));
      EXPECT_EQ((*stored)->refuting_sources_size(),
                claim.Sources(v1::STANCE_REFUTES));
      EXPECT_EQ((*stored)->has_verdict(), claim.rated);
      EXPECT_EQ(v1::Rating_Name((*stored)->verdict().rating()),
                v1::Rating_Name(claim.rating));
      v1::GetClaimRequest request;
      request.set_claim_id(id);
      absl::StatusOr<v1::ClaimView> read = queries.GetClaim(request);
      ASSERT_TRUE(read.ok()) << read.status();
      const v1::ClaimStatus expected = claim.ReadAt(absl::ToUnixSeconds(now));
      EXPECT_EQ(v1::ClaimStatus_Name(read->status()),
                v1::ClaimStatus_Name(expected));
      seen.insert(expected);
      ++checked;
    }
    EXPECT_GT(checked, 300u);
  }
  // Every rule decided some claim.
  for (v1::ClaimStatus status :
       {v1::CLAIM_STATUS_UNVERIFIED, v1::CLAIM_STATUS_SUPPORTED,
        v1::CLAIM_STATUS_CONTRADICTED, v1::CLAIM_STATUS_DISPUTED,
        v1::CLAIM_STATUS_RATED, v1::CLAIM_STATUS_RETRACTED,
        v1::CLAIM_STATUS_OVERDUE}) {
    EXPECT_TRUE(seen.count(status)) << v1::ClaimStatus_Name(status);
  }
}

// The model's source identity, on the spellings the rules name.
TEST(StatusOracleTest, SourceIdentityTrimsAndIgnoresCase) {
  EXPECT_EQ(SourceIdentity("  NATO \t"), "nato");
  EXPECT_EQ(SourceIdentity("Nato"), "nato");
  EXPECT_EQ(SourceIdentity("   "), "");
}

}  // namespace
}  // namespace factlog
