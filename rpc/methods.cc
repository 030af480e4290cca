#include "rpc/methods.h"

#include <cstdio>
#include <cstdlib>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "factlog/v1/service.pb.h"

namespace factlog::rpc {
namespace {

using core::Role;
using google::protobuf::Descriptor;

enum Effect : bool { kReads = false, kMutates = true };

// Who may call each method, by its request type. Readers query, read and
// subscribe; reporters record claims, add evidence and import; editors
// decide (verdicts, corrections, retractions, links, withdrawals); admins
// run the server.
struct Rule {
  const Descriptor* (*request)();
  Role role;
  Effect effect;
};
constexpr Rule kRules[] = {
    // ClaimService
    {v1::RecordClaimRequest::descriptor, Role::kReporter, kMutates},
    {v1::AddEvidenceRequest::descriptor, Role::kReporter, kMutates},
    {v1::WithdrawEvidenceRequest::descriptor, Role::kEditor, kMutates},
    {v1::IssueVerdictRequest::descriptor, Role::kEditor, kMutates},
    {v1::CorrectClaimRequest::descriptor, Role::kEditor, kMutates},
    {v1::RetractClaimRequest::descriptor, Role::kEditor, kMutates},
    {v1::LinkClaimsRequest::descriptor, Role::kEditor, kMutates},
    {v1::GetClaimRequest::descriptor, Role::kReader, kReads},
    {v1::ListClaimsRequest::descriptor, Role::kReader, kReads},
    {v1::GetClaimHistoryRequest::descriptor, Role::kReader, kReads},
    {v1::GetClaimantRequest::descriptor, Role::kReader, kReads},
    {v1::GetClaimTimelineRequest::descriptor, Role::kReader, kReads},
    {v1::ListSubjectsRequest::descriptor, Role::kReader, kReads},
    {v1::Command::descriptor, Role::kReporter, kMutates},  // Import
    {v1::ExportClaimReviewsRequest::descriptor, Role::kReader, kReads},
    {v1::SearchClaimsRequest::descriptor, Role::kReader, kReads},
    // ClaimService: the source registry. Reporters register sources and
    // their aliases; editors rename, affiliate, grade, set the desk policy
    // and re-attribute evidence.
    {v1::RegisterSourceRequest::descriptor, Role::kReporter, kMutates},
    {v1::AddSourceAliasRequest::descriptor, Role::kReporter, kMutates},
    {v1::RenameSourceRequest::descriptor, Role::kEditor, kMutates},
    {v1::AffiliateSourceRequest::descriptor, Role::kEditor, kMutates},
    {v1::GradeSourceRequest::descriptor, Role::kEditor, kMutates},
    {v1::SetDeskPolicyRequest::descriptor, Role::kEditor, kMutates},
    {v1::ReattributeEvidenceRequest::descriptor, Role::kEditor, kMutates},
    {v1::GetSourceRequest::descriptor, Role::kReader, kReads},
    {v1::ListSourcesRequest::descriptor, Role::kReader, kReads},
    // EventService
    {v1::ReadEventsRequest::descriptor, Role::kReader, kReads},
    {v1::SubscribeRequest::descriptor, Role::kReader, kReads},
    {v1::GetLogHeadRequest::descriptor, Role::kReader, kReads},
    {v1::GetInclusionProofRequest::descriptor, Role::kReader, kReads},
    {v1::GetConsistencyProofRequest::descriptor, Role::kReader, kReads},
    // AdminService
    {v1::GetStatsRequest::descriptor, Role::kAdmin, kReads},
    {v1::BackupRequest::descriptor, Role::kAdmin, kMutates},
    {v1::GetClusterStatusRequest::descriptor, Role::kAdmin, kReads},
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "factlog: RPC method table: %s\n", why.c_str());
  std::abort();
}

struct Table {
  std::vector<RpcMethod> methods;
  absl::flat_hash_map<std::string, size_t> by_path;
  absl::flat_hash_map<const Descriptor*, size_t> by_request;
};

const Table& TheTable() {
  static const Table* const table = [] {
    auto* t = new Table;
    absl::flat_hash_map<const Descriptor*, const Rule*> rules;
    for (const Rule& rule : kRules) rules[rule.request()] = &rule;
    const google::protobuf::FileDescriptor* file =
        v1::GetClaimRequest::descriptor()->file();
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = service->method(m);
        auto rule = rules.find(method->input_type());
        if (rule == rules.end()) {
          Die(absl::StrCat(method->full_name(), " has no rule in methods.cc"));
        }
        if (!t->by_request.emplace(method->input_type(), t->methods.size())
                 .second) {
          Die(absl::StrCat(method->full_name(), " shares its request type ",
                           method->input_type()->full_name(),
                           " with another method"));
        }
        t->methods.push_back(RpcMethod{
            absl::StrCat("/", service->full_name(), "/", method->name()),
            method->name(), rule->second->role,
            rule->second->effect == kMutates});
        t->by_path.emplace(t->methods.back().path, t->methods.size() - 1);
        rules.erase(rule);
      }
    }
    if (!rules.empty()) {
      Die(absl::StrCat("the rule for ", rules.begin()->first->full_name(),
                       " matches no method"));
    }
    return t;
  }();
  return *table;
}

}  // namespace

const std::vector<RpcMethod>& FactlogMethods() { return TheTable().methods; }

const RpcMethod* FindMethod(absl::string_view path) {
  const Table& table = TheTable();
  auto it = table.by_path.find(path);
  return it == table.by_path.end() ? nullptr : &table.methods[it->second];
}

const RpcMethod& MethodForRequest(const Descriptor* request) {
  const Table& table = TheTable();
  auto it = table.by_request.find(request);
  if (it == table.by_request.end()) {
    Die(absl::StrCat("no method takes ", request->full_name()));
  }
  return table.methods[it->second];
}

}  // namespace factlog::rpc
