#include "rpc/rpc_observer.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "core/server_metrics.h"
#include "rpc/grpc_order.h"
#include "rpc/methods.h"

namespace factlog::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr size_t kMaxRequestId = 128;
constexpr size_t kMaxErrorInLog = 200;

struct Note {
  std::string principal;
  std::string request_id;
};

// What handlers note about the calls in flight, keyed by their server
// context. Sharded so that concurrent RPCs rarely share a lock.
class NoteTable {
 public:
  void Open(const void* key, std::string request_id) {
    Shard& shard = For(key);
    absl::MutexLock lock(&shard.mu);
    shard.notes[key] = Note{"", std::move(request_id)};
  }
  template <typename Fn>
  void Update(const void* key, Fn update) {
    Shard& shard = For(key);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.notes.find(key);
    if (it != shard.notes.end()) update(&it->second);
  }
  Note Close(const void* key) {
    Shard& shard = For(key);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.notes.find(key);
    if (it == shard.notes.end()) return Note();
    Note note = std::move(it->second);
    shard.notes.erase(it);
    return note;
  }

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<const void*, Note> notes ABSL_GUARDED_BY(mu);
  };
  Shard& For(const void* key) {
    return shards_[(reinterpret_cast<uintptr_t>(key) >> 4) % kShards];
  }
  Shard shards_[kShards];
};

NoteTable& Notes() {
  static NoteTable* const table = new NoteTable();
  return *table;
}

bool ValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestId) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// "srv-" and 16 hex digits; by hand, since every call without an
// x-request-id makes one (StrFormat cost more than the rest of Open).
std::string MadeUpRequestId() {
  static thread_local absl::BitGen gen;
  uint64_t v = absl::Uniform<uint64_t>(gen);
  std::string id = "srv-0000000000000000";
  for (size_t i = id.size(); v != 0; v >>= 4) {
    id[--i] = "0123456789abcdef"[v & 0xf];
  }
  return id;
}

bool IsCommand(absl::string_view method) {
  const RpcMethod* known = FindMethod(method);
  return known != nullptr && known->mutates;
}

log::Level LevelFor(absl::string_view method, absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      return log::Level::kError;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
      return log::Level::kInfo;
    default:
      return IsCommand(method) ? log::Level::kInfo : log::Level::kDebug;
  }
}

// Counts and logs one finished call (see RpcObserver). `peer` is asked
// only when the line is written.
template <typename Peer>
void Report(core::ServerMetrics* metrics, absl::string_view full_method,
            absl::StatusCode code, absl::string_view message,
            absl::Duration elapsed, const Note& note, const Peer& peer) {
  if (metrics != nullptr) metrics->RpcFinished(full_method, code, elapsed);
  const log::Level level = LevelFor(full_method, code);
  if (!log::Enabled(level)) return;
  absl::string_view method = full_method;
  absl::ConsumePrefix(&method, "/");
  const double ms =
      std::round(absl::ToDoubleMilliseconds(elapsed) * 1000) / 1000;
  const std::string code_name = absl::StatusCodeToString(code);
  const std::string request_id =
      note.request_id.empty() ? MadeUpRequestId() : note.request_id;
  const absl::string_view principal =
      note.principal.empty() ? absl::string_view("-") : note.principal;
  const std::string peer_name = peer();
  const log::Field fields[] = {
      {"method", method},
      {"code", code_name},
      {"duration_ms", ms},
      {"request_id", request_id},
      {"principal", principal},
      {"peer", peer_name},
      {"error", message.substr(0, kMaxErrorInLog)},
  };
  // The status message only for a call that failed.
  const size_t count = std::size(fields) - (code == absl::StatusCode::kOk);
  log::Log(level, "rpc", log::Fields(fields, count));
}

// The caller's x-request-id when it is one the log may quote, else "".
std::string CallersRequestId(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  auto it = metadata.find("x-request-id");
  if (it == metadata.end()) return "";
  const absl::string_view id(it->second.data(), it->second.size());
  return ValidRequestId(id) ? std::string(id) : "";
}

// True for the calls whose handlers observe them (RpcObserver::UnaryCall):
// the unary calls of the factlog.v1 services.
bool HandlerObserves(absl::string_view full_method, bool unary) {
  return unary && absl::StartsWith(full_method, "/factlog.v1.");
}

