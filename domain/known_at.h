#ifndef FACTLOG_DOMAIN_KNOWN_AT_H_
#define FACTLOG_DOMAIN_KNOWN_AT_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "factlog/v1/events.pb.h"
#include "factlog/v1/views.pb.h"

// "What was known when": a claim as the evidence observed up to a time T
// implies (docs/ARCHITECTURE.md, "Two clocks"). The log carries two clocks:
// when something happened in the world (a claim's asserted_at, a piece of
// evidence's observed_at: valid time) and when the log recorded it
// (recorded_at and position). These functions select a claim's events by
// valid time and replay them with the same Evolve as every other read, so
// no status rule exists twice. Pure and thread-compatible.
namespace factlog::domain {

// When an event starts to count for "known at" queries.
struct KnownFrom {
  absl::Time at;
  // True for ClaimRecorded without asserted_at and EvidenceAdded without
  // observed_at: the event has no valid time and counts from recorded_at.
  // Every other event (withdrawals, verdicts, corrections, retractions,
  // links) is an act of the desk that takes effect when recorded.
  bool placed_by_recorded_time = false;
};
KnownFrom KnownFromTime(const v1::Event& event);

// Replays one claim's events, fed in version order, keeping those that
// count at `known_at`. A claim whose ClaimRecorded counts only after
// `known_at` does not exist then, and nothing after it counts either.
class KnownAtReplay {
 public:
  explicit KnownAtReplay(absl::Time known_at) : known_at_(known_at) {}

  void Add(const v1::Event& event);

  // False while no ClaimRecorded that counts at known_at has been added.
  bool exists() const { return exists_; }
  // The claim as known at known_at, with its stored status (call
  // PresentAt(known_at, ...) for what a reader sees then). Meaningful only
  // when exists().
  const v1::ClaimView& view() const { return view_; }
  v1::ClaimView& mutable_view() { return view_; }
  // Evidence items among the counted events that were placed by their
  // recorded time (no observed_at).
  uint32_t evidence_placed_by_recorded_time() const { return placed_; }
  // Events seen but not counted (later in valid time than known_at).
  uint32_t events_not_yet_known() const { return skipped_; }
  // When the claim counts from (its asserted_at, or its recorded_at without
  // one), once its ClaimRecorded was added; the infinite future before.
  absl::Time claim_counts_from() const { return claim_from_; }

 private:
  const absl::Time known_at_;
  bool exists_ = false;
  bool asserted_late_ = false;
  absl::Time claim_from_ = absl::InfiniteFuture();
  v1::ClaimView view_;
  uint32_t placed_ = 0;
  uint32_t skipped_ = 0;
};

// One step of a claim's story in valid time: from `from` on (until the next
// step), the claim as known then had `status` (and `rating`, when RATED).
struct TimelineStep {
  absl::Time from;
  v1::ClaimStatus status = v1::CLAIM_STATUS_UNSPECIFIED;
  v1::Rating rating = v1::RATING_UNSPECIFIED;
  // The events whose valid time is `from`, in version order: what changed
  // the picture then.
  std::vector<const v1::Event*> causes;
};

// The claim's statuses over valid time, from its events in version order:
// one step per instant at which the status or rating as known then changes,
// starting with the instant the claim counts from. OVERDUE is included: a
// PROMISE or PREDICTION whose due_at passes while it is eligible gets a step
// at due_at (with no causes). `events` must outlive the result.
std::vector<TimelineStep> Timeline(const std::vector<v1::Event>& events);

}  // namespace factlog::domain

#endif  // FACTLOG_DOMAIN_KNOWN_AT_H_
