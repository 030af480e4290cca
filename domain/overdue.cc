#include "domain/overdue.h"

#include "domain/time_util.h"
#include "domain/validation.h"

namespace factlog::domain {

bool OverdueCursor::Covers(absl::Time overdue_at,
                           absl::string_view notice_claim_id) const {
  if (overdue_at != at) return overdue_at < at;
  return claim_id.empty() || notice_claim_id <= claim_id;
}

bool operator<(const OverdueCursor& a, const OverdueCursor& b) {
  if (a.at != b.at) return a.at < b.at;
  if (a.claim_id.empty() || b.claim_id.empty()) {
    return !a.claim_id.empty() && b.claim_id.empty();
  }
  return a.claim_id < b.claim_id;
}

OverdueCursor CursorFromProto(const v1::OverdueCursor& cursor) {
  OverdueCursor out;
  if (cursor.has_at()) out.at = FromProto(cursor.at());
  out.claim_id = cursor.claim_id();
  return out;
}

v1::OverdueCursor CursorToProto(const OverdueCursor& cursor) {
  v1::OverdueCursor out;
  if (cursor.at != absl::InfinitePast()) *out.mutable_at() = ToProto(cursor.at);
  out.set_claim_id(cursor.claim_id);
  return out;
}

absl::Status ValidateOverdueOptions(const v1::OverdueOptions& options,
                                    const Limits& limits) {
  if (!options.notify()) {
    if (options.only()) {
      return absl::InvalidArgumentError(
          "overdue.only: needs overdue.notify (only notices, but no notices "
          "asked for)");
    }
    if (options.has_after()) {
      return absl::InvalidArgumentError("overdue.after: needs overdue.notify");
    }
    return absl::OkStatus();
  }
  if (!options.has_after()) return absl::OkStatus();
  const v1::OverdueCursor& after = options.after();
  // google.protobuf.Timestamp's range: 0001-01-01 to 9999-12-31.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  if (after.has_at() &&
      (after.at().seconds() < kMinSeconds ||
       after.at().seconds() > kMaxSeconds || after.at().nanos() < 0 ||
       after.at().nanos() > 999999999)) {
    return absl::InvalidArgumentError(
        "overdue.after.at: not a valid timestamp");
  }
  if (!after.claim_id().empty()) {
    return ValidateSlug("overdue.after.claim_id", after.claim_id(), limits);
  }
  return absl::OkStatus();
}

bool MatchesClaim(const v1::EventFilter& filter, const v1::ClaimView& view) {
  if (!filter.claim_id().empty() && filter.claim_id() != view.claim_id()) {
    return false;
  }
  if (!filter.subject().empty() && filter.subject() != view.subject()) {
    return false;
  }
  return filter.claimant().empty() || filter.claimant() == view.claimant();
}

}  // namespace factlog::domain
