#ifndef FACTLOG_SERVER_CLAIM_SERVICE_H_
#define FACTLOG_SERVER_CLAIM_SERVICE_H_

#include "factlog/v1/service.grpc.pb.h"
#include "server/auth.h"
#include "server/queries.h"
#include "server/writer.h"

namespace factlog::server {

// factlog.v1.ClaimService over the callback API. Mutations go to the Writer
// and finish from its callback; queries run on the gRPC thread against the
// store. Every call is authorized first (server/auth.h: readers query,
// reporters record claims, evidence and imports, editors do the rest). It
// translates and wires; the rules live in domain/.
class ClaimServiceImpl final
    : public v1::ClaimService::WithRawCallbackMethod_Import<
          v1::ClaimService::CallbackService> {
 public:
  // Commands sent per writer submission by Import.
  static constexpr size_t kImportChunk = 256;

  // `writer`, `queries` and `authorizer` must outlive the service.
  ClaimServiceImpl(Writer* writer, const ClaimQueries* queries,
                   const Authorizer* authorizer);

  grpc::ServerUnaryReactor* RecordClaim(grpc::CallbackServerContext* ctx,
                                        const v1::RecordClaimRequest* req,
                                        v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* AddEvidence(grpc::CallbackServerContext* ctx,
                                        const v1::AddEvidenceRequest* req,
                                        v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* WithdrawEvidence(
      grpc::CallbackServerContext* ctx, const v1::WithdrawEvidenceRequest* req,
      v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* IssueVerdict(grpc::CallbackServerContext* ctx,
                                         const v1::IssueVerdictRequest* req,
                                         v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* CorrectClaim(grpc::CallbackServerContext* ctx,
                                         const v1::CorrectClaimRequest* req,
                                         v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* RetractClaim(grpc::CallbackServerContext* ctx,
                                         const v1::RetractClaimRequest* req,
                                         v1::CommandResponse* resp) override;
  grpc::ServerUnaryReactor* LinkClaims(grpc::CallbackServerContext* ctx,
                                       const v1::LinkClaimsRequest* req,
                                       v1::CommandResponse* resp) override;

  grpc::ServerUnaryReactor* GetClaim(grpc::CallbackServerContext* ctx,
                                     const v1::GetClaimRequest* req,
                                     v1::ClaimView* resp) override;
  grpc::ServerUnaryReactor* ListClaims(grpc::CallbackServerContext* ctx,
                                       const v1::ListClaimsRequest* req,
                                       v1::ListClaimsResponse* resp) override;
  grpc::ServerUnaryReactor* GetClaimHistory(
      grpc::CallbackServerContext* ctx, const v1::GetClaimHistoryRequest* req,
      v1::GetClaimHistoryResponse* resp) override;
  grpc::ServerUnaryReactor* GetClaimant(grpc::CallbackServerContext* ctx,
                                        const v1::GetClaimantRequest* req,
                                        v1::ClaimantView* resp) override;
  grpc::ServerUnaryReactor* ListSubjects(
      grpc::CallbackServerContext* ctx, const v1::ListSubjectsRequest* req,
      v1::ListSubjectsResponse* resp) override;

  // Applies the streamed commands (raw factlog.v1.Command messages, decoded
  // here so that an undecodable one is an error, not an early end) in order,
  // kImportChunk per commit. Stops at the first refused or undecodable
  // command with its error, prefixed "command N: " (N counts from 1 over the
  // whole stream); commands before it stay applied. `resp` receives an
  // encoded ImportResponse.
  grpc::ServerReadReactor<grpc::ByteBuffer>* Import(
      grpc::CallbackServerContext* ctx, grpc::ByteBuffer* resp) override;

 private:
  // Authorizes `method` for `needed` and hands the command to the writer
  // as the authenticated principal.
  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx,
                                   v1::Command command,
                                   v1::CommandResponse* resp, Role needed,
                                   absl::string_view method);

  Writer* const writer_;
  const ClaimQueries* const queries_;
  const Authorizer* const authorizer_;
};

}  // namespace factlog::server

#endif  // FACTLOG_SERVER_CLAIM_SERVICE_H_
