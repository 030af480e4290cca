#include "client/claim_history.h"

namespace factlog::cli {

namespace v1 = factlog::v1;

absl::Status ForEachHistoryEvent(
    Connection& connection, const std::string& claim_id,
    const std::function<absl::Status(const v1::Event&)>& visit) {
  v1::GetClaimHistoryRequest request;
  request.set_claim_id(claim_id);
  while (true) {
    const v1::GetClaimHistoryResponse page = connection.Call(
        connection.claims(), &v1::ClaimService::Stub::GetClaimHistory, request);
    for (const v1::Event& event : page.events()) {
      if (absl::Status s = visit(event); !s.ok()) return s;
    }
    if (page.next_version() == 0 ||
        page.next_version() <= request.from_version()) {
      return absl::OkStatus();
    }
    request.set_from_version(page.next_version());
  }
}

std::vector<v1::Event> FetchHistory(Connection& connection,
                                    const std::string& claim_id) {
  std::vector<v1::Event> events;
  // The visitor never fails, so neither does the walk.
  ForEachHistoryEvent(connection, claim_id, [&](const v1::Event& event) {
    events.push_back(event);
    return absl::OkStatus();
  }).IgnoreError();
  return events;
}

}  // namespace factlog::cli
