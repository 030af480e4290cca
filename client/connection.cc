#include "client/connection.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace factlog::cli {
namespace {

std::chrono::system_clock::time_point DeadlineFrom(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

std::string OneLine(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty() && out.back() != ' ' && c != ' ') {
      out += ' ';
    }
    pending_space = false;
    out += c;
  }
  return out;
}

namespace {

// gRPC retries a call that failed with UNAVAILABLE (e.g. the server is
// restarting) a couple of times. Every mutating request carries a
// request_id, so a retry of a request that was in fact applied records
// nothing twice.
constexpr char kServiceConfig[] = R"json({
  "methodConfig": [{
    "name": [{"service": "factlog.v1.ClaimService"},
             {"service": "factlog.v1.EventService"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.2s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server,
                                           ConnectionKind kind) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  if (kind == ConnectionKind::kLongLived) {
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    // A ping every 6 minutes: more often than gRPC servers accept from an
    // idle client by default (5 minutes) would get the connection closed
    // with "too many pings". Unlimited pings without data, as an idle watch
    // sends none.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 6 * 60 * 1000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

Connection::Connection(const GlobalOptions& options, ConnectionKind kind)
    : options_(options),
      channel_(MakeChannel(options.server, kind)),
      claims_(factlog::v1::ClaimService::NewStub(channel_)),
      events_(factlog::v1::EventService::NewStub(channel_)),
      admin_(factlog::v1::AdminService::NewStub(channel_)) {}

void Connection::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(DeadlineFrom(options_.timeout_seconds));
}

void Connection::AwaitConnected() {
  AwaitConnected([] { return false; });
}

bool Connection::AwaitConnected(const std::function<bool()>& stopped) {
  const auto deadline = DeadlineFrom(options_.timeout_seconds);
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      return true;  // the fail-fast call that follows reports why
    }
    if (stopped()) return false;
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) {
      throw CommandError(
          kExitUnreachable,
          absl::StrCat("cannot reach factlogd at ", options_.server,
                       ": no connection within ", options_.timeout_seconds,
                       "s"));
    }
    channel_->WaitForStateChange(
        state, std::min(deadline, now + std::chrono::milliseconds(100)));
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return true;
}

bool Connection::IsConnected() {
  return channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY;
}

bool Connection::IsUnreachable(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
      status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return false;
  }
  return channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY;
}

std::string Connection::UnreachableMessage(const grpc::Status& status) const {
  std::string reason = OneLine(status.error_message());
  if (reason.empty()) reason = StatusCodeName(status.error_code());
  return absl::StrCat("cannot reach factlogd at ", options_.server, ": ",
                      reason);
}

void Connection::Check(const grpc::Status& status) {
  if (status.ok()) return;
  if (IsUnreachable(status)) {
    throw CommandError(kExitUnreachable, UnreachableMessage(status));
  }
  throw CommandError(kExitRefused,
                     absl::StrCat(StatusCodeName(status.error_code()), ": ",
                                  OneLine(status.error_message())));
}

}  // namespace factlog::cli
