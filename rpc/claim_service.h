#ifndef FACTLOG_RPC_CLAIM_SERVICE_H_
#define FACTLOG_RPC_CLAIM_SERVICE_H_

#include <functional>

#include "absl/status/statusor.h"
#include "core/claim_queries.h"
#include "core/claim_search.h"
#include "core/position_waiters.h"
#include "core/writer.h"
#include "factlog/v1/service.grpc.pb.h"
#include "rpc/command_forwarder.h"
#include "rpc/rpc_gate.h"

namespace factlog::rpc {

// factlog.v1.ClaimService over the callback API. Mutations go to the Writer
// and finish from its callback; queries run on the gRPC thread against the
// store; a search (or RecordClaim's similar claims) that must wait for the
// search index goes on from core::PositionWaiters' callback. Every call is
// admitted first (rpc/rpc_gate.h, with the roles of rpc/methods.h). It
// translates and wires; the rules live in domain/.
// Every method is registered raw and decodes its request with DecodeMessage
// (rpc/proto_decode.h), so a request gRPC could not decode, such as a
// string with invalid UTF-8, is INVALID_ARGUMENT naming the field instead
// of an opaque transport error.
using RawClaimServiceBase = v1::ClaimService::WithRawCallbackMethod_RecordClaim<
    v1::ClaimService::WithRawCallbackMethod_AddEvidence<v1::ClaimService::WithRawCallbackMethod_WithdrawEvidence<
        v1::ClaimService::WithRawCallbackMethod_IssueVerdict<
            v1::ClaimService::WithRawCallbackMethod_CorrectClaim<
                v1::ClaimService::WithRawCallbackMethod_RetractClaim<
                    v1::ClaimService::WithRawCallbackMethod_LinkClaims<
                        v1::ClaimService::WithRawCallbackMethod_GetClaim<
                            v1::ClaimService::WithRawCallbackMethod_ListClaims<
                                v1::ClaimService::WithRawCallbackMethod_GetClaimHistory<
                                    v1::ClaimService::WithRawCallbackMethod_GetClaimant<
                                        v1::ClaimService::WithRawCallbackMethod_GetClaimTimeline<
                                            v1::ClaimService::WithRawCallbackMethod_ListSubjects<
                                                v1::ClaimService::WithRawCallbackMethod_Import<
                                                    v1::ClaimService::
                                                        CallbackService>>>>>>>>>>>>>>;
// The source registry's methods (README "Sources").
using RawSourceMethods = v1::ClaimService::WithRawCallbackMethod_RegisterSource<
    v1::ClaimService::WithRawCallbackMethod_RenameSource<
        v1::ClaimService::WithRawCallbackMethod_AddSourceAlias<
            v1::ClaimService::WithRawCallbackMethod_AffiliateSource<
                v1::ClaimService::WithRawCallbackMethod_GradeSource<
                    v1::ClaimService::WithRawCallbackMethod_SetDeskPolicy<
                        v1::ClaimService::
                            WithRawCallbackMethod_ReattributeEvidence<
                                v1::ClaimService::
                                    WithRawCallbackMethod_GetSource<
                                        v1::ClaimService::
                                            WithRawCallbackMethod_ListSources<
                                                RawClaimServiceBase>>>>>>>>>;
using RawClaimService =
    v1::ClaimService::WithRawCallbackMethod_SearchClaims<RawSourceMethods>;

class ClaimServiceImpl final : public RawClaimService {
 public:
  // Commands sent per writer submission by Import.
  static constexpr size_t kImportChunk = 256;

  // `writer`, `queries`, `search`, what `gate` refers to and `forwarder`
  // must outlive the service. With a `forwarder` (replicated mode), the
  // unary commands go to the cluster's leader when another node leads
  // (rpc/command_forwarder.h); a forwarded command whose leader cannot be
  // reached and that carries a request_id is decided here instead. Import
  // always commits here (the log's head is the fence either way).
  //
  // With `waiters`, reads with a min_position wait (asynchronously, up to
  // the call's deadline or kMaxMinPositionWait) until this node applied it,
  // then run on the waiters' callback pool (core/position_waiters.h);
  // without, min_position is ignored.
  ClaimServiceImpl(core::Writer* writer, const core::ClaimQueries* queries,
                   const core::ClaimSearch* search, RpcGate gate,
                   CommandForwarder* forwarder = nullptr,
                   core::PositionWaiters* waiters = nullptr);

