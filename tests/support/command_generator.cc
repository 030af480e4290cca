#include "tests/support/command_generator.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace factlog::testing {

int CommandGenerator::Uniform(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng_);
}

// Long past (overdue at once) or far ahead.
google::protobuf::Timestamp CommandGenerator::DueAt() {
  google::protobuf::Timestamp t;
  t.set_seconds(Uniform(0, 1) ? 1400000000 + Uniform(0, 1000000)
                              : 7000000000LL + Uniform(0, 1000000));
  return t;
}

v1::Command CommandGenerator::Next() {
  v1::Command c;
  const int pick = Uniform(0, 99);
  if (claims_.empty() || pick < 20) {
    const std::string id = absl::StrCat("claim-", claims_.size());
    claims_.push_back(id);
    v1::RecordClaimRequest r = NewClaim(id);
    static const v1::ClaimKind kKinds[] = {
        v1::CLAIM_KIND_FACT, v1::CLAIM_KIND_PROMISE, v1::CLAIM_KIND_PROMISE,
        v1::CLAIM_KIND_PREDICTION, v1::CLAIM_KIND_STATISTIC};
    r.set_kind(kKinds[Uniform(0, 4)]);
    const bool dated = r.kind() == v1::CLAIM_KIND_PROMISE ||
                       r.kind() == v1::CLAIM_KIND_PREDICTION;
    if (dated && Uniform(0, 2) > 0) *r.mutable_due_at() = DueAt();
    r.set_subject(absl::StrCat("subject-", Uniform(0, 6)));
    r.set_claimant(absl::StrCat("Claimant ", Uniform(0, 4)));
    for (int t = Uniform(0, 3); t > 0; --t) {
      r.add_tags(absl::StrCat("tag-", t));
    }
    *c.mutable_record_claim() = r;
    return c;
  }
  const std::string& id = claims_[Uniform(0, claims_.size() - 1)];
  if (pick < 55) {
    static const v1::Stance kStances[] = {
        v1::STANCE_SUPPORTS, v1::STANCE_REFUTES, v1::STANCE_CONTEXT};
    // One source, spelled as different reporters would.
    static const char* const kSpellings[] = {"Source %d", "source %d",
                                             "  SOURCE %d "};
    const int source = Uniform(0, 5);
    std::string name = kSpellings[Uniform(0, 2)];
    name.replace(name.find("%d"), 2, std::to_string(source));
    *c.mutable_add_evidence() = NewEvidence(id, kStances[Uniform(0, 2)], name);
    // Stable ids so that withdrawals can find them.
    c.mutable_add_evidence()->set_evidence_id(absl::StrCat("e", Uniform(0, 8)));
  } else if (pick < 67) {
    auto* w = c.mutable_withdraw_evidence();
    w->set_claim_id(id);
    w->set_evidence_id(absl::StrCat("e", Uniform(0, 8)));
    w->set_reason("source withdrew it");
  } else if (pick < 77) {
    auto* v = c.mutable_issue_verdict();
    v->set_claim_id(id);
    v->set_rating(Uniform(0, 1) ? v1::RATING_FALSE : v1::RATING_BROKEN);
    v->set_summary("reviewed");
    v->set_reviewer("Desk");
  } else if (pick < 85) {
    auto* k = c.mutable_correct_claim();
    k->set_claim_id(id);
    k->set_subject(absl::StrCat("subject-", Uniform(0, 6)));
    if (Uniform(0, 1)) k->mutable_tags()->add_tags("corrected");
    // Due dates move or go (refused for facts, as they should be).
    const int due = Uniform(0, 5);
    if (due == 0) *k->mutable_due_at() = DueAt();
    if (due == 1) k->set_clear_due_at(true);
    k->set_reason("typo");
  } else if (pick < 90) {
    auto* r = c.mutable_retract_claim();
    r->set_claim_id(id);
    r->set_reason("published in error");
  } else if (pick < 96) {
    auto* l = c.mutable_link_claims();
    l->set_claim_id(id);
    l->set_other_claim_id(claims_[Uniform(0, claims_.size() - 1)]);
    l->set_relation(v1::LINK_RELATION_REPEATS);
  } else {
    // A stale expected_version or an unknown claim.
    *c.mutable_add_evidence() =
        NewEvidence(Uniform(0, 1) ? id : "no-such-claim", v1::STANCE_SUPPORTS,
                    "Late source");
    c.mutable_add_evidence()->set_expected_version(1000);
  }
  return c;
}

BurstOutcome SubmitInBursts(core::Writer& writer, CommandGenerator& generator,
                            int bursts, int burst_size) {
  // Shared with the callbacks, which may outlive a burst that timed out.
  struct Burst {
    absl::Mutex mu;
    int pending;
    int applied = 0;
    int refused = 0;
  };
  BurstOutcome outcome;
  for (int round = 0; round < bursts; ++round) {
    auto burst = std::make_shared<Burst>();
    burst->pending = burst_size;
    for (int i = 0; i < burst_size; ++i) {
      writer.Submit(generator.Next(), "prop",
                    [burst](absl::StatusOr<v1::CommandResponse> r) {
                      absl::MutexLock lock(&burst->mu);
                      (r.ok() ? burst->applied : burst->refused)++;
                      --burst->pending;
                    });
    }
    absl::MutexLock lock(&burst->mu);
    if (!burst->mu.AwaitWithTimeout(
            absl::Condition(
                +[](int* p) { return *p == 0; }, &burst->pending),
            absl::Seconds(60))) {
      ADD_FAILURE() << "burst " << round << ": " << burst->pending << " of "
                    << burst_size << " commands unanswered after 60 s";
      break;
    }
    outcome.applied += burst->applied;
    outcome.refused += burst->refused;
  }
  return outcome;
}

}  // namespace factlog::testing
