#include "rpc/claim_service.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/wire.h"
#include "rpc/chunked_stream.h"
#include "rpc/grpc_order.h"
#include "rpc/grpc_status.h"
#include "rpc/proto_decode.h"
#include "rpc/rpc_observer.h"

namespace factlog::rpc {
namespace {

// Import reads raw messages and decodes them itself: gRPC's decoding of a
// bad message (say, a string with invalid UTF-8) would look to the reactor
// like the end of the stream, and the commands after it would be dropped
// while the call ends OK.
class ImportReactor final : public grpc::ServerReadReactor<grpc::ByteBuffer> {
 public:
  ImportReactor(grpc::CallbackServerContext* ctx, core::Writer* writer,
                std::string actor, grpc::ByteBuffer* raw_response)
      : ctx_(ctx),
        writer_(writer),
        actor_(std::move(actor)),
        raw_response_(raw_response) {
    GrpcStart(this, [&] { StartRead(&incoming_); });
  }

  void OnReadDone(bool ok) override {
    GrpcReact(this);
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
          GrpcStart(this, [&] { StartRead(&incoming_); });
          return;
        }
      }
    } else if (ctx_->IsCancelled()) {
      // The client gave up mid-stream: apply nothing more.
      GrpcStart(this, [&] { Finish(grpc::Status::CANCELLED); });
      return;
    } else {
      stream_done_ = true;
    }
    Flush();
  }

  void OnDone() override {
    GrpcReact(this);
    delete this;
  }

 private:
  void FinishStream() {
    if (!stream_error_.ok()) {
      GrpcStart(this, [&] { Finish(ToGrpcStatus(stream_error_)); });
      return;
    }
    *raw_response_ = EncodeMessage(response_);
    GrpcStart(this, [&] { Finish(grpc::Status::OK); });
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
        std::move(chunk), actor_, [this](core::SequenceResult result) {
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
            GrpcStart(this, [&] {
              Finish(ToGrpcStatus(absl::Status(
                  result.error.code(),
                  absl::StrCat("command ", n, ": ", result.error.message()))));
            });
            return;
          }
          sent_ += result.responses.size();
          if (stream_done_) {
            FinishStream();
          } else {
            GrpcStart(this, [&] { StartRead(&incoming_); });
          }
        });
  }

  grpc::CallbackServerContext* const ctx_;
  core::Writer* const writer_;
  const std::string actor_;
  grpc::ByteBuffer* const raw_response_;
  v1::ImportResponse response_;
  grpc::ByteBuffer incoming_;
  std::vector<v1::Command> pending_;
  uint64_t sent_ = 0;  // commands applied or deduplicated so far
  bool stream_done_ = false;
  absl::Status stream_error_;  // a command that could not be decoded
};

// Writes the RATED claims matching a request, kChunk read at a time.
class ExportReactor final : public ChunkedWriteReactor<v1::ClaimView> {
 public:
  static constexpr size_t kChunk = 256;

  ExportReactor(const core::ClaimQueries* queries,
                v1::ExportClaimReviewsRequest req)
      : queries_(queries), req_(std::move(req)) {
    Start();
  }

 private:
  absl::Status Fill(std::deque<v1::ClaimView>* buffer) override {
    if (exhausted_) return absl::OkStatus();
    absl::StatusOr<std::vector<v1::ClaimView>> chunk =
        queries_->RatedClaims(req_, start_after_, kChunk);
    if (!chunk.ok()) return chunk.status();
    exhausted_ = chunk->size() < kChunk;
    if (!chunk->empty()) start_after_ = chunk->back().claim_id();
    for (v1::ClaimView& view : *chunk) buffer->push_back(std::move(view));
    return absl::OkStatus();
  }

  const core::ClaimQueries* const queries_;
  const v1::ExportClaimReviewsRequest req_;
  std::string start_after_;
  bool exhausted_ = false;
};

// Finishes `call` with a command's encoded answer or its error.
void FinishCommand(RpcObserver::UnaryCall& call, grpc::ByteBuffer* response,
                   absl::StatusOr<grpc::ByteBuffer> answer) {
  if (!answer.ok()) {
    call.Finish(ToGrpcStatus(answer.status()));
    return;
  }
  *response = *std::move(answer);
  call.Finish(grpc::Status::OK);
}

// A RecordClaim in the replicated mode: its similar claims are searched on
// the node that took the call while the command is decided and committed
// (here or by the leader), not before it, so that waiting for the search
// index never holds a command out of the writer's next group commit
// (README, "Replicated mode"). The call is answered once both are in. The
// claim itself, which the index may reflect by the time the search runs,
// is left out of its similar claims. Thread-safe.
class SimilarJoin {
 public:
  SimilarJoin(RpcObserver::UnaryCall call, grpc::ByteBuffer* response)
      : call_(std::move(call)), response_(response) {}