  // The longest a read waits for its min_position without a shorter
  // deadline.
  static constexpr absl::Duration kMaxMinPositionWait = absl::Seconds(60);

  // Each takes an encoded request and fills an encoded response of the
  // types in service.proto.
#define FACTLOG_RAW_UNARY(Method)                                    \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, \
                                   const grpc::ByteBuffer* request,  \
                                   grpc::ByteBuffer* response) override;
  FACTLOG_RAW_UNARY(RecordClaim)
  FACTLOG_RAW_UNARY(AddEvidence)
  FACTLOG_RAW_UNARY(WithdrawEvidence)
  FACTLOG_RAW_UNARY(IssueVerdict)
  FACTLOG_RAW_UNARY(CorrectClaim)
  FACTLOG_RAW_UNARY(RetractClaim)
  FACTLOG_RAW_UNARY(LinkClaims)
  FACTLOG_RAW_UNARY(GetClaim)
  FACTLOG_RAW_UNARY(ListClaims)
  FACTLOG_RAW_UNARY(GetClaimHistory)
  FACTLOG_RAW_UNARY(GetClaimant)
  FACTLOG_RAW_UNARY(GetClaimTimeline)
  FACTLOG_RAW_UNARY(ListSubjects)
  FACTLOG_RAW_UNARY(SearchClaims)
  FACTLOG_RAW_UNARY(RegisterSource)
  FACTLOG_RAW_UNARY(RenameSource)
  FACTLOG_RAW_UNARY(AddSourceAlias)
  FACTLOG_RAW_UNARY(AffiliateSource)
  FACTLOG_RAW_UNARY(GradeSource)
  FACTLOG_RAW_UNARY(SetDeskPolicy)
  FACTLOG_RAW_UNARY(ReattributeEvidence)
  FACTLOG_RAW_UNARY(GetSource)
  FACTLOG_RAW_UNARY(ListSources)
#undef FACTLOG_RAW_UNARY

  // Applies the streamed commands (raw factlog.v1.Command messages, decoded
  // here so that an undecodable one is an error, not an early end) in order,
  // kImportChunk per commit. Stops at the first refused or undecodable
  // command with its error, prefixed "command N: " (N counts from 1 over the
  // whole stream); commands before it stay applied. `resp` receives an
  // encoded ImportResponse.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Import(
      grpc::CallbackServerContext* ctx, grpc::ByteBuffer* resp) override;

  // Streams the RATED claims matching the request, reading the store in
  // chunks with one write in flight. Not raw: its request has no strings a
  // client could get wrong beyond the subject, which gRPC decodes.
  grpc::ServerWriteReactor<v1::ClaimView>* ExportClaimReviews(
      grpc::CallbackServerContext* ctx,
      const v1::ExportClaimReviewsRequest* req) override;

 private:
  // Admits the call of the method taking `Request` (rpc/methods.h) and
  // decodes its request into `typed`. When the call is refused or its
  // request does not decode, the call is finished with why and the
  // result's actor holds that status. `handed_over`: the call may finish
  // on another thread of ours (RpcGate::StartUnary).
  template <typename Request>
  RpcGate::Unary Admit(grpc::CallbackServerContext* ctx,
                       const grpc::ByteBuffer* request, Request* typed,
                       bool handed_over);
  // Admits the call (rpc/methods.h: the method taking `Request`), decodes a
  // `Request`, puts it into a Command with `set` and hands it to the
  // writer as the principal.
  template <typename Request, typename Set>
  grpc::ServerUnaryReactor* Mutate(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response, Set set);
  // Gets a command's encoded CommandResponse, or its error.
  using Answered = std::function<void(absl::StatusOr<grpc::ByteBuffer>)>;
  // Hands `command` to the writer and gives `answered` its response (plus
  // `similar`); `answered` runs on the writer's completer thread.
  void SubmitHere(std::vector<v1::Command> command, std::string actor,
                  std::vector<v1::SimilarClaim> similar, Answered answered);
  // Admits the call, decodes a `Request` and answers with `query`.
  template <typename Request, typename Query>
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response, Query query);

  core::Writer* const writer_;
  const core::ClaimQueries* const queries_;
  const core::ClaimSearch* const search_;
  const RpcGate gate_;
  CommandForwarder* const forwarder_;
  core::PositionWaiters* const waiters_;
};

}  // namespace factlog::rpc

#endif  // FACTLOG_RPC_CLAIM_SERVICE_H_
