#include "fuzz/claim_fixture.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "domain/evolve.h"
#include "domain/time_util.h"

namespace factlog::fuzz {
namespace {

absl::Time Utc(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

v1::Command Record(const char* claim_id, v1::ClaimKind kind, const char* text) {
  v1::Command c;
  v1::RecordClaimRequest* r = c.mutable_record_claim();
  r->set_claim_id(claim_id);
  r->set_text(text);
  r->set_claimant("Vladimir Putin");
  r->mutable_reported_by()->set_name("Dmitry Peskov");
  r->mutable_reported_by()->set_outlet("CNN");
  r->set_subject("russia-troops-ukraine-border");
  r->set_kind(kind);
  *r->mutable_asserted_at() = domain::ToProto(Utc(2014, 5, 19));
  r->add_tags("russia");
  r->add_tags("ukraine");
  return c;
}

v1::Command Evidence(const char* claim_id, const char* evidence_id,
                     v1::Stance stance, const char* source) {
  v1::Command c;
  v1::AddEvidenceRequest* a = c.mutable_add_evidence();
  a->set_claim_id(claim_id);
  a->set_evidence_id(evidence_id);
  a->set_stance(stance);
  a->mutable_source()->set_name(source);
  a->mutable_source()->set_outlet("CNN");
  a->mutable_source()->set_url("https://edition.cnn.com/2014/05/19/world/");
  *a->mutable_observed_at() = domain::ToProto(Utc(2014, 5, 19));
  a->set_note("We haven't seen any withdrawal at all.");
  return c;
}

}  // namespace

absl::Time FixtureNow() { return Utc(2014, 5, 20); }

domain::DecideContext FixtureContext() {
  domain::DecideContext context;
  context.now = FixtureNow();
  context.assigned_claim_id = kAssignedClaimId;
  return context;
}

std::vector<v1::Command> FixtureCommands() {
  std::vector<v1::Command> commands;
  commands.push_back(
      Record(kFactClaim, v1::CLAIM_KIND_FACT,
             "The withdrawal of the Russian troops has started."));
  v1::Command promise =
      Record(kPromiseClaim, v1::CLAIM_KIND_PROMISE,
             "Putin has ordered the troops near the border back to bases.");
  *promise.mutable_record_claim()->mutable_due_at() =
      domain::ToProto(Utc(2014, 6, 1));
  commands.push_back(promise);
  commands.push_back(Record(kRetractedClaim, v1::CLAIM_KIND_STATISTIC,
                            "24 servicemen have been killed."));
  commands.push_back(Record(kRatedClaim, v1::CLAIM_KIND_PREDICTION,
                            "All troops will be home by June."));
  commands.push_back(Evidence(kFactClaim, "nato", v1::STANCE_REFUTES, "NATO"));
  commands.push_back(Evidence(kFactClaim, kTakenEvidenceId, v1::STANCE_SUPPORTS,
                              "Dmitry Peskov"));
  v1::Command withdraw;
  withdraw.mutable_withdraw_evidence()->set_claim_id(kFactClaim);
  withdraw.mutable_withdraw_evidence()->set_evidence_id(kTakenEvidenceId);
  withdraw.mutable_withdraw_evidence()->set_reason("A claimant is no source.");
  commands.push_back(withdraw);
  v1::Command link;
  link.mutable_link_claims()->set_claim_id(kFactClaim);
  link.mutable_link_claims()->set_other_claim_id(kPromiseClaim);
  link.mutable_link_claims()->set_relation(v1::LINK_RELATION_REPEATS);
  commands.push_back(link);
  v1::Command retract;
  retract.mutable_retract_claim()->set_claim_id(kRetractedClaim);
  retract.mutable_retract_claim()->set_reason("The figure was misreported.");
  commands.push_back(retract);
  v1::Command verdict;
  verdict.mutable_issue_verdict()->set_claim_id(kRatedClaim);
  verdict.mutable_issue_verdict()->set_rating(v1::RATING_MOSTLY_FALSE);
  verdict.mutable_issue_verdict()->set_summary("Most troops stayed.");
  verdict.mutable_issue_verdict()->set_reviewer("CNN fact check");
  commands.push_back(verdict);
  return commands;
}

void FillEnvelope(uint64_t position, absl::Time now,
                  const std::string& request_id, v1::Event* event) {
  event->set_position(position);
  event->set_event_id(absl::StrCat("00000000-0000-4000-8000-", position));
  *event->mutable_recorded_at() = domain::ToProto(now);
  event->set_actor("fuzz");
  event->set_request_id(request_id);
}

std::vector<v1::Event> FixtureEvents() {
  Claims claims;
  std::vector<v1::Event> log;
  const domain::DecideContext context = FixtureContext();
  for (const v1::Command& command : FixtureCommands()) {
    absl::StatusOr<domain::Decision> decision =
        domain::Decide(command, LookupIn(claims), context);
    if (!decision.ok()) {
      std::fprintf(stderr, "claim fixture: %s\n",
                   decision.status().ToString().c_str());
      std::abort();
    }
    for (v1::Event& event : decision->events) {
      FillEnvelope(log.size() + 1, context.now, "", &event);
      domain::Evolve(event, &claims[event.claim_id()]);
      log.push_back(std::move(event));
    }
  }
  return log;
}

Claims FixtureClaims() {
  Claims claims;
  for (const v1::Event& event : FixtureEvents()) {
    domain::Evolve(event, &claims[event.claim_id()]);
  }
  return claims;
}

domain::ClaimLookup LookupIn(const Claims& claims) {
  return
      [&claims](
          const std::string& claim_id) -> absl::StatusOr<const v1::ClaimView*> {
        if (claim_id == kUnreadableClaim) {
          return absl::UnavailableError("claims: injected read error");
        }
        auto it = claims.find(claim_id);
        return it == claims.end() ? nullptr : &it->second;
      };
}

}  // namespace factlog::fuzz
