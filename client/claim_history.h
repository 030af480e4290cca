// Reading a claim's history (ClaimService.GetClaimHistory), which the server
// sends a page at a time, as one sequence of events in version order.
#ifndef FACTLOG_CLIENT_CLAIM_HISTORY_H_
#define FACTLOG_CLIENT_CLAIM_HISTORY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/connection.h"
#include "factlog/v1/events.pb.h"

namespace factlog::cli {

// Calls `visit` on every event of `claim_id`, oldest first, fetching the
// pages as they are needed. Stops at the first event for which `visit`
// returns an error and returns that error (no further page is fetched);
// returns OK after the last event. A refused call or an unreachable server
// throws CommandError, as Connection::Check() does.
absl::Status ForEachHistoryEvent(
    Connection& connection, const std::string& claim_id,
    const std::function<absl::Status(const factlog::v1::Event&)>& visit);

// Every event of `claim_id`, oldest first. Throws as ForEachHistoryEvent.
std::vector<factlog::v1::Event> FetchHistory(Connection& connection,
                                             const std::string& claim_id);

}  // namespace factlog::cli

#endif  // FACTLOG_CLIENT_CLAIM_HISTORY_H_
