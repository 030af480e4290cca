// The small, fixed state the command fuzzer decides against, and the events
// that produced it. It is built the way the server's writer builds state:
// commands go through domain::Decide, the envelope is filled in, and
// domain::Evolve projects the events. fuzz/make_corpus.cc aims its seeds at
// these claim ids so that fuzzing starts from commands that get past the
// lookups.
#ifndef FACTLOG_FUZZ_CLAIM_FIXTURE_H_
#define FACTLOG_FUZZ_CLAIM_FIXTURE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "domain/decider.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/service.pb.h"
#include "factlog/v1/views.pb.h"

namespace factlog::fuzz {

// A FACT at version 5 with one refuting source ("nato"), one withdrawn
// supporting one and an outgoing REPEATS link to kPromiseClaim. The withdrawn
// evidence has the id the server would assign next (kTakenEvidenceId), so an
// AddEvidence without id has to pick another.
inline constexpr char kFactClaim[] = "russia-withdrawal-started";
inline constexpr char kTakenEvidenceId[] = "ev6";
// A PROMISE due 2014-06-01, no evidence, the incoming end of that link.
inline constexpr char kPromiseClaim[] = "putin-orders-troops-back";
// A STATISTIC that was retracted.
inline constexpr char kRetractedClaim[] = "ukraine-24-killed";
// A PREDICTION with a verdict.
inline constexpr char kRatedClaim[] = "troops-home-by-june";
// Looking this claim up fails with UNAVAILABLE, like an unreadable store.
inline constexpr char kUnreadableClaim[] = "unreadable-claim";
// What a RecordClaim without claim_id gets.
inline constexpr char kAssignedClaimId[] = "c-000000000099";

// The server clock of the fixture: 2014-05-20T00:00:00Z.
absl::Time FixtureNow();

// The context Decide runs with: FixtureNow(), kAssignedClaimId, default
// limits.
domain::DecideContext FixtureContext();

// The commands that build the fixture, in order; all are accepted.
std::vector<v1::Command> FixtureCommands();

// The events those commands cause, positions 1..n, envelope filled in.
// Aborts if the domain refuses one of FixtureCommands().
std::vector<v1::Event> FixtureEvents();

// The claims FixtureEvents() project to, by claim id.
using Claims = std::map<std::string, v1::ClaimView>;
Claims FixtureClaims();

// A ClaimLookup over `claims` (which must outlive it) that fails for
// kUnreadableClaim.
domain::ClaimLookup LookupIn(const Claims& claims);

// Fills in what the writer adds to a decided event: position, event_id,
// recorded_at (`now`), actor and request_id.
void FillEnvelope(uint64_t position, absl::Time now,
                  const std::string& request_id, v1::Event* event);

}  // namespace factlog::fuzz

#endif  // FACTLOG_FUZZ_CLAIM_FIXTURE_H_