  void SetSimilar(std::vector<v1::SimilarClaim> similar) {
    {
      absl::MutexLock lock(&mu_);
      similar_ = std::move(similar);
      if (!answer_.has_value()) return;
    }
    Finish();
  }

  // The command's encoded CommandResponse (without similar claims), or
  // its error.
  void SetAnswer(absl::StatusOr<grpc::ByteBuffer> answer) {
    {
      absl::MutexLock lock(&mu_);
      answer_ = std::move(answer);
      if (!similar_.has_value()) return;
    }
    Finish();
  }

 private:
  // Runs once, after both are set (nothing changes them after that).
  void Finish() {
    absl::StatusOr<grpc::ByteBuffer>& answer = *answer_;
    if (answer.ok() && !similar_->empty()) {
      v1::CommandResponse decoded;
      if (absl::Status s = DecodeMessage(*answer, &decoded); !s.ok()) {
        answer = absl::InternalError(
            absl::StrCat("the command's answer does not parse: ", s.message()));
      } else {
        for (v1::SimilarClaim& similar : *similar_) {
          if (similar.claim_id() == decoded.claim_id()) continue;
          *decoded.add_similar_claims() = std::move(similar);
        }
        answer = EncodeMessage(decoded);
      }
    }
    FinishCommand(call_, response_, std::move(answer));
  }

