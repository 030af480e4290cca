#ifndef FACTLOG_RPC_METHODS_H_
#define FACTLOG_RPC_METHODS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/access.h"
#include "google/protobuf/descriptor.h"

namespace factlog::rpc {

// One RPC of the factlog.v1 services and the rules every transport applies
// to it. The one table of who may call what (docs/ARCHITECTURE.md, "Where
// each rule lives"): handlers, the observer's log levels and the role test
// all read it, and nothing types a method's name or path by hand.
struct RpcMethod {
  // "/factlog.v1.ClaimService/RecordClaim", as gRPC names it; from the
  // service descriptors. Lives as long as the program.
  std::string path;
  // "RecordClaim": how errors and the log name the method.
  std::string name;
  // The least role that may call it (core/access.h: each role may do all
  // that the ones before it may).
  core::Role role;
  // True for commands: calls that change what the server holds (the log,
  // or a backup it writes). Their request log lines are at info level.
  bool mutates;
};

// Every method of every service in factlog/v1/service.proto, in descriptor
// order. The first call builds the table from the descriptors and the rules
// in methods.cc and aborts, naming the method, if a method has no rule or a
// rule matches no method: a method added without an authorization rule
// cannot be served. Thread-safe.
const std::vector<RpcMethod>& FactlogMethods();

// The method at `path`, or null for any other (gRPC's own health and
// reflection services, unknown paths).
const RpcMethod* FindMethod(absl::string_view path);

// The method whose request message is `request` (every factlog.v1 method
// has a request type of its own). Aborts when there is none.
const RpcMethod& MethodForRequest(const google::protobuf::Descriptor* request);

// The same, by the generated request type: MethodFor<v1::GetClaimRequest>().
template <typename Request>
const RpcMethod& MethodFor() {
  static const RpcMethod& method = MethodForRequest(Request::descriptor());
  return method;
}

// The role gRPC's reflection service needs (it is gRPC's own, not in the
// table).
inline constexpr core::Role kReflectionRole = core::Role::kReader;

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_METHODS_H_
