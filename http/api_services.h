#ifndef FACTLOG_HTTP_API_SERVICES_H_
#define FACTLOG_HTTP_API_SERVICES_H_

#include <cstddef>
#include <functional>

#include "absl/time/time.h"
#include "core/access.h"
#include "core/claim_queries.h"
#include "core/claim_search.h"
#include "core/hub.h"
#include "core/log_heads.h"
#include "core/writer.h"
#include "domain/limits.h"
#include "storage/event_store.h"

namespace factlog::http {

// What the web view answers from: the very objects the gRPC services use
// (docs/ARCHITECTURE.md, "Layers": http/ sits beside rpc/ over core/).
// Everything must outlive the web handler.
struct ApiServices {
  core::Writer* writer = nullptr;
  const core::ClaimQueries* queries = nullptr;
  const core::ClaimSearch* search = nullptr;
  const core::LogHeads* heads = nullptr;
  const storage::EventStore* store = nullptr;
  core::Hub* hub = nullptr;
  // Null: no authentication (as rpc::Authorizer).
  const core::TokenStore* tokens = nullptr;
  domain::Limits limits;
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Writer::SafeTime, for overdue notices on event streams.
  std::function<absl::Time()> safe_time;
  // The largest request body accepted (factlogd --max-message-bytes).
  size_t max_body_bytes = 4 << 20;
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_API_SERVICES_H_