  RpcObserver::UnaryCall call_;
  grpc::ByteBuffer* const response_;
  absl::Mutex mu_;
  std::optional<std::vector<v1::SimilarClaim>> similar_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::StatusOr<grpc::ByteBuffer>> answer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ClaimServiceImpl::ClaimServiceImpl(core::Writer* writer,
                                   const core::ClaimQueries* queries,
                                   const core::ClaimSearch* search,
                                   RpcGate gate, CommandForwarder* forwarder,
                                   core::PositionWaiters* waiters)
    : writer_(writer),
      queries_(queries),
      search_(search),
      gate_(gate),
      forwarder_(forwarder),
      waiters_(waiters) {}

// Whether `Request` has a min_position (read-your-writes) that the generic
// wait of Answer serves. SearchClaims waits for its own index instead.
template <typename Request, typename = void>
struct WaitsForMinPosition : std::false_type {};
template <typename Request>
struct WaitsForMinPosition<
    Request, std::void_t<decltype(std::declval<Request>().min_position())>>
    : std::bool_constant<!std::is_same_v<Request, v1::SearchClaimsRequest>> {};

template <typename Request>
RpcGate::Unary ClaimServiceImpl::Admit(grpc::CallbackServerContext* ctx,
                                       const grpc::ByteBuffer* request,
                                       Request* typed, bool handed_over) {
  // A read waiting for its min_position is answered on the waiters'
  // pool: handed over like a command (RpcObserver::StartUnary).
  RpcGate::Unary unary = gate_.StartUnary(
      ctx, MethodFor<Request>(),
      handed_over ||
          (WaitsForMinPosition<Request>::value && waiters_ != nullptr));
  if (!unary.actor.ok()) return unary;
  if (absl::Status s = DecodeMessage(*request, typed); !s.ok()) {
    unary.call.Finish(ToGrpcStatus(s));
    unary.actor = s;
  }
  return unary;
}

template <typename Request, typename Set>
grpc::ServerUnaryReactor* ClaimServiceImpl::Mutate(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, Set set) {
  Request typed;
  auto [call, actor] =
      Admit(ctx, request, &typed, MethodFor<Request>().mutates);
  grpc::ServerUnaryReactor* reactor = call.reactor();
  if (!actor.ok()) return reactor;
  NoteRequestId(*ctx, typed.request_id());
  // Where the command's answer goes: to the call, or for a RecordClaim of
  // the replicated mode to the join with its similar claims. (`call =
  // call`: C++17 captures no structured binding by name, and clang refuses
  // it; an init-capture copies it.)
  Answered answered =
      [call = call, response](absl::StatusOr<grpc::ByteBuffer> answer) mutable {
        FinishCommand(call, response, std::move(answer));
      };
  if constexpr (std::is_same_v<Request, v1::RecordClaimRequest>) {
    if (forwarder_ != nullptr &&
        ctx->client_metadata().count(kForwardedByHeader) == 0) {
      // Searched here, at once (SimilarJoin). A command forwarded to this
      // node was searched by the node that took it.
      auto join = std::make_shared<SimilarJoin>(call, response);
      search_->SimilarClaims(
          typed, [join](absl::StatusOr<std::vector<v1::SimilarClaim>> found) {
            join->SetSimilar(found.ok() ? *std::move(found)
                                        : std::vector<v1::SimilarClaim>());
          });
      answered = [join](absl::StatusOr<grpc::ByteBuffer> answer) {
        join->SetAnswer(std::move(answer));
      };
    }
  }
  if (forwarder_ != nullptr) {
    if (std::optional<std::string> leader = forwarder_->Target(*ctx)) {
      // Replicated mode, another node leads: it decides the command
      // (README, "Replicated mode").
      std::vector<v1::Command> command(1);
      set(&command[0], typed);
      const bool retry_here = !typed.request_id().empty();
      forwarder_->Forward(
          *ctx, *leader, MethodFor<Request>().path, *request,
          [this, actor = *actor, retry_here, command = std::move(command),
           answered](absl::StatusOr<grpc::ByteBuffer> answer) mutable {
            if (!answer.ok() && retry_here &&
                absl::IsUnavailable(answer.status())) {
              // The leader is gone: decide it here. Its request_id makes it
              // exactly once even if the leader applied it after all.
              SubmitHere(std::move(command), actor, {}, std::move(answered));
            } else {
              answered(std::move(answer));
            }
          });
      return reactor;
    }
    // This node decides it; a RecordClaim's similar claims were asked for
    // above.
    auto command = std::vector<v1::Command>(1);
    set(&command[0], std::move(typed));
    SubmitHere(std::move(command), *std::move(actor), {}, std::move(answered));
    return reactor;
  }
  auto command = std::make_shared<std::vector<v1::Command>>(1);
  set(&(*command)[0], std::move(typed));
  auto submit = [this, actor = *std::move(actor),
                 answered = std::move(answered),
                 command](std::vector<v1::SimilarClaim> similar) mutable {
    SubmitHere(std::move(*command), std::move(actor), std::move(similar),
               std::move(answered));
  };
  if constexpr (std::is_same_v<Request, v1::RecordClaimRequest>) {
    // One node: found in the search index before the claim is committed
    // (so it is never its own match), without holding this thread while
    // the index catches up (core/claim_search.h). Best effort: a read
    // error only leaves the list empty.
    search_->SimilarClaims(
        (*command)[0].record_claim(),
        [submit = std::move(submit)](
            absl::StatusOr<std::vector<v1::SimilarClaim>> found) mutable {
          submit(found.ok() ? *std::move(found)
                            : std::vector<v1::SimilarClaim>());
        });
  } else {
    submit({});
  }
  return reactor;
}

void ClaimServiceImpl::SubmitHere(std::vector<v1::Command> command,
                                  std::string actor,
                                  std::vector<v1::SimilarClaim> similar,
                                  Answered answered) {
  writer_->SubmitSequence(
      std::move(command), std::move(actor),
      [answered = std::move(answered),
       similar = std::move(similar)](core::SequenceResult result) mutable {
        if (!result.error.ok()) {
          answered(std::move(result.error));
          return;
        }
        v1::CommandResponse& applied = result.responses.back();
        for (const v1::SimilarClaim& s : similar) {
          *applied.add_similar_claims() = s;
        }
        // The claim goes in as the writer encoded it (mostly its stored
        // bytes), without a copy of the view or a second encoding.
        std::string encoded = applied.SerializeAsString();
        if (!result.claim.empty()) {
          wire::AppendWireField(v1::CommandResponse::kClaimFieldNumber,
                                result.claim, &encoded);
        }
        answered(EncodeMessage(std::move(encoded)));
      });
}

template <typename Request, typename Query>
grpc::ServerUnaryReactor* ClaimServiceImpl::Answer(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response, Query query) {
  Request typed;
  auto [call, actor] = Admit(ctx, request, &typed, /*handed_over=*/false);
  grpc::ServerUnaryReactor* reactor = call.reactor();
  if (!actor.ok()) return reactor;
  if constexpr (WaitsForMinPosition<Request>::value) {
    if (waiters_ != nullptr && typed.min_position() > waiters_->position()) {
      // Read-your-writes: answered on the waiters' pool once this node
      // has applied min_position; no gRPC thread waits.
      const absl::Time deadline = std::min(absl::FromChrono(ctx->deadline()),
                                           absl::Now() + kMaxMinPositionWait);
      const uint64_t position = typed.min_position();  // before the move
      waiters_->Wait(position, deadline,
                     [call = call, response, query,
                      typed = std::move(typed)](absl::Status applied) mutable {
                       if (!applied.ok()) {
                         call.Finish(ToGrpcStatus(applied));
                         return;
                       }
                       auto result = query(typed);
                       if (result.ok()) {
                         *response = EncodeMessage(*std::move(result));
                       }
                       call.Finish(ToGrpcStatus(result.status()));
                     });
      return reactor;
    }
  }
  auto result = query(typed);
  if (result.ok()) *response = EncodeMessage(*std::move(result));
  call.Finish(ToGrpcStatus(result.status()));
  return reactor;
}

#define FACTLOG_MUTATION(Method, Request, field)                         \
  grpc::ServerUnaryReactor* ClaimServiceImpl::Method(                    \
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request, \
      grpc::ByteBuffer* response) {                                      \
    return Mutate<v1::Request>(ctx, request, response,                   \
                               [](v1::Command* c, v1::Request r) {       \
                                 *c->mutable_##field() = std::move(r);   \
                               });                                       \
  }
FACTLOG_MUTATION(RecordClaim, RecordClaimRequest, record_claim)
FACTLOG_MUTATION(AddEvidence, AddEvidenceRequest, add_evidence)
FACTLOG_MUTATION(WithdrawEvidence, WithdrawEvidenceRequest, withdraw_evidence)
FACTLOG_MUTATION(IssueVerdict, IssueVerdictRequest, issue_verdict)
FACTLOG_MUTATION(CorrectClaim, CorrectClaimRequest, correct_claim)
FACTLOG_MUTATION(RetractClaim, RetractClaimRequest, retract_claim)
FACTLOG_MUTATION(LinkClaims, LinkClaimsRequest, link_claims)
FACTLOG_MUTATION(RegisterSource, RegisterSourceRequest, register_source)
FACTLOG_MUTATION(RenameSource, RenameSourceRequest, rename_source)
FACTLOG_MUTATION(AddSourceAlias, AddSourceAliasRequest, add_source_alias)
FACTLOG_MUTATION(AffiliateSource, AffiliateSourceRequest, affiliate_source)
FACTLOG_MUTATION(GradeSource, GradeSourceRequest, grade_source)
FACTLOG_MUTATION(SetDeskPolicy, SetDeskPolicyRequest, set_desk_policy)
FACTLOG_MUTATION(ReattributeEvidence, ReattributeEvidenceRequest,
                 reattribute_evidence)
#undef FACTLOG_MUTATION

#define FACTLOG_QUERY(Method, Request, Query)                            \
  grpc::ServerUnaryReactor* ClaimServiceImpl::Method(                    \
      grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request, \
      grpc::ByteBuffer* response) {                                      \
    return Answer<v1::Request>(                                          \
        ctx, request, response,                                          \
        [this](const v1::Request& r) { return queries_->Query(r); });    \
  }
FACTLOG_QUERY(GetClaim, GetClaimRequest, GetClaimEncoded)
FACTLOG_QUERY(ListClaims, ListClaimsRequest, ListClaims)
FACTLOG_QUERY(GetClaimHistory, GetClaimHistoryRequest, GetClaimHistory)
FACTLOG_QUERY(GetClaimant, GetClaimantRequest, GetClaimant)
FACTLOG_QUERY(GetClaimTimeline, GetClaimTimelineRequest, GetClaimTimeline)
FACTLOG_QUERY(ListSubjects, ListSubjectsRequest, ListSubjects)
FACTLOG_QUERY(GetSource, GetSourceRequest, GetSource)
FACTLOG_QUERY(ListSources, ListSourcesRequest, ListSources)
#undef FACTLOG_QUERY

grpc::ServerUnaryReactor* ClaimServiceImpl::SearchClaims(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  v1::SearchClaimsRequest typed;
  // Handed over: a search waiting for min_position is answered from the
  // waiters' pool (core/position_waiters.h), not this one.
  auto [call, actor] = Admit(ctx, request, &typed, /*handed_over=*/true);
  grpc::ServerUnaryReactor* reactor = call.reactor();
  if (!actor.ok()) return reactor;
  search_->SearchClaims(
      typed, absl::FromChrono(ctx->deadline()),
      [call = std::move(call),
       response](absl::StatusOr<v1::SearchClaimsResponse> result) mutable {
        if (result.ok()) *response = EncodeMessage(*std::move(result));
        call.Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

grpc::ServerReadReactor<grpc::ByteBuffer>* ClaimServiceImpl::Import(
    grpc::CallbackServerContext* ctx, grpc::ByteBuffer* resp) {
  absl::StatusOr<std::string> actor =
      gate_.AdmitStream(*ctx, MethodFor<v1::Command>());
  if (!actor.ok()) {
    return Refuse<grpc::ServerReadReactor<grpc::ByteBuffer>>(actor.status());
  }
  return new ImportReactor(ctx, writer_, *std::move(actor), resp);
}

grpc::ServerWriteReactor<v1::ClaimView>* ClaimServiceImpl::ExportClaimReviews(
    grpc::CallbackServerContext* ctx,
    const v1::ExportClaimReviewsRequest* req) {
  absl::StatusOr<std::string> actor =
      gate_.AdmitStream(*ctx, MethodFor<v1::ExportClaimReviewsRequest>());
  if (!actor.ok()) {
    return Refuse<grpc::ServerWriteReactor<v1::ClaimView>>(actor.status());
  }
  return new ExportReactor(queries_, *req);
}

}  // namespace factlog::rpc