// Observes every other call.
class ObservingInterceptor final : public grpc::experimental::Interceptor {
 public:
  ObservingInterceptor(grpc::experimental::ServerRpcInfo* info,
                       core::ServerMetrics* metrics)
      : info_(info), metrics_(metrics) {}
  ~ObservingInterceptor() override {
    GrpcReact(this);  // gRPC destroys interceptors after every hook ran
    // No status was sent (the call was torn down first).
    if (open_) Finish(absl::StatusCode::kCancelled, "no status was sent");
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    // gRPC runs the hooks of a call's batches on different threads, some
    // at the same time (the status going out while the call's close comes
    // in). Only two touch the interceptor's fields, and gRPC orders them:
    // the first batch's (Open), before the handler runs, and the status's.
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Open(*methods);
      GrpcRelease(this);
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      GrpcReact(this);
      if (open_) {
        const grpc::Status status = methods->GetSendStatus();
        Finish(static_cast<absl::StatusCode>(status.error_code()),
               status.error_message());
      }
      GrpcRelease(this);
    }
    methods->Proceed();
  }

 private:
  void Open(grpc::experimental::InterceptorBatchMethods& methods) {
    start_ = absl::Now();
    key_ = info_->server_context();
    std::string request_id;
    if (auto* metadata = methods.GetRecvInitialMetadata()) {
      request_id = CallersRequestId(*metadata);
    }
    // Read now: when the call is torn down without a status, the context
    // may be gone by the time the line is written.
    peer_ = info_->server_context()->peer();
    Notes().Open(key_, std::move(request_id));
    open_ = true;
  }

  void Finish(absl::StatusCode code, absl::string_view message) {
    open_ = false;
    Report(metrics_, info_->method(), code, message, absl::Now() - start_,
           Notes().Close(key_), [this] { return peer_; });
  }

  grpc::experimental::ServerRpcInfo* const info_;
  core::ServerMetrics* const metrics_;
  const void* key_ = nullptr;  // the call's context; only ever a key
  absl::Time start_;
  std::string peer_;
  bool open_ = false;
};

class ObservingInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ObservingInterceptorFactory(core::ServerMetrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // Without an interceptor for the call, gRPC skips interception.
    if (HandlerObserves(
            info->method(),
            info->type() == grpc::experimental::ServerRpcInfo::Type::UNARY)) {
      return nullptr;
    }
    return new ObservingInterceptor(info, metrics_);
  }

 private:
  core::ServerMetrics* const metrics_;
};

// The reactor of a unary call finished on another thread of ours (the
// writer's acks thread). gRPC builds the call's finish operation inside
// Finish, on that thread, and destroys the call after OnDone, on one of its
// own: libgrpc orders the two (the batch is handed over in
// grpc_call_start_batch, the call ends once it completed), but it is built
// without TSan, which sees a write and a destruction with nothing between
// them. UnaryCall::Finish releases on this reactor's address before Finish
// and has TSan ignore gRPC's accesses inside it (GrpcFinishHandedOver), and
// OnDone acquires: that order, and nothing more, stated to TSan. Deletes
// itself in OnDone.
class HandedOverReactor final : public grpc::ServerUnaryReactor {
 public:
  void OnDone() override {
    GrpcReact(this);
    delete this;
  }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcObserver::NewInterceptorFactory() const {
  return std::make_unique<ObservingInterceptorFactory>(metrics_);
}

RpcObserver::UnaryCall RpcObserver::StartUnary(grpc::CallbackServerContext* ctx,
                                               const char* full_method,
                                               bool handed_over) const {
  return UnaryCall(metrics_, ctx, full_method, handed_over);
}

RpcObserver::UnaryCall::UnaryCall(core::ServerMetrics* metrics,
                                  grpc::CallbackServerContext* ctx,
                                  const char* full_method, bool handed_over)
    : metrics_(metrics),
      ctx_(ctx),
      reactor_(handed_over ? new HandedOverReactor() : ctx->DefaultReactor()),
      handed_over_(handed_over),
      full_method_(full_method),
      start_(absl::Now()) {
  Notes().Open(ctx, CallersRequestId(ctx->client_metadata()));
}

void RpcObserver::UnaryCall::Finish(const grpc::Status& status) {
  Report(metrics_, full_method_,
         static_cast<absl::StatusCode>(status.error_code()),
         status.error_message(), absl::Now() - start_, Notes().Close(ctx_),
         [this] { return ctx_->peer(); });
  if (handed_over_) {
    GrpcFinishHandedOver(reactor_, [&] { reactor_->Finish(status); });
  } else {
    GrpcStart(reactor_, [&] { reactor_->Finish(status); });
  }
}

void NotePrincipal(const grpc::ServerContextBase& ctx,
                   absl::string_view principal) {
  Notes().Update(&ctx, [principal](Note* note) {
    note->principal = std::string(principal);
  });
}

void NoteRequestId(const grpc::ServerContextBase& ctx,
                   absl::string_view request_id) {
  if (request_id.empty()) return;
  Notes().Update(&ctx, [request_id](Note* note) {
    note->request_id = std::string(request_id);
  });
}

}  // namespace factlog::rpc
