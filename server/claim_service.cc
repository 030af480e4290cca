#include "server/claim_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/proto_decode.h"

namespace factlog::server {
namespace {

// Runs a query inline for a reader and finishes the reactor with its result.
template <typename Response, typename Query>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx,
                                 const Authorizer& authorizer,
                                 absl::string_view method, Response* resp,
                                 Query query) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::string> actor =
      authorizer.Authorize(*ctx, Role::kReader, method);
  if (!actor.ok()) {
    reactor->Finish(ToGrpcStatus(actor.status()));
    return reactor;
  }
  absl::StatusOr<Response> result = query();
  if (result.ok()) *resp = *std::move(result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

// Import reads raw messages and decodes them itself: gRPC's decoding of a
// bad message (say, a string with invalid UTF-8) would look to the reactor
// like the end of the stream, and the commands after it would be dropped
// while the call ends OK.
class ImportReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  ImportReactor(grpc::CallbackServerContext* ctx, Writer* writer,
                std::string actor, grpc::ByteBuffer* raw_response)
      : ctx_(ctx),
        writer_(writer),
        actor_(std::move(actor)),
        raw_response_(raw_response) {
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      v1::Command command;
      absl::Status decoded = DecodeMessage(incoming_, &command);
      incoming_.Clear();
      if (!decoded.ok()) {
        // Apply what came before it, then refuse it.
        stream_error_ = absl::InvalidArgumentError(absl::StrCat(
            "command ", sent_ + pending_.size() + 1, ": ", decoded.message()));
        stream_done_ = true;
      } else {
        pending_.push_back(std::move(command));
        if (pending_.size() < ClaimServiceImpl::kImportChunk) {
          StartRead(&incoming_);
          return;
        }
      }
    } else if (ctx_->IsCancelled()) {
      // The client gave up mid-stream: apply nothing more.
      Finish(grpc::Status::CANCELLED);
      return;
    } else {
      stream_done_ = true;
    }
    Flush();
  }

  void OnDone() override { delete this; }

 private:
  void FinishStream() {
    if (!stream_error_.ok()) {
      Finish(ToGrpcStatus(stream_error_));
      return;
    }
    *raw_response_ = EncodeMessage(response_);
    Finish(grpc::Status::OK);
  }

  // Submits the pending chunk; reading resumes when it is durable. Only one
  // chunk is in flight at a time, so commands apply in stream order.
  void Flush() {
    if (pending_.empty()) {
      FinishStream();
      return;
    }
    std::vector<v1::Command> chunk = std::move(pending_);
    pending_.clear();
    writer_->SubmitSequence(
        std::move(chunk), actor_, [this](SequenceResult result) {
          for (const v1::CommandResponse& r : result.responses) {
            if (r.deduplicated()) {
              response_.set_deduplicated(response_.deduplicated() + 1);
            } else {
              response_.set_applied(response_.applied() + 1);
            }
            // For a repeat, the position the original command reached.
            response_.set_last_position(
                std::max(response_.last_position(), r.last_position()));
          }
          if (!result.error.ok()) {
            const uint64_t n = sent_ + result.failed_index + 1;
            Finish(ToGrpcStatus(absl::Status(
                result.error.code(),
                absl::StrCat("command ", n, ": ", result.error.message()))));
            return;
          }
          sent_ += result.responses.size();
          if (stream_done_) {
            FinishStream();
          } else {
            StartRead(&incoming_);
          }
        });
  }

  grpc::CallbackServerContext* const ctx_;
  Writer* const writer_;
  const std::string actor_;
  grpc::ByteBuffer* const raw_response_;
  v1::ImportResponse response_;
  grpc::ByteBuffer incoming_;
  std::vector<v1::Command> pending_;
  uint64_t sent_ = 0;  // commands applied or deduplicated so far
  bool stream_done_ = false;
  absl::Status stream_error_;  // a command that could not be decoded
};

}  // namespace

ClaimServiceImpl::ClaimServiceImpl(Writer* writer, const ClaimQueries* queries,
                                   const Authorizer* authorizer)
    : writer_(writer), queries_(queries), authorizer_(authorizer) {}

