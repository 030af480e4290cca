// Fuzz target: domain::Evolve over arbitrary event sequences. The bytes are a
// factlog.v1.GetClaimHistoryResponse, i.e. a repeated factlog.v1.Event, the
// shape a claim's history has on the wire. Its events are evolved in order
// into one view whatever they hold: a second ClaimRecorded, unknown evidence
// ids, version gaps, events of other claims. Evolve promises never to fail,
// so this checks that after every event
//  - version and last_position are the event's; status is a stored status
//    (never UNSPECIFIED or OVERDUE) equal to StoredStatus; the source lists
//    hold one name per distinct SourceKey of the evidence not withdrawn with
//    that stance; once retracted, a claim stays RETRACTED;
//  - EffectiveStatus at any instant (the infinite past and future, the
//    view's own times) is defined and differs from the stored status only by
//    being OVERDUE, for a PROMISE or PREDICTION with a due_at; PresentAt
//    agrees; the times print; overdue_at is set exactly while the claim is
//    OverdueEligible, and never before its due_at;
//  - the event passes a filter made of its own claim id, subject, claimant
//    and type;
// and at the end that the view survives its storage encoding and replaying
// the same events gives the same view.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "domain/event_filter.h"
#include "domain/evolve.h"
#include "domain/status.h"
#include "domain/time_util.h"
#include "factlog/v1/service.pb.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"

namespace factlog::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;

bool IsStoredStatus(v1::ClaimStatus s) {
  return s != v1::CLAIM_STATUS_UNSPECIFIED && s != v1::CLAIM_STATUS_OVERDUE &&
         v1::ClaimStatus_IsValid(s);
}

// Distinct SourceKeys among evidence not withdrawn with `stance`.
std::set<std::string> SourceKeys(const v1::ClaimView& view, v1::Stance stance) {
  std::set<std::string> keys;
  for (const v1::EvidenceView& e : view.evidence()) {
    if (!e.withdrawn() && e.stance() == stance) {
      keys.insert(domain::SourceKey(e.source().name()));
    }
  }
  return keys;
}

void CheckSources(const google::protobuf::RepeatedPtrField<std::string>& names,
                  const std::set<std::string>& expected,
                  const std::string& where) {
  std::set<std::string> seen;
  for (const std::string& name : names) {
    FUZZ_CHECK(seen.insert(domain::SourceKey(name)).second,
               "source counted twice: " + where);
  }
  FUZZ_CHECK(seen == expected, where);
}

void CheckEffectiveStatus(const v1::ClaimView& view, absl::Time now,
                          const std::string& where) {
  const v1::ClaimStatus stored = domain::StoredStatus(view);
  const v1::ClaimStatus effective = domain::EffectiveStatus(view, now);
  FUZZ_CHECK(v1::ClaimStatus_IsValid(effective), where);
  if (effective != stored) {
    FUZZ_CHECK(effective == v1::CLAIM_STATUS_OVERDUE, where);
    FUZZ_CHECK(stored == v1::CLAIM_STATUS_UNVERIFIED ||
                   stored == v1::CLAIM_STATUS_CONTRADICTED,
               where);
    FUZZ_CHECK(view.kind() == v1::CLAIM_KIND_PROMISE ||
                   view.kind() == v1::CLAIM_KIND_PREDICTION,
               where);
    FUZZ_CHECK(view.has_due_at(), where);
  }
  v1::ClaimView presented = view;
  domain::PresentAt(now, &presented);
  FUZZ_CHECK(presented.status() == effective, where);
}

void CheckAfter(const v1::Event& event, const v1::ClaimView& view,
                bool was_retracted) {
  const std::string where = view.ShortDebugString();
  FUZZ_CHECK(view.version() == event.version(), where);
  FUZZ_CHECK(view.last_position() == event.position(), where);
  FUZZ_CHECK(IsStoredStatus(view.status()), where);
  FUZZ_CHECK(view.status() == domain::StoredStatus(view), where);
  if (was_retracted) {
    FUZZ_CHECK(view.status() == v1::CLAIM_STATUS_RETRACTED, where);
  }
  CheckSources(view.supporting_sources(), SourceKeys(view, v1::STANCE_SUPPORTS),
               where);
  CheckSources(view.refuting_sources(), SourceKeys(view, v1::STANCE_REFUTES),
               where);

  FUZZ_CHECK(view.has_overdue_at() == domain::OverdueEligible(view), where);
  if (view.has_overdue_at()) {
    FUZZ_CHECK(domain::FromProto(view.overdue_at()) >=
                   domain::FromProto(view.due_at()),
               where);
  }

  const absl::Time due = domain::FromProto(view.due_at());
  for (absl::Time now :
       {absl::InfinitePast(), absl::InfiniteFuture(), absl::UnixEpoch(), due,
        due + absl::Nanoseconds(1), domain::FromProto(view.updated_at())}) {
    CheckEffectiveStatus(view, now, where);
    domain::Rfc3339(now);
  }

  v1::EventFilter own;
  own.set_claim_id(event.claim_id());
  own.set_subject(event.subject());
  own.set_claimant(event.claimant());
  own.add_types(domain::TypeOf(event));
  FUZZ_CHECK(domain::Matches(own, event), event.ShortDebugString());
}

v1::ClaimView Replay(const v1::GetClaimHistoryResponse& history, bool check) {
  v1::ClaimView view;
  for (const v1::Event& event : history.events()) {
    const bool was_retracted = view.retracted();
    domain::Evolve(event, &view);
    if (check) CheckAfter(event, view, was_retracted);
  }
  return view;
}

}  // namespace
}  // namespace factlog::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Rejected inputs (bad UTF-8 in a string) are routine here; keep protobuf's
  // complaints about them off stderr.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  factlog::v1::GetClaimHistoryResponse history;
  if (!history.ParseFromArray(data, static_cast<int>(size))) return 0;
  const factlog::v1::ClaimView view =
      factlog::fuzz::Replay(history, /*check=*/true);
  factlog::v1::ClaimView reread;
  FUZZ_CHECK(reread.ParseFromString(view.SerializeAsString()),
             view.ShortDebugString());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(
                 view, factlog::fuzz::Replay(history, /*check=*/false)),
             "replaying the same events gives the same view");
  return 0;
}
