#include "http/json_api.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "google/protobuf/descriptor.pb.h"
#include "http/http_auth.h"
#include "http/http_status.h"
#include "http/json_mapping.h"
#include "nlohmann/json.hpp"
#include "rpc/methods.h"

namespace factlog::http {

constexpr char kJson[] = "application/json; charset=utf-8";

struct JsonApi::Call {
  HttpExchange& exchange;
  const ApiServices& services;
  EventStreams& streams;
  // The path parameters, decoded: {"claim_id", "c-1"}.
  std::vector<std::pair<std::string, std::string>> path_params;

  // Set when the body is longer than allowed: 413, not RESOURCE_EXHAUSTED's
  // usual 429.
  int body_too_large = 0;

  void Fail(const absl::Status& status) {
    const int http_status =
        body_too_large != 0 ? body_too_large : HttpStatusFor(status.code());
    exchange.Send(http_status, kJson, ErrorJson(status),
                  {{"Cache-Control", "no-store"}});
  }
  void Reply(const google::protobuf::Message& message) {
    exchange.Send(200, kJson, ToJson(message), {{"Cache-Control", "no-store"}});
  }
  // The acting principal for the RPC taking `Request`, by its role.
  template <typename Request>
  absl::StatusOr<std::string> Admit() {
    const rpc::RpcMethod& method = rpc::MethodFor<Request>();
    return Authorize(exchange, services.tokens, method.role, method.name);
  }
  // Sets each path parameter as the string field of the same name; a body
  // that gave it must agree.
  absl::Status SetPathParams(google::protobuf::Message* request) {
    const google::protobuf::Reflection* reflection = request->GetReflection();
    for (const auto& [name, value] : path_params) {
      const google::protobuf::FieldDescriptor* field =
          request->GetDescriptor()->FindFieldByName(name);
      if (field->type() == google::protobuf::FieldDescriptor::TYPE_UINT64) {
        uint64_t number = 0;
        if (!absl::SimpleAtoi(value, &number)) {
          return absl::InvalidArgumentError(absl::StrCat(
              name, ": want a number in the path, got \"", value, "\""));
        }
        reflection->SetUInt64(request, field, number);
        continue;
      }
      const std::string given = reflection->GetString(*request, field);
      if (!given.empty() && given != value) {
        return absl::InvalidArgumentError(
            absl::StrCat(field->json_name(), ": the body says \"", given,
                         "\", the path \"", value, "\""));
      }
      reflection->SetString(request, field, value);
    }
    return absl::OkStatus();
  }
  // A query's request: the query string's parameters, then the path's.
  absl::Status ReadQuery(google::protobuf::Message* request) {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> params =
        ParseQuery(exchange.query());
    if (!params.ok()) return params.status();
    if (absl::Status s = MergeQuery(*params, request); !s.ok()) return s;
    return SetPathParams(request);
  }
  // A command's request: the JSON body, then the path's parameters.
  absl::Status ReadBody(google::protobuf::Message* request) {
    if (!exchange.query().empty()) {
      return absl::InvalidArgumentError(
          "a command takes its request as a JSON body, not a query string");
    }
    std::optional<absl::string_view> type = exchange.header("Content-Type");
    if (!type.has_value() ||
        !absl::StartsWithIgnoreCase(*type, "application/json")) {
      return absl::InvalidArgumentError(
          "Content-Type: a command's body is application/json");
    }
    absl::StatusOr<std::string> body =
        exchange.ReadBody(services.max_body_bytes);
    if (absl::IsResourceExhausted(body.status())) body_too_large = 413;
    if (!body.ok()) return body.status();
    if (absl::Status s = MergeJson(*body, request); !s.ok()) return s;
    return SetPathParams(request);
  }
};

namespace {

using Call = JsonApi::Call;
using Route = JsonApi::Route;

std::vector<std::string> Pattern(absl::string_view pattern) {
  return absl::StrSplit(pattern, '/', absl::SkipEmpty());
}

// A query: admitted with its RPC's role, its request read from the query
// string and path, answered by `answer(services, request)`.
template <typename Request, typename Answer>
Route Read(absl::string_view pattern, Answer answer) {
  return Route{"GET", Pattern(pattern), [answer](Call& call) {
                 absl::StatusOr<std::string> actor = call.Admit<Request>();
                 if (!actor.ok()) return call.Fail(actor.status());
                 Request request;
                 if (absl::Status s = call.ReadQuery(&request); !s.ok()) {
                   return call.Fail(s);
                 }
                 auto result = answer(call.services, request);
                 if (!result.ok()) return call.Fail(result.status());
                 call.Reply(*result);
               }};
}

// The field of v1::Command that holds a `Request`.
template <typename Request>
const google::protobuf::FieldDescriptor* CommandField() {
  static const google::protobuf::FieldDescriptor* const field = [] {
    const google::protobuf::Descriptor* command = v1::Command::descriptor();
    for (int i = 0; i < command->field_count(); ++i) {
      if (command->field(i)->message_type() == Request::descriptor()) {
        return command->field(i);
      }
    }
    return static_cast<const google::protobuf::FieldDescriptor*>(nullptr);
  }();
  return field;
}

// The answer of a core/ call that answers through a callback (the search
// index's waits hold no gRPC thread). An HTTP worker thread waits for it
// (http/http_server.h: handlers may block briefly; the event loops never
// do).
template <typename T, typename Start>
absl::StatusOr<T> Await(Start start) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("not answered");
  start([&](absl::StatusOr<T> answer) {
    result = std::move(answer);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// A command: admitted with its RPC's role, its request read from the body
// and path, handed to the writer as gRPC's ClaimService does, answered
// with the CommandResponse once durable.
template <typename Request>
Route Mutate(absl::string_view pattern) {
  return Route{
      "POST", Pattern(pattern), [](Call& call) {
        const rpc::RpcMethod& method = rpc::MethodFor<Request>();
        absl::StatusOr<std::string> actor = call.Admit<Request>();
        if (!actor.ok()) return call.Fail(actor.status());
        Request request;
        if (absl::Status s = call.ReadBody(&request); !s.ok()) {
          return call.Fail(s);
        }
        // Found before the claim is committed, as ClaimService
        // does; best effort.
        std::vector<v1::SimilarClaim> similar;
        if constexpr (std::is_same_v<Request, v1::RecordClaimRequest>) {
          auto found = Await<std::vector<v1::SimilarClaim>>(
              [&](core::ClaimSearch::SimilarDone done) {
                call.services.search->SimilarClaims(request, std::move(done));
              });
          if (found.ok()) similar = *std::move(found);
        }
        std::vector<v1::Command> commands(1);
        commands[0]
            .GetReflection()
            ->MutableMessage(&commands[0], CommandField<Request>())
            ->CopyFrom(request);
        core::SequenceResult result;
        absl::Notification done;
        call.services.writer->SubmitSequence(std::move(commands), *actor,
                                             [&](core::SequenceResult r) {
                                               result = std::move(r);
                                               done.Notify();
                                             });
        done.WaitForNotification();
        log::Info("http command",
                  {{"method", method.name},
                   {"principal", *actor},
                   {"request_id", request.request_id()},
                   {"code", absl::StatusCodeToString(result.error.code())}});
        if (!result.error.ok()) return call.Fail(result.error);
        v1::CommandResponse response = result.responses.back();
        for (v1::SimilarClaim& s : similar) {
          *response.add_similar_claims() = std::move(s);
        }
        if (!result.claim.empty()) {
          response.mutable_claim()->ParseFromString(result.claim);
        }
        call.Reply(response);
      }};
}

// The descriptors of factlog/v1/service.proto and every file it imports,
// as a FileDescriptorSet in JSON: what the browser encodes events with to
// hash them (the canonical bytes of domain/merkle.h).
std::string SchemaJson() {
  google::protobuf::FileDescriptorSet set;
  std::vector<const google::protobuf::FileDescriptor*> pending = {
      v1::GetClaimRequest::descriptor()->file()};
  std::vector<const google::protobuf::FileDescriptor*> seen;
  while (!pending.empty()) {
    const google::protobuf::FileDescriptor* file = pending.back();
    pending.pop_back();
    if (std::find(seen.begin(), seen.end(), file) != seen.end()) continue;
    seen.push_back(file);
    file->CopyTo(set.add_file());
    for (int i = 0; i < file->dependency_count(); ++i) {
      pending.push_back(file->dependency(i));
    }
  }
  return ToJson(set);
}

std::vector<Route> Routes() {
  using S = ApiServices;
  std::vector<Route> routes = {
      Read<v1::ListClaimsRequest>(
          "claims",
          [](const S& s, const v1::ListClaimsRequest& r) {
            return s.queries->ListClaims(r);
          }),
      Read<v1::GetClaimRequest>("claims/{claim_id}",
                                [](const S& s, const v1::GetClaimRequest& r) {
                                  return s.queries->GetClaim(r);
                                }),
      Read<v1::GetClaimHistoryRequest>(
          "claims/{claim_id}/history",
          [](const S& s, const v1::GetClaimHistoryRequest& r) {
            return s.queries->GetClaimHistory(r);
          }),
      Read<v1::GetClaimTimelineRequest>(
          "claims/{claim_id}/timeline",
          [](const S& s, const v1::GetClaimTimelineRequest& r) {
            return s.queries->GetClaimTimeline(r);
          }),
      Read<v1::GetClaimantRequest>(
          "claimants/{claimant}",
          [](const S& s, const v1::GetClaimantRequest& r) {
            return s.queries->GetClaimant(r);
          }),
      Read<v1::ListSubjectsRequest>(
          "subjects",
          [](const S& s, const v1::ListSubjectsRequest& r) {
            return s.queries->ListSubjects(r);
          }),
      Read<v1::ListClaimsRequest>("promises/overdue",
                                  [](const S& s, v1::ListClaimsRequest r) {
                                    r.set_status(v1::CLAIM_STATUS_OVERDUE);
                                    return s.queries->ListClaims(r);
                                  }),
      Read<v1::SearchClaimsRequest>(
          "search",
          [](const S& s, const v1::SearchClaimsRequest& r) {
            return Await<v1::SearchClaimsResponse>(
                [&](core::ClaimSearch::SearchDone done) {
                  s.search->SearchClaims(
                      r, absl::Now() + core::ClaimSearch::kMaxWait,
                      std::move(done));
                });
          }),
      Read<v1::GetLogHeadRequest>("log/head",
                                  [](const S& s, const v1::GetLogHeadRequest&) {
                                    return s.heads->Head(0);
                                  }),
      Read<v1::GetInclusionProofRequest>(
          "log/inclusion/{position}",
          [](const S& s, const v1::GetInclusionProofRequest& r) {
            return s.heads->Inclusion(r);
          }),
      Mutate<v1::RecordClaimRequest>("claims"),
      Mutate<v1::AddEvidenceRequest>("claims/{claim_id}/evidence"),
      Mutate<v1::WithdrawEvidenceRequest>(
          "claims/{claim_id}/evidence/{evidence_id}/withdraw"),
      Mutate<v1::IssueVerdictRequest>("claims/{claim_id}/verdict"),
      Mutate<v1::CorrectClaimRequest>("claims/{claim_id}/correction"),
      Mutate<v1::RetractClaimRequest>("claims/{claim_id}/retraction"),
      Mutate<v1::LinkClaimsRequest>("claims/{claim_id}/links"),
  };
  routes.push_back(Route{
      "GET", Pattern("events"), [](Call& call) {
        absl::StatusOr<std::string> actor = call.Admit<v1::SubscribeRequest>();
        if (!actor.ok()) return call.Fail(actor.status());
        v1::SubscribeRequest request;
        if (absl::Status s = call.ReadQuery(&request); !s.ok()) {
          return call.Fail(s);
        }
        // A browser's reconnect: resume after the last
        // position it received.
        if (auto last = call.exchange.header("Last-Event-ID");
            last.has_value()) {
          uint64_t position = 0;
          if (!absl::SimpleAtoi(*last, &position)) {
            return call.Fail(absl::InvalidArgumentError(
                absl::StrCat("Last-Event-ID: want a log "
                             "position, got \"",
                             *last, "\"")));
          }
          request.set_from_position(position);
        }
        call.streams.Serve(call.exchange, request);
      }});
  routes.push_back(Route{"GET", Pattern("schema"), [](Call& call) {
                           // The same descriptors gRPC reflection serves,
                           // with its role.
                           absl::StatusOr<std::string> actor =
                               Authorize(call.exchange, call.services.tokens,
                                         rpc::kReflectionRole, "schema");
                           if (!actor.ok()) return call.Fail(actor.status());
                           static const std::string* const schema =
                               new std::string(SchemaJson());
                           call.exchange.Send(200, kJson, *schema);
                         }});
  routes.push_back(Route{
      "GET", Pattern("session"), [](Call& call) {
        // Tells a page whether to ask for a token, and whose it is.
        std::string body =
            absl::StrCat("{\"authRequired\":",
                         call.services.tokens != nullptr ? "true" : "false");
        if (call.services.tokens != nullptr) {
          auto principal = core::AuthenticateBearer(
              *call.services.tokens, call.exchange.header("Authorization"));
          if (principal.ok()) {
            absl::StrAppend(
                &body,
                ",\"principal\":", nlohmann::json(principal->name).dump(),
                ",\"role\":\"", core::RoleName(principal->role), "\"");
          }
        }
        body += "}";
        call.exchange.Send(200, kJson, body, {{"Cache-Control", "no-store"}});
      }});
  return routes;
}

}  // namespace

JsonApi::JsonApi(const ApiServices& services)
    : services_(services), streams_(services), routes_(Routes()) {}

void JsonApi::Handle(HttpExchange& exchange, absl::string_view path) {
  std::vector<absl::string_view> segments =
      absl::StrSplit(path, '/', absl::SkipEmpty());
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (route.pattern.size() != segments.size()) continue;
    Call call{exchange, services_, streams_, {}, 0};
    bool match = true;
    absl::Status bad_segment;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = route.pattern[i];
      if (absl::StartsWith(want, "{")) {
        absl::StatusOr<std::string> value = PercentDecode(segments[i], false);
        if (!value.ok()) {
          bad_segment = value.status();
        } else {
          call.path_params.emplace_back(want.substr(1, want.size() - 2),
                                        *std::move(value));
        }
      } else {
        match = want == segments[i];
      }
    }
    if (!match) continue;
    const bool head =
        exchange.method() == "HEAD" && absl::string_view(route.method) == "GET";
    if (exchange.method() != route.method && !head) {
      allowed.push_back(route.method);
      continue;
    }
    if (!bad_segment.ok()) return call.Fail(bad_segment);
    route.handle(call);
    return;
  }
  Call call{exchange, services_, streams_, {}, 0};
  if (!allowed.empty()) {
    const std::string allow = absl::StrJoin(allowed, ", ");
    exchange.Send(405, kJson,
                  ErrorJson(absl::UnimplementedError(
                      absl::StrCat(exchange.method(), " /api/v1/", path,
                                   ": allowed methods are ", allow))),
                  {{"Allow", allow}});
    return;
  }
  call.Fail(absl::NotFoundError(
      absl::StrCat("no API at /api/v1/", path, " (README, \"Web view\")")));
}

}  // namespace factlog::http