grpc::ServerUnaryReactor* ClaimServiceImpl::Submit(
    grpc::CallbackServerContext* ctx, v1::Command command,
    v1::CommandResponse* resp, Role needed, absl::string_view method) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, needed, method);
  if (!actor.ok()) {
    reactor->Finish(ToGrpcStatus(actor.status()));
    return reactor;
  }
  writer_->Submit(std::move(command), *std::move(actor),
                  [reactor, resp](absl::StatusOr<v1::CommandResponse> result) {
                    if (result.ok()) *resp = *std::move(result);
                    reactor->Finish(ToGrpcStatus(result.status()));
                  });
  return reactor;
}

grpc::ServerUnaryReactor* ClaimServiceImpl::RecordClaim(
    grpc::CallbackServerContext* ctx, const v1::RecordClaimRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_record_claim() = *req;
  return Submit(ctx, std::move(command), resp, Role::kReporter, "RecordClaim");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::AddEvidence(
    grpc::CallbackServerContext* ctx, const v1::AddEvidenceRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_add_evidence() = *req;
  return Submit(ctx, std::move(command), resp, Role::kReporter, "AddEvidence");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::WithdrawEvidence(
    grpc::CallbackServerContext* ctx, const v1::WithdrawEvidenceRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_withdraw_evidence() = *req;
  return Submit(ctx, std::move(command), resp, Role::kEditor,
                "WithdrawEvidence");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::IssueVerdict(
    grpc::CallbackServerContext* ctx, const v1::IssueVerdictRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_issue_verdict() = *req;
  return Submit(ctx, std::move(command), resp, Role::kEditor, "IssueVerdict");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::CorrectClaim(
    grpc::CallbackServerContext* ctx, const v1::CorrectClaimRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_correct_claim() = *req;
  return Submit(ctx, std::move(command), resp, Role::kEditor, "CorrectClaim");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::RetractClaim(
    grpc::CallbackServerContext* ctx, const v1::RetractClaimRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_retract_claim() = *req;
  return Submit(ctx, std::move(command), resp, Role::kEditor, "RetractClaim");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::LinkClaims(
    grpc::CallbackServerContext* ctx, const v1::LinkClaimsRequest* req,
    v1::CommandResponse* resp) {
  v1::Command command;
  *command.mutable_link_claims() = *req;
  return Submit(ctx, std::move(command), resp, Role::kEditor, "LinkClaims");
}

grpc::ServerUnaryReactor* ClaimServiceImpl::GetClaim(
    grpc::CallbackServerContext* ctx, const v1::GetClaimRequest* req,
    v1::ClaimView* resp) {
  return Answer(ctx, *authorizer_, "GetClaim", resp,
                [&] { return queries_->GetClaim(*req); });
}

grpc::ServerUnaryReactor* ClaimServiceImpl::ListClaims(
    grpc::CallbackServerContext* ctx, const v1::ListClaimsRequest* req,
    v1::ListClaimsResponse* resp) {
  return Answer(ctx, *authorizer_, "ListClaims", resp,
                [&] { return queries_->ListClaims(*req); });
}

grpc::ServerUnaryReactor* ClaimServiceImpl::GetClaimHistory(
    grpc::CallbackServerContext* ctx, const v1::GetClaimHistoryRequest* req,
    v1::GetClaimHistoryResponse* resp) {
  return Answer(ctx, *authorizer_, "GetClaimHistory", resp,
                [&] { return queries_->GetClaimHistory(*req); });
}

grpc::ServerUnaryReactor* ClaimServiceImpl::GetClaimant(
    grpc::CallbackServerContext* ctx, const v1::GetClaimantRequest* req,
    v1::ClaimantView* resp) {
  return Answer(ctx, *authorizer_, "GetClaimant", resp,
                [&] { return queries_->GetClaimant(*req); });
}

grpc::ServerUnaryReactor* ClaimServiceImpl::ListSubjects(
    grpc::CallbackServerContext* ctx, const v1::ListSubjectsRequest* req,
    v1::ListSubjectsResponse* resp) {
  return Answer(ctx, *authorizer_, "ListSubjects", resp,
                [&] { return queries_->ListSubjects(*req); });
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ClaimServiceImpl::Import(
    grpc::CallbackServerContext* ctx, grpc::ByteBuffer* resp) {
  absl::StatusOr<std::string> actor =
      authorizer_->Authorize(*ctx, Role::kReporter, "Import");
  if (!actor.ok()) {
    class Refused final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
     public:
      explicit Refused(const absl::Status& s) { Finish(ToGrpcStatus(s)); }
      void OnDone() override { delete this; }
    };
    return new Refused(actor.status());
  }
  return new ImportReactor(ctx, writer_, *std::move(actor), resp);
}

}  // namespace factlog::server
