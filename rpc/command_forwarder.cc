#include "rpc/command_forwarder.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "factlog/v1/service.pb.h"
#include "rpc/proto_decode.h"

namespace factlog::rpc {
namespace {

// One forwarded call's state, alive until its completion ran.
struct ForwardedCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  std::function<void(absl::StatusOr<grpc::ByteBuffer>)> done;
};

}  // namespace

CommandForwarder::CommandForwarder(ForwarderOptions options)
    : options_(std::move(options)) {}

std::optional<std::string> CommandForwarder::Target(
    const grpc::ServerContextBase& ctx) const {
  if (ctx.client_metadata().count(kForwardedByHeader) > 0) return std::nullopt;
  return options_.leader_address();
}

grpc::GenericStub* CommandForwarder::StubFor(const std::string& target) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<grpc::GenericStub>& stub = stubs_[target];
  if (stub == nullptr) {
    stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(target, options_.credentials));
  }
  return stub.get();
}

void CommandForwarder::Forward(
    const grpc::ServerContextBase& ctx, const std::string& target,
    const std::string& method_path, const grpc::ByteBuffer& request,
    std::function<void(absl::StatusOr<grpc::ByteBuffer>)> done) {
  auto call = std::make_shared<ForwardedCall>();
  call->request = request;
  call->done = std::move(done);
  const absl::Time now = absl::Now();
  const absl::Time deadline =
      std::min(absl::FromChrono(ctx.deadline()), now + options_.timeout);
  call->context.set_deadline(
      absl::ToChronoTime(std::min(deadline, now + options_.forward_timeout)));
  call->context.AddMetadata(kForwardedByHeader, options_.node_name);
  auto auth = ctx.client_metadata().find("authorization");
  if (auth != ctx.client_metadata().end()) {
    call->context.AddMetadata(
        "authorization", std::string(auth->second.data(), auth->second.size()));
  }
  core::PositionWaiters* waiters = options_.waiters;
  StubFor(target)->UnaryCall(
      &call->context, method_path, grpc::StubOptions(), &call->request,
      &call->response, [call, target, deadline, waiters](grpc::Status status) {
        if (!status.ok()) {
          absl::StatusCode code =
              static_cast<absl::StatusCode>(status.error_code());
          std::string message = status.error_message();
          if (code == absl::StatusCode::kUnavailable ||
              code == absl::StatusCode::kDeadlineExceeded) {
            code = absl::StatusCode::kUnavailable;
            message = absl::StrCat(
                "the command was forwarded to the cluster's leader at ", target,
                ", which did not answer (", message,
                "); it may or may not have been applied: retry with the same "
                "request_id");
          }
          call->done(absl::Status(code, message));
          return;
        }
        v1::CommandResponse answer;
        if (absl::Status s = DecodeMessage(call->response, &answer); !s.ok()) {
          call->done(absl::InternalError(absl::StrCat(
              "the leader's answer does not parse: ", s.message())));
          return;
        }
        waiters->Wait(answer.last_position(), deadline,
                      [call](absl::Status applied) {
                        if (!applied.ok()) {
                          call->done(applied);
                        } else {
                          call->done(std::move(call->response));
                        }
                      });
      });
}

}  // namespace factlog::rpc
