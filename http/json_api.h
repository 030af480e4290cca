// The JSON API under /api/v1/ (README, "Web view"): the queries and
// commands of ClaimService and EventService over the same core/ objects
// the gRPC services call, each admitted with its RPC's role
// (rpc/methods.h), requests and responses in protobuf's proto3 JSON of the
// same messages (http/json_mapping.h), errors as
// {"code":"NOT_FOUND","message":...} with the HTTP status of
// http/http_status.h.
//
//   GET  claims                       ListClaims (query: its fields)
//   GET  claims/{claim_id}            GetClaim (asOfPosition, asOfTime,
//                                      knownAt)
//   GET  claims/{claim_id}/history    GetClaimHistory
//   GET  claims/{claim_id}/timeline   GetClaimTimeline
//   GET  claimants/{claimant}         GetClaimant
//   GET  subjects                     ListSubjects
//   GET  promises/overdue             ListClaims with status OVERDUE
//   GET  search                       SearchClaims
//   GET  log/head                     GetLogHead
//   GET  log/inclusion/{position}     GetInclusionProof (headPosition)
//   GET  events                       Subscribe as Server-Sent Events
//   GET  schema                       the descriptors of factlog.v1 (for
//                                      hashing events in the browser)
//   GET  session                      {"authRequired":..} and, with a valid
//                                      token, its principal and role
//   POST claims                       RecordClaim (JSON body)
//   POST claims/{claim_id}/evidence   AddEvidence
//   POST claims/{claim_id}/evidence/{evidence_id}/withdraw
//                                     WithdrawEvidence
//   POST claims/{claim_id}/verdict    IssueVerdict
//   POST claims/{claim_id}/correction CorrectClaim
//   POST claims/{claim_id}/retraction RetractClaim
//   POST claims/{claim_id}/links      LinkClaims
//
// Path segments fill the request's fields of the same name; a body that
// names them too must agree. Commands need Content-Type application/json.
#ifndef FACTLOG_HTTP_JSON_API_H_
#define FACTLOG_HTTP_JSON_API_H_

#include <functional>
#include <string>
#include <vector>

#include "http/api_services.h"
#include "http/event_stream.h"
#include "http/http_server.h"

namespace factlog::http {

class JsonApi {
 public:
  // `services` must outlive it.
  explicit JsonApi(const ApiServices& services);

  // Answers a request whose path starts with /api/v1/; `path` is the rest
  // (still percent-encoded). Unknown paths are 404 NOT_FOUND, a known path
  // with another method 405, and neither changes anything. Thread-safe.
  void Handle(HttpExchange& exchange, absl::string_view path);

  // One call being answered: what a route's handler gets.
  struct Call;
  struct Route {
    const char* method;
    // Segments after /api/v1/, "{field}" for a path parameter.
    std::vector<std::string> pattern;
    std::function<void(Call&)> handle;
  };

 private:
  const ApiServices& services_;
  EventStreams streams_;
  const std::vector<Route> routes_;
};

}  // namespace factlog::http

#endif  // FACTLOG_HTTP_JSON_API_H_
