#include "bench/baseline_service.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "bench/unary_load.h"
#include "factlog/bench/baseline.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace factlog::bench {

class BaselineServer::Service final : public Baseline::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const Payload* request,
                                 Payload* response) override {
    *response = *request;
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<Payload>* Stream(
      grpc::CallbackServerContext* ctx, const StreamRequest* request) override {
    class Writer final : public grpc::ServerWriteReactor<Payload> {
     public:
      explicit Writer(const StreamRequest& request) : left_(request.count()) {
        payload_.set_data(std::string(request.bytes(), 'x'));
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "closed"));
          return;
        }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (left_ == 0) {
          Finish(grpc::Status::OK);
          return;
        }
        --left_;
        StartWrite(&payload_);
      }
      uint64_t left_;
      Payload payload_;
    };
    return new Writer(*request);
  }
};

absl::StatusOr<std::unique_ptr<BaselineServer>> BaselineServer::Start() {
  std::unique_ptr<BaselineServer> s(new BaselineServer());
  s->service_ = std::make_unique<Service>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  // As factlogd sets them (server/factlog_server.cc).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    return absl::UnavailableError("baseline server: cannot listen");
  }
  s->address_ = absl::StrCat("127.0.0.1:", port);
  return s;
}

BaselineServer::~BaselineServer() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    server_->Wait();
  }
}

DiskCeilingResult DiskCeiling(const std::string& dir, absl::Duration duration) {
  DiskCeilingResult r;
  const std::string path = dir + "/fsync-probe";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return r;
  const std::string block(4096, 'x');
  const int64_t end = NowNanos() + absl::ToInt64Nanoseconds(duration);
  uint64_t n = 0;
  const int64_t start = NowNanos();
  int64_t now = start;
  while (now < end) {
    if (write(fd, block.data(), block.size()) !=
            static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      break;
    }
    const int64_t after = NowNanos();
    r.latency.Record((after - now) / 1000);
    now = after;
    ++n;
  }
  close(fd);
  unlink(path.c_str());
  r.syncs_per_sec = now > start ? n * 1e9 / (now - start) : 0;
  return r;
}

}  // namespace factlog::bench
